"""instance-auths.json: reading and checking the file, the diff against what
was asked for, and the requests and releases one step makes against a fake
Director (errors per entry, a malformed file, instance auths that vanish)."""

from __future__ import annotations

import json
import logging
import re
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from compass.agent.graphql import Refused, ServerError, Unreachable
from compass.agent.instance_auths import (
    REQUESTS_FILE,
    STATE_FILE,
    InstanceAuths,
    Ledger,
    LedgerError,
    Recorded,
    Request,
    RequestsFileError,
    parse_requests,
    plan,
    read_ledger,
    read_requests,
    write_ledger,
)

NOW = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
ONE = {"id": "svc-1", "bundleID": "b1", "context": {"ns": "prod"}, "inputParams": {"plan": "s"}}
TWO = {"id": "svc-2", "bundleID": "b2"}


def _write(directory: Path, *entries: dict[str, Any]) -> None:
    (directory / REQUESTS_FILE).write_text(json.dumps({"instances": list(entries)}))


# The file


def test_entries_are_read_by_id(tmp_path: Path) -> None:
    _write(tmp_path, ONE, {**TWO, "runtimeContextID": "ctx", "context": None})
    assert read_requests(tmp_path) == {
        "svc-1": Request("svc-1", "b1", {"ns": "prod"}, {"plan": "s"}),
        "svc-2": Request("svc-2", "b2", runtime_context_id="ctx"),
    }


def test_a_missing_file_or_list_means_no_requests(tmp_path: Path) -> None:
    assert read_requests(tmp_path) == {}
    (tmp_path / REQUESTS_FILE).write_text("{}")
    assert read_requests(tmp_path) == {}


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "not valid JSON"),
        ("[]", "must hold a JSON object"),
        ('{"instances": {}}', "instances must be a list"),
        ('{"instance": []}', "unknown keys: instance"),
        ('{"instances": [7]}', "instances[0] is not an object"),
        ('{"instances": [{"bundleID": "b"}]}', "id must be a non-empty string"),
        ('{"instances": [{"id": " ", "bundleID": "b"}]}', "id must be a non-empty string"),
        ('{"instances": [{"id": "x"}]}', "bundleID must be a non-empty string"),
        ('{"instances": [{"id": "x", "bundleID": 3}]}', "bundleID must be a non-empty string"),
        ('{"instances": [{"id": "x", "bundleID": "b", "inputparams": {}}]}', "inputparams"),
        (
            '{"instances": [{"id": "x", "bundleID": "b", "runtimeContextID": 1}]}',
            "runtimeContextID",
        ),
        (
            '{"instances": [{"id": "x", "bundleID": "b"}, {"id": "x", "bundleID": "c"}]}',
            "appears twice",
        ),
    ],
)
def test_malformed_files_are_refused_with_one_line(
    tmp_path: Path, content: str, expected: str
) -> None:
    (tmp_path / REQUESTS_FILE).write_text(content)
    with pytest.raises(RequestsFileError, match=re.escape(expected)) as raised:
        read_requests(tmp_path)
    assert "\n" not in str(raised.value) and REQUESTS_FILE in str(raised.value)


def test_the_ledger_round_trips_privately_and_a_damaged_one_is_reported(tmp_path: Path) -> None:
    assert read_ledger(tmp_path) == Ledger()
    request = Request("svc-1", "b1", {"ns": "prod"})
    ledger = Ledger(
        instances={"svc-1": Recorded(request, "ia-1", "2030-01-02T03:04:05+00:00")},
        releasing={"ia-0": Recorded(Request("old", "b0"), "ia-0")},
    )
    write_ledger(tmp_path, ledger)
    assert read_ledger(tmp_path) == ledger
    assert stat.S_IMODE((tmp_path / STATE_FILE).stat().st_mode) == 0o600

    (tmp_path / STATE_FILE).write_text('{"instances": {"svc-1": {"request": {}}}}')
    with pytest.raises(LedgerError, match="delete it"):
        read_ledger(tmp_path)


