"""Requests for credentials (bundle instance auths) that the operator lists in
a file, kept in step with the Director.

`instance-auths.json` in the state directory, written by the operator
(atomically: write a temporary file, then rename it):

    {"instances": [{"id": "my-service-1", "bundleID": "<bundle ID>",
                    "context": {"namespace": "prod"}, "inputParams": {"plan": "small"},
                    "runtimeContextID": "<optional>"}]}

`id` is the agent-side name of the service instance (unique in the file);
`context` and `inputParams` are JSON values (sent to the Director as JSON text;
`inputParams` must satisfy the bundle's `instanceAuthRequestInputSchema`).

`instance-auths.state.json`, written by the agent: entry id -> instance auth ID
and the request it was made with, and the instance auths being given back.
Each step (`reconcile`, before the sync):

- an entry without an instance auth, or whose request changed, is requested
  (`requestBundleInstanceAuthCreation`; a changed entry's old one is given back);
- an entry removed from the file is given back (`requestBundleInstanceAuthDeletion`)
  and forgotten; a missing file means no requests, so deleting the file gives
  everything back;
- a malformed file is logged and changes nothing: no requests, no deletions;
- an error on one entry (InvalidData, NotFound, ...) is logged and kept in the
  status; the entry is tried again at the next step.

After the sync, `observe` reads each entry's condition from the applications
(the credentials themselves are in the application's file) and forgets an
instance auth that vanished from a bundle the runtime still sees, so it is
requested again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from compass.agent.director import Director
from compass.agent.graphql import AgentError, Refused, ServerError
from compass.agent.state import PRIVATE_FILE, atomic_write, json_bytes, rfc3339

__all__ = [
    "REQUESTS_FILE",
    "STATE_FILE",
    "InstanceAuths",
    "Ledger",
    "LedgerError",
    "Plan",
    "Recorded",
    "Request",
    "RequestsFileError",
    "parse_requests",
    "plan",
    "read_ledger",
    "read_requests",
    "write_ledger",
]

REQUESTS_FILE = "instance-auths.json"
STATE_FILE = "instance-auths.state.json"
MAX_ID_LENGTH = 200
NOT_FOUND = "NotFound"
log = logging.getLogger("compass.agent")

_REQUIRED = {"id", "bundleID"}
_OPTIONAL = {"context", "inputParams", "runtimeContextID"}


class RequestsFileError(Exception):
    """instance-auths.json cannot be used; one line for the operator."""


class LedgerError(Exception):
    """instance-auths.state.json is damaged; one line for the operator."""


@dataclass(frozen=True)
class Request:
    """One entry of instance-auths.json."""

    id: str
    bundle_id: str
    context: Any = None
    input_params: Any = None
    runtime_context_id: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "bundleID": self.bundle_id,
            "context": self.context,
            "inputParams": self.input_params,
            "runtimeContextID": self.runtime_context_id,
        }


def _text(value: Any) -> str | None:
    """A JSON value as the JSON text the Director's JSON scalar takes."""
    return None if value is None else json.dumps(value, sort_keys=True)


def _entry(raw: Any, where: str) -> Request:
    if not isinstance(raw, dict):
        raise RequestsFileError(f"{where} is not an object")
    unknown = sorted(set(raw) - _REQUIRED - _OPTIONAL)
    if unknown:
        raise RequestsFileError(f"{where} has unknown keys: {', '.join(unknown)}")
    entry_id, bundle_id = raw.get("id"), raw.get("bundleID")
    if not isinstance(entry_id, str) or not entry_id.strip() or len(entry_id) > MAX_ID_LENGTH:
        raise RequestsFileError(f"{where}: id must be a non-empty string (at most 200 characters)")
    if not isinstance(bundle_id, str) or not bundle_id.strip():
        raise RequestsFileError(f"{where} ({entry_id}): bundleID must be a non-empty string")
    runtime_context_id = raw.get("runtimeContextID")
    if runtime_context_id is not None and (
        not isinstance(runtime_context_id, str) or not runtime_context_id.strip()
    ):
        raise RequestsFileError(f"{where} ({entry_id}): runtimeContextID must be a string")
    return Request(
        entry_id,
        bundle_id,
        raw.get("context"),
        raw.get("inputParams"),
        runtime_context_id,
    )


