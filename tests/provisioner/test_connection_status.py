"""The agent connection status from when the runtime last called."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from compass.domain.runtime.model import RuntimeRow
from compass.provisioner.service import connection_status

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
QUIET = timedelta(seconds=60)


def runtime(last_seen_at: datetime | None) -> RuntimeRow:
    return RuntimeRow(
        tenant_id="t",
        name="r",
        status_condition="CONNECTED",
        status_timestamp=NOW,
        created_at=NOW,
        last_seen_at=last_seen_at,
    )


def test_pending_until_the_first_call():
    assert connection_status(runtime(None), QUIET, NOW).status == "Pending"


def test_connected_while_calls_come_in():
    status = connection_status(runtime(NOW - timedelta(seconds=59)), QUIET, NOW)
    assert (status.status, status.errors) == ("Connected", [])


def test_disconnected_after_a_quiet_period():
    status = connection_status(runtime(NOW - timedelta(seconds=61)), QUIET, NOW)
    assert status.status == "Disconnected"
    assert status.errors == ["the runtime agent made no call for 61 s"]