# The diff


def _ledger(*recorded: Recorded) -> Ledger:
    return Ledger(instances={r.request.id: r for r in recorded})


def test_plan_requests_new_entries_and_releases_removed_ones() -> None:
    kept, removed = Request("kept", "b1"), Request("removed", "b1")
    new = Request("new", "b2")
    ledger = _ledger(Recorded(kept, "ia-kept"), Recorded(removed, "ia-removed"))
    steps = plan({"kept": kept, "new": new}, ledger)
    assert steps.create == [new]
    assert steps.release == [Recorded(removed, "ia-removed")]


def test_plan_replaces_a_changed_entry_and_leaves_an_unchanged_one() -> None:
    before = Request("svc", "b1", input_params={"plan": "s"})
    after = Request("svc", "b1", input_params={"plan": "l"})
    ledger = _ledger(Recorded(before, "ia-1"))
    assert plan({"svc": before}, ledger).create == []
    assert plan({"svc": before}, ledger).release == []
    steps = plan({"svc": after}, ledger)
    assert steps.create == [after] and steps.release == [Recorded(before, "ia-1")]


def test_plan_of_no_entries_releases_everything() -> None:
    ledger = _ledger(Recorded(Request("a", "b1"), "ia-a"), Recorded(Request("b", "b1"), "ia-b"))
    steps = plan({}, ledger)
    assert steps.create == [] and [r.auth_id for r in steps.release] == ["ia-a", "ia-b"]


# One step against a fake Director


class FakeDirector:
    """Hands out ia-1, ia-2, ...; `fail` maps a bundle ID (or an auth ID for
    releases) to the error to raise."""

    def __init__(self) -> None:
        self.requested: list[tuple[str, str | None, str | None, str | None]] = []
        self.released: list[str] = []
        self.fail: dict[str, Exception] = {}

    async def request_instance_auth(
        self,
        bundle_id: str,
        context: str | None,
        input_params: str | None,
        runtime_context_id: str | None = None,
    ) -> dict[str, Any]:
        if bundle_id in self.fail:
            raise self.fail[bundle_id]
        self.requested.append((bundle_id, context, input_params, runtime_context_id))
        return {"id": f"ia-{len(self.requested)}", "status": {"condition": "PENDING"}}

    async def release_instance_auth(self, auth_id: str) -> dict[str, Any]:
        if auth_id in self.fail:
            raise self.fail[auth_id]
        self.released.append(auth_id)
        return {"id": auth_id, "status": {"condition": "UNUSED"}}


def _synced(*auths: tuple[str, str, str], bundles: tuple[str, ...] = ()) -> list[dict]:
    """One application `app` with bundles holding (bundle, auth, condition)."""
    by_bundle: dict[str, list[dict]] = {bundle: [] for bundle in bundles}
    for bundle, auth_id, condition in auths:
        by_bundle.setdefault(bundle, []).append({"id": auth_id, "status": {"condition": condition}})
    data = [{"id": b, "instanceAuths": found} for b, found in by_bundle.items()]
    return [{"id": "app", "bundles": {"data": data}}]


def _instance_auths(directory: Path) -> InstanceAuths:
    return InstanceAuths(directory, lambda: NOW)


async def test_entries_are_requested_once_and_recorded(tmp_path: Path) -> None:
    _write(tmp_path, ONE, {**TWO, "runtimeContextID": "ctx"})
    fake, agent = FakeDirector(), _instance_auths(tmp_path)
    await agent.reconcile(fake)
    assert fake.requested == [
        ("b1", '{"ns": "prod"}', '{"plan": "s"}', None),
        ("b2", None, None, "ctx"),
    ]
    ledger = read_ledger(tmp_path)
    assert {k: v.auth_id for k, v in ledger.instances.items()} == {"svc-1": "ia-1", "svc-2": "ia-2"}
    assert ledger.instances["svc-1"].requested_at == "2030-01-02T03:04:05+00:00"

    await agent.reconcile(fake)  # nothing new: nothing asked again
    assert len(fake.requested) == 2
    status = agent.observe(_synced(("b1", "ia-1", "SUCCEEDED"), ("b2", "ia-2", "PENDING")))
    assert status == {
        "svc-1": {
            "auth_id": "ia-1",
            "bundle_id": "b1",
            "application_id": "app",
            "condition": "SUCCEEDED",
            "last_error": None,
        },
        "svc-2": {
            "auth_id": "ia-2",
            "bundle_id": "b2",
            "application_id": "app",
            "condition": "PENDING",
            "last_error": None,
        },
    }