def parse_requests(content: Any) -> dict[str, Request]:
    """The entries of the file's content by id; raises RequestsFileError."""
    if not isinstance(content, dict):
        raise RequestsFileError("the file must hold a JSON object")
    unknown = sorted(set(content) - {"instances"})
    if unknown:
        raise RequestsFileError(f"unknown keys: {', '.join(unknown)}")
    entries = content.get("instances", [])
    if not isinstance(entries, list):
        raise RequestsFileError("instances must be a list")
    found: dict[str, Request] = {}
    for number, raw in enumerate(entries):
        request = _entry(raw, f"instances[{number}]")
        if request.id in found:
            raise RequestsFileError(f"instances[{number}]: id {request.id!r} appears twice")
        found[request.id] = request
    return found


def read_requests(directory: Path) -> dict[str, Request]:
    """The entries of instance-auths.json; none when there is no file."""
    path = directory / REQUESTS_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as error:
        raise RequestsFileError(f"cannot read {REQUESTS_FILE}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise RequestsFileError(f"{REQUESTS_FILE} is not UTF-8 text") from None
    try:
        content = json.loads(text)
    except json.JSONDecodeError as error:
        raise RequestsFileError(f"{REQUESTS_FILE} is not valid JSON: {error}") from None
    try:
        return parse_requests(content)
    except RequestsFileError as error:
        raise RequestsFileError(f"{REQUESTS_FILE}: {error}") from None


@dataclass(frozen=True)
class Recorded:
    """An instance auth the agent asked for, and the entry it was asked for."""

    request: Request
    auth_id: str
    requested_at: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "authID": self.auth_id,
            "requestedAt": self.requested_at,
            "request": self.request.as_json(),
        }


@dataclass
class Ledger:
    """The body of instance-auths.state.json."""

    instances: dict[str, Recorded] = field(default_factory=dict)  # by entry id
    releasing: dict[str, Recorded] = field(default_factory=dict)  # by instance auth ID


def _recorded(raw: Any) -> Recorded:
    if not isinstance(raw, dict) or not isinstance(raw.get("authID"), str):
        raise LedgerError("an entry lacks its authID")
    requested_at = raw.get("requestedAt")
    try:
        request = _entry(raw.get("request"), "request")
    except RequestsFileError as error:
        raise LedgerError(str(error)) from None
    return Recorded(request, raw["authID"], requested_at if isinstance(requested_at, str) else None)


def read_ledger(directory: Path) -> Ledger:
    """What the agent asked for so far; an empty ledger when there is no file."""
    path = directory / STATE_FILE
    hint = f"{STATE_FILE} is damaged (delete it to request every entry anew)"
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Ledger()
    except (OSError, ValueError) as error:
        raise LedgerError(f"{hint}: {error}") from None
    try:
        if not isinstance(content, dict):
            raise LedgerError("not an object")
        instances = content.get("instances", {})
        releasing = content.get("releasing", [])
        if not isinstance(instances, dict) or not isinstance(releasing, list):
            raise LedgerError("instances must be an object and releasing a list")
        ledger = Ledger()
        for entry_id, raw in instances.items():
            recorded = _recorded(raw)
            if recorded.request.id != entry_id:
                raise LedgerError(f"entry {entry_id!r} holds the request of another")
            ledger.instances[entry_id] = recorded
        for raw in releasing:
            recorded = _recorded(raw)
            ledger.releasing[recorded.auth_id] = recorded
    except LedgerError as error:
        raise LedgerError(f"{hint}: {error}") from None
    return ledger


def write_ledger(directory: Path, ledger: Ledger) -> None:
    content = {
        "instances": {key: value.as_json() for key, value in ledger.instances.items()},
        "releasing": [value.as_json() for value in ledger.releasing.values()],
    }
    atomic_write(directory / STATE_FILE, json_bytes(content), PRIVATE_FILE)


