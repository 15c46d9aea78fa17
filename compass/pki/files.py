"""Writing secrets to disk: private keys are created with mode 0600, atomically."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["FileLockTimeout", "file_lock", "write_key_and_certificate", "write_private_file"]

LOCK_TIMEOUT_SECONDS = 30.0


class FileLockTimeout(RuntimeError):
    """Another process held a key file's lock for too long."""


def write_private_file(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(descriptor, data)
    finally:
        os.close(descriptor)
    os.replace(temporary, path)


def write_key_and_certificate(
    key_file: Path, key_pem: bytes, cert_file: Path, cert_pem: bytes
) -> None:
    """Write a key (0600) and its certificate (0644), each atomically.

    The certificate is staged before the key is written, so the time in which the
    two files do not belong together is two renames; callers hold `file_lock`.
    """
    staged_cert = cert_file.with_name(f".{cert_file.name}.{os.getpid()}.tmp")
    descriptor = os.open(staged_cert, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.fchmod(descriptor, 0o644)
        os.write(descriptor, cert_pem)
    finally:
        os.close(descriptor)
    write_private_file(key_file, key_pem)
    os.replace(staged_cert, cert_file)


@contextmanager
def file_lock(path: Path, timeout: float = LOCK_TIMEOUT_SECONDS) -> Iterator[None]:
    """Serialise writers of key files across processes; the kernel drops the lock if one dies."""
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise FileLockTimeout(
                        f"timed out after {timeout:.0f}s waiting for {path}"
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)