async def test_a_removed_entry_is_given_back_and_forgotten(tmp_path: Path) -> None:
    _write(tmp_path, ONE, TWO)
    fake, agent = FakeDirector(), _instance_auths(tmp_path)
    await agent.reconcile(fake)
    _write(tmp_path, TWO)
    await agent.reconcile(fake)
    assert fake.released == ["ia-1"]
    ledger = read_ledger(tmp_path)
    assert list(ledger.instances) == ["svc-2"] and ledger.releasing == {}
    assert list(agent.observe(_synced(("b2", "ia-2", "PENDING")))) == ["svc-2"]


async def test_a_changed_entry_gives_back_the_old_and_asks_anew(tmp_path: Path) -> None:
    _write(tmp_path, ONE)
    fake, agent = FakeDirector(), _instance_auths(tmp_path)
    await agent.reconcile(fake)
    _write(tmp_path, {**ONE, "inputParams": {"plan": "l"}})
    await agent.reconcile(fake)
    assert fake.released == ["ia-1"]
    assert fake.requested[-1] == ("b1", '{"ns": "prod"}', '{"plan": "l"}', None)
    assert read_ledger(tmp_path).instances["svc-1"].auth_id == "ia-2"


async def test_errors_stay_with_their_entry_and_are_retried(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _write(tmp_path, {"id": "bad", "bundleID": "b-bad"}, {"id": "gone", "bundleID": "b-gone"}, TWO)
    fake, agent = FakeDirector(), _instance_auths(tmp_path)
    invalid = ServerError("inputParams are required", frozenset({"InvalidData"}))
    fake.fail = {"b-bad": invalid, "b-gone": ServerError("no bundle", frozenset({"NotFound"}))}
    with caplog.at_level(logging.DEBUG, logger="compass.agent"):
        await agent.reconcile(fake)
        await agent.reconcile(fake)
    assert fake.requested == [("b2", None, None, None)]
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2  # each distinct error once; repeats at debug level
    assert "inputParams are required" in errors[0].getMessage()
    status = agent.observe(_synced(("b2", "ia-1", "PENDING"), bundles=("b-bad",)))
    assert status["bad"] == {
        "auth_id": None,
        "bundle_id": "b-bad",
        "application_id": "app",
        "condition": None,
        "last_error": "inputParams are required",
    }
    assert status["gone"]["last_error"] == "no bundle"
    assert status["svc-2"]["condition"] == "PENDING"

    fake.fail = {}
    await agent.reconcile(fake)
    assert [call[0] for call in fake.requested] == ["b2", "b-bad", "b-gone"]
    status = agent.observe(
        _synced(("b2", "ia-1", "PENDING"), ("b-bad", "ia-2", "PENDING"), ("b-gone", "ia-3", "X"))
    )
    assert all(line["last_error"] is None for line in status.values())


async def test_an_unauthorized_answer_is_an_entry_error_but_a_refusal_is_not(
    tmp_path: Path,
) -> None:
    _write(tmp_path, ONE)
    fake, agent = FakeDirector(), _instance_auths(tmp_path)
    fake.fail = {"b1": Refused("not yours", frozenset({"Unauthorized"}))}
    await agent.reconcile(fake)
    assert agent.errors == {"svc-1": "not yours"}
    for error in (Refused("HTTP 401"), Unreachable("down")):
        fake.fail = {"b1": error}
        with pytest.raises(type(error)):
            await agent.reconcile(fake)


async def test_a_failed_release_is_kept_and_retried(tmp_path: Path) -> None:
    _write(tmp_path, ONE)
    fake, agent = FakeDirector(), _instance_auths(tmp_path)
    await agent.reconcile(fake)
    (tmp_path / REQUESTS_FILE).unlink()  # no file: no requests, so give it back
    fake.fail = {"ia-1": ServerError("try later", frozenset({"InternalError"}))}
    await agent.reconcile(fake)
    assert fake.released == []
    assert list(read_ledger(tmp_path).releasing) == ["ia-1"]
    status = agent.observe(_synced(("b1", "ia-1", "SUCCEEDED")))
    assert status["svc-1"]["releasing"] is True
    assert status["svc-1"]["last_error"] == "try later"

    fake.fail = {}
    await agent.reconcile(fake)
    assert fake.released == ["ia-1"] and read_ledger(tmp_path) == Ledger()
    assert agent.observe(_synced(("b1", "ia-1", "UNUSED"))) == {}


async def test_a_release_of_an_auth_already_gone_forgets_it(tmp_path: Path) -> None:
    _write(tmp_path, ONE)
    fake, agent = FakeDirector(), _instance_auths(tmp_path)
    await agent.reconcile(fake)
    _write(tmp_path)
    fake.fail = {"ia-1": ServerError("no such instance auth", frozenset({"NotFound"}))}
    await agent.reconcile(fake)
    assert read_ledger(tmp_path) == Ledger()


async def test_a_malformed_file_changes_nothing(tmp_path: Path) -> None:
    _write(tmp_path, ONE, TWO)
    fake, agent = FakeDirector(), _instance_auths(tmp_path)
    await agent.reconcile(fake)
    before = read_ledger(tmp_path)
    (tmp_path / REQUESTS_FILE).write_text('{"instances": [{"id": "half')
    await agent.reconcile(fake)
    assert fake.released == [] and len(fake.requested) == 2
    assert read_ledger(tmp_path) == before
    assert agent.file_error and "keeping the previous requests" in agent.file_error
    status = agent.observe(_synced(("b1", "ia-1", "PENDING"), ("b2", "ia-2", "PENDING")))
    assert sorted(status) == ["svc-1", "svc-2"]

    _write(tmp_path, ONE, TWO)
    await agent.reconcile(fake)
    assert agent.file_error is None and fake.released == []


async def test_a_damaged_ledger_stops_requests_instead_of_repeating_them(tmp_path: Path) -> None:
    _write(tmp_path, ONE)
    (tmp_path / STATE_FILE).write_text("{oops")
    fake, agent = FakeDirector(), _instance_auths(tmp_path)
    await agent.reconcile(fake)
    assert fake.requested == [] and fake.released == []
    assert agent.file_error and STATE_FILE in agent.file_error


async def test_an_instance_auth_gone_from_a_visible_bundle_is_asked_for_again(
    tmp_path: Path,
) -> None:
    _write(tmp_path, ONE)
    fake, agent = FakeDirector(), _instance_auths(tmp_path)
    await agent.reconcile(fake)

    # The bundle is out of sight (say, the application left the scenario): kept.
    status = agent.observe([])
    assert status["svc-1"]["auth_id"] == "ia-1" and status["svc-1"]["condition"] is None
    assert "not among the runtime's applications" in status["svc-1"]["last_error"]
    assert "svc-1" in read_ledger(tmp_path).instances

    # The bundle is there without it (the application deleted it): asked again.
    status = agent.observe(_synced(bundles=("b1",)))
    assert status["svc-1"]["auth_id"] is None and "gone" in status["svc-1"]["last_error"]
    assert read_ledger(tmp_path) == Ledger()
    await agent.reconcile(fake)
    assert read_ledger(tmp_path).instances["svc-1"].auth_id == "ia-2"


def test_parse_requests_takes_content_already_read() -> None:
    assert parse_requests({"instances": [TWO]}) == {"svc-2": Request("svc-2", "b2")}