@dataclass(frozen=True)
class Plan:
    create: list[Request]  # entries to request
    release: list[Recorded]  # instance auths to give back


def plan(desired: dict[str, Request], ledger: Ledger) -> Plan:
    """What to ask for and what to give back so the Director matches the file:
    new entries are requested, removed ones released, changed ones both."""
    create = [
        request
        for entry_id, request in desired.items()
        if entry_id not in ledger.instances or ledger.instances[entry_id].request != request
    ]
    release = [
        recorded
        for entry_id, recorded in ledger.instances.items()
        if desired.get(entry_id) != recorded.request
    ]
    return Plan(create, release)


def _entry_error(error: AgentError) -> bool:
    """An error answer about one entry, not about the agent's certificate: any
    GraphQL error but Unauthorized without a name (a revoked certificate, a
    refusal at the TLS or HTTP level), which the run loop must see."""
    return isinstance(error, ServerError) or (isinstance(error, Refused) and bool(error.kinds))


@dataclass(frozen=True)
class _Seen:
    application_id: str
    bundle_id: str
    condition: str | None


def _seen(applications: Iterable[dict[str, Any]]) -> tuple[dict[str, _Seen], dict[str, str]]:
    """Instance auths by ID, and the application of every bundle, in a sync's result."""
    auths: dict[str, _Seen] = {}
    bundles: dict[str, str] = {}
    for application in applications:
        for bundle in (application.get("bundles") or {}).get("data") or []:
            bundles[bundle["id"]] = application["id"]
            for auth in bundle.get("instanceAuths") or []:
                condition = (auth.get("status") or {}).get("condition")
                auths[auth["id"]] = _Seen(application["id"], bundle["id"], condition)
    return auths, bundles


