"""Key and certificate on disk: stored with mode 0600, swapped without a moment
when no matching pair exists, recovered after an interrupted swap; renewal time."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

from compass.agent.credentials import load_credentials, store_credentials
from compass.agent.state import atomic_write
from tests.agent.pki import issued


def test_stored_pair_loads_back_and_the_key_is_private(tmp_path: Path) -> None:
    pair = issued()
    store_credentials(tmp_path, pair)
    credentials = load_credentials(tmp_path)
    assert credentials is not None
    assert credentials.director_url == pair.director_url
    assert credentials.secured_connector_url == pair.secured_connector_url
    assert stat.S_IMODE((tmp_path / "key.pem").stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "ca.pem",
        "cert.pem",
        "key.pem",
        "urls.json",
    ]
    credentials.ssl_context()  # key, chain and CA fit together


def test_nothing_stored_or_a_mismatched_pair_is_no_credential(tmp_path: Path) -> None:
    assert load_credentials(tmp_path) is None
    store_credentials(tmp_path, issued())
    (tmp_path / "key.pem").write_bytes(issued().key_pem)
    assert load_credentials(tmp_path) is None


def test_interrupted_swap_is_finished_at_load(tmp_path: Path) -> None:
    old, new = issued(), issued()
    store_credentials(tmp_path, old)
    # Crash after the new key moved into place, before the certificate did.
    atomic_write(tmp_path / "cert.pem.next", new.chain_pem)
    atomic_write(tmp_path / "key.pem", new.key_pem, mode=0o600)
    credentials = load_credentials(tmp_path)
    assert credentials is not None
    assert (tmp_path / "cert.pem").read_bytes() == new.chain_pem
    assert not (tmp_path / "cert.pem.next").exists()


def test_half_written_next_pair_is_discarded(tmp_path: Path) -> None:
    old = issued()
    store_credentials(tmp_path, old)
    atomic_write(tmp_path / "key.pem.next", issued().key_pem, mode=0o600)
    credentials = load_credentials(tmp_path)
    assert credentials is not None
    assert (tmp_path / "key.pem").read_bytes() == old.key_pem
    assert not (tmp_path / "key.pem.next").exists()


def test_renewal_is_due_by_the_lifetime_since_receipt(tmp_path: Path) -> None:
    # Backdated by a minute for clock skew, valid for 30 s from now: the
    # lifetime that counts is the 30 s since receipt, not 90 s.
    store_credentials(tmp_path, issued(timedelta(seconds=30), backdate=timedelta(minutes=1)))
    credentials = load_credentials(tmp_path)
    assert credentials is not None
    now = datetime.now(UTC)
    assert not credentials.renewal_due(now, 1 / 3)
    assert not credentials.renewal_due(now + timedelta(seconds=15), 1 / 3)
    assert credentials.renewal_due(now + timedelta(seconds=25), 1 / 3)
    assert credentials.renewal_due(now + timedelta(seconds=15), 0.9)


def test_a_certificate_received_long_ago_counts_from_its_not_before(tmp_path: Path) -> None:
    store_credentials(tmp_path, issued(timedelta(days=1.5), backdate=timedelta(days=2)))
    long_ago = (datetime.now(UTC) - timedelta(days=3)).timestamp()
    os.utime(tmp_path / "cert.pem", (long_ago, long_ago))
    credentials = load_credentials(tmp_path)
    assert credentials is not None
    # 1.5 of 3.5 days left: not yet; half a day later 1 of 3.5 days is under a third.
    assert not credentials.renewal_due(datetime.now(UTC), 1 / 3)
    assert credentials.renewal_due(datetime.now(UTC) + timedelta(days=0.5), 1 / 3)
