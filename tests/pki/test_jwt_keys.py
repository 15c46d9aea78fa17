"""The server's JWT signing key: created once, private, shared by every process."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from compass.pki.jwt_keys import load_or_create_signing_key


def _public_pem(path: str, barrier, results) -> None:
    barrier.wait(30)
    key = load_or_create_signing_key(Path(path))
    results.put(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def test_key_is_created_private_and_reused(tmp_path: Path):
    path = tmp_path / "data" / "jwt.key"
    first = load_or_create_signing_key(path)
    assert path.stat().st_mode & 0o777 == 0o600
    again = load_or_create_signing_key(path)
    assert first.private_bytes_raw() == again.private_bytes_raw()


def test_processes_starting_together_share_one_key(tmp_path: Path):
    path = str(tmp_path / "jwt.key")
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    barrier = context.Barrier(4)
    processes = [
        context.Process(target=_public_pem, args=(path, barrier, results)) for _ in range(4)
    ]
    for process in processes:
        process.start()
    keys = {results.get(timeout=60) for _ in processes}
    for process in processes:
        process.join(timeout=60)
    assert len(keys) == 1
    assert all(process.exitcode == 0 for process in processes)