class InstanceAuths:
    """The requests of one agent; kept between steps only for the status and to
    log each distinct error once (the ledger file is the memory)."""

    def __init__(self, directory: Path, clock: Callable[[], datetime]) -> None:
        self.directory = directory
        self.clock = clock
        self.desired: dict[str, Request] | None = None  # of the last usable file
        self.errors: dict[str, str] = {}  # entry id -> last error of a request
        self.release_errors: dict[str, str] = {}  # instance auth ID -> last error
        self.file_error: str | None = None
        self._logged: dict[str, str] = {}

    def _log_once(self, key: str, message: str) -> None:
        if self._logged.get(key) != message:
            log.error("%s", message)
            self._logged[key] = message
        else:
            log.debug("%s", message)

    def _forget_logged(self, key: str) -> None:
        self._logged.pop(key, None)

    async def reconcile(self, director: Director) -> None:
        """Give back what the file no longer asks for, then ask for what it
        asks for anew. Unreachable (and a refused certificate) propagate; the
        ledger is written after every call that succeeded."""
        try:
            ledger = read_ledger(self.directory)
        except LedgerError as error:
            self.file_error = str(error)
            self._log_once("ledger", f"instance auths: {error}; requesting nothing")
            return
        self._forget_logged("ledger")
        try:
            desired: dict[str, Request] | None = read_requests(self.directory)
        except RequestsFileError as error:
            self.file_error = f"{error}; keeping the previous requests"
            self._log_once("file", f"instance auths: {self.file_error}")
            desired = None
        else:
            self.file_error = None
            self._forget_logged("file")
            self.desired = desired
        steps = plan(desired, ledger) if desired is not None else Plan([], [])
        if steps.release:
            for recorded in steps.release:
                del ledger.instances[recorded.request.id]
                ledger.releasing[recorded.auth_id] = recorded
            write_ledger(self.directory, ledger)
        await self._release(director, ledger)
        if desired is None:
            return
        for entry_id in set(self.errors) - set(desired):
            del self.errors[entry_id]
            self._forget_logged(f"entry:{entry_id}")
        for request in steps.create:
            await self._request(director, ledger, request)

    async def _release(self, director: Director, ledger: Ledger) -> None:
        for auth_id, recorded in list(ledger.releasing.items()):
            entry_id = recorded.request.id
            try:
                answer = await director.release_instance_auth(auth_id)
                condition = (answer.get("status") or {}).get("condition")
                log.info(
                    "instance auth %s of entry %s given back (%s)", auth_id, entry_id, condition
                )
            except AgentError as error:
                if not _entry_error(error):
                    raise
                if NOT_FOUND not in error.kinds:
                    self.release_errors[auth_id] = str(error)
                    self._log_once(
                        f"release:{auth_id}",
                        f"instance auth {auth_id} of entry {entry_id}: "
                        f"cannot give it back: {error}",
                    )
                    continue
                log.info("instance auth %s of entry %s is gone already", auth_id, entry_id)
            del ledger.releasing[auth_id]
            self.release_errors.pop(auth_id, None)
            self._forget_logged(f"release:{auth_id}")
            write_ledger(self.directory, ledger)

    async def _request(self, director: Director, ledger: Ledger, request: Request) -> None:
        try:
            created = await director.request_instance_auth(
                request.bundle_id,
                _text(request.context),
                _text(request.input_params),
                request.runtime_context_id,
            )
        except AgentError as error:
            if not _entry_error(error):
                raise
            self.errors[request.id] = str(error)
            self._log_once(
                f"entry:{request.id}",
                f"instance auth entry {request.id} (bundle {request.bundle_id}): {error}",
            )
            return
        recorded = Recorded(request, created["id"], rfc3339(self.clock()))
        ledger.instances[request.id] = recorded
        write_ledger(self.directory, ledger)
        self.errors.pop(request.id, None)
        self._forget_logged(f"entry:{request.id}")
        condition = (created.get("status") or {}).get("condition")
        log.info(
            "instance auth requested for entry %s (bundle %s): %s, %s",
            request.id,
            request.bundle_id,
            created["id"],
            condition,
        )

    def observe(self, applications: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """The status section, by entry id, from a sync's applications. An
        instance auth gone from a bundle the runtime still sees is forgotten,
        so the next step asks for it again."""
        try:
            ledger = read_ledger(self.directory)
        except LedgerError as error:
            self.file_error = str(error)
            return {}
        auths, bundles = _seen(applications)
        section: dict[str, dict[str, Any]] = {}
        forgotten = False
        for entry_id, recorded in list(ledger.instances.items()):
            seen = auths.get(recorded.auth_id)
            line = {
                "auth_id": recorded.auth_id,
                "bundle_id": recorded.request.bundle_id,
                "application_id": seen.application_id if seen else None,
                "condition": seen.condition if seen else None,
                "last_error": self.errors.get(entry_id),
            }
            if seen is None and recorded.request.bundle_id in bundles:
                message = (
                    f"instance auth {recorded.auth_id} is gone from bundle "
                    f"{recorded.request.bundle_id}; asking again"
                )
                log.warning("instance auth entry %s: %s", entry_id, message)
                del ledger.instances[entry_id]
                forgotten = True
                line.update(auth_id=None, last_error=message)
                line["application_id"] = bundles[recorded.request.bundle_id]
            elif seen is None:
                line["last_error"] = line["last_error"] or (
                    f"bundle {recorded.request.bundle_id} is not among the runtime's applications"
                )
            section[entry_id] = line
        if forgotten:
            write_ledger(self.directory, ledger)
        for entry_id, error in self.errors.items():
            if entry_id not in section and self.desired and entry_id in self.desired:
                section[entry_id] = {
                    "auth_id": None,
                    "bundle_id": self.desired[entry_id].bundle_id,
                    "application_id": bundles.get(self.desired[entry_id].bundle_id),
                    "condition": None,
                    "last_error": error,
                }
        for auth_id, recorded in ledger.releasing.items():
            seen = auths.get(auth_id)
            section.setdefault(
                recorded.request.id,
                {
                    "auth_id": auth_id,
                    "bundle_id": recorded.request.bundle_id,
                    "application_id": seen.application_id if seen else None,
                    "condition": seen.condition if seen else None,
                    "last_error": self.release_errors.get(auth_id),
                    "releasing": True,
                },
            )
        return dict(sorted(section.items()))
