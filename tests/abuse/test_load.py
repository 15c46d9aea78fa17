"""100 concurrent clients against a real `compass serve` on loopback, mixing
reads and writes for a bounded time: every answer is a success or the
validation error the client asked for; no HTTP 5xx, no transport failure, and
the applications the clients kept are exactly those the server lists.

COMPASS_LOAD_SECONDS (default 20) and COMPASS_LOAD_CLIENTS (default 100) size
the run; `python -m scripts.load` runs 60 s. Asserts on counts, never on speed."""

from __future__ import annotations

import asyncio
import collections
import json
import os
import re
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from compass.auth.scopes import ADMIN_SCOPES
from compass.auth.tokens import mint_user_token
from compass.config import DEFAULT_TENANT_ID, Settings
from compass.db import POOL_TIMEOUT, create_engine
from compass.errors import InvalidData
from compass.pki.jwt_keys import load_or_create_signing_key
from tests.conftest import TEST_DATABASE_URL
from tests.e2e.server import AdminClient, running_server

SECONDS = float(os.environ.get("COMPASS_LOAD_SECONDS", "20"))
CLIENTS = int(os.environ.get("COMPASS_LOAD_CLIENTS", "100"))
# Longer than a request may queue for a database connection: under load on a
# shared machine an answer may take long; one that never comes is a failure.
REQUEST_TIMEOUT = POOL_TIMEOUT + 60.0
SCENARIO = "LOAD"

REGISTER = """mutation($in: ApplicationRegisterInput!) { registerApplication(in: $in) {
    id name labels } }"""
UPDATE = """mutation($id: ID!, $in: ApplicationUpdateInput!) { updateApplication(id: $id, in: $in)
    { id description } }"""
SET_LABEL = """mutation($id: ID!, $key: String!, $value: Any!) {
    setApplicationLabel(applicationID: $id, key: $key, value: $value) { key value } }"""
UNREGISTER = "mutation($id: ID!) { unregisterApplication(id: $id) { id } }"
ONE = """query($id: ID!) { application(id: $id) { id name description labels
    webhooks { id } bundles { totalCount } } }"""
LIST = """query($f: [LabelFilter!]) { applications(filter: $f, first: 50) { totalCount
    data { id name labels } } }"""
FOR_RUNTIME = """query($id: ID!) { applicationsForRuntime(runtimeID: $id, first: 50) {
    totalCount data { id } } }"""


@dataclass
class Tally:
    """Outcomes by (action, outcome); `kept` are the applications left registered."""

    counts: collections.Counter[tuple[str, str]] = field(default_factory=collections.Counter)
    unexpected: list[str] = field(default_factory=list)
    kept: set[str] = field(default_factory=set)


class LoadClient:
    def __init__(self, number: int, http: httpx.AsyncClient, tally: Tally, runtime: str) -> None:
        self.number = number
        self.http = http
        self.tally = tally
        self.runtime = runtime
        self.owned: list[str] = []
        self.step = 0
        self.registered = 0

    async def call(
        self, action: str, query: str, variables: dict[str, Any], invalid: bool = False
    ) -> Any:
        """The data of one request, tallied; `invalid`: the client sent bad input on
        purpose and expects InvalidData."""
        try:
            response = await self.http.post(
                "/graphql", json={"query": query, "variables": variables}
            )
        except httpx.HTTPError as error:
            return self._unexpected(action, "transport", f"{type(error).__name__}: {error}")
        if response.status_code != 200:
            return self._unexpected(action, f"http {response.status_code}", response.text[:500])
        body = response.json()
        codes = [(e.get("extensions") or {}).get("error_code") for e in body.get("errors") or []]
        if invalid:
            if codes == [InvalidData.code]:
                self.tally.counts[(action, "refused as asked")] += 1
                return None
            return self._unexpected(action, "accepted bad input", json.dumps(body)[:500])
        if codes:
            return self._unexpected(action, f"error {codes}", json.dumps(body)[:500])
        self.tally.counts[(action, "ok")] += 1
        return body["data"]

    def _unexpected(self, action: str, outcome: str, detail: str) -> None:
        self.tally.counts[(action, outcome)] += 1
        self.tally.unexpected.append(f"client {self.number} {action}: {outcome}: {detail}")
        return None

    async def register(self) -> None:
        self.registered += 1
        name = f"load-{self.number}-{self.registered}"
        labels = {"scenarios": [SCENARIO], "client": f"c{self.number}"}
        data = await self.call("register", REGISTER, {"in": {"name": name, "labels": labels}})
        if data:
            self.owned.append(data["registerApplication"]["id"])

    async def run_step(self) -> None:
        """One action of a fixed cycle, shifted per client so all kinds run at once."""
        actions = [
            self.register,
            self.update,
            self.label,
            self.read,
            self.shared_label,
            self.list,
            self.invalid,
            self.unregister,
            self.for_runtime,
        ]
        await actions[(self.step + self.number) % len(actions)]()
        self.step += 1

    async def update(self) -> None:
        if self.owned:
            variables = {"id": self.owned[-1], "in": {"description": f"step {self.step}"}}
            await self.call("update", UPDATE, variables)

    async def label(self) -> None:
        if self.owned:
            variables = {"id": self.owned[-1], "key": "size", "value": self.step}
            await self.call("set label", SET_LABEL, variables)

    async def shared_label(self) -> None:
        """A key that many clients use first at nearly the same moment."""
        if self.owned:
            variables = {"id": self.owned[-1], "key": f"wave_{self.step // 9}", "value": True}
            await self.call("first use of a key", SET_LABEL, variables)

    async def invalid(self) -> None:
        if self.owned:
            variables = {"id": self.owned[-1], "key": "size", "value": "big"}
            await self.call("set invalid label", SET_LABEL, variables, invalid=True)
        else:
            bad = {"in": {"name": "Not A Name!"}}
            await self.call("register invalid", REGISTER, bad, invalid=True)

    async def read(self) -> None:
        if self.owned:
            await self.call("read", ONE, {"id": self.owned[0]})

    async def list(self) -> None:
        query = json.dumps(f"c{self.number}")
        await self.call("list", LIST, {"f": [{"key": "client", "query": query}]})

    async def for_runtime(self) -> None:
        await self.call("applications for runtime", FOR_RUNTIME, {"id": self.runtime})

    async def unregister(self) -> None:
        """Deletes the oldest application, keeping one for the other actions."""
        if len(self.owned) < 2:
            await self.register()
        if len(self.owned) > 1:
            await self.call("unregister", UNREGISTER, {"id": self.owned.pop(0)})


def _prepare(admin: AdminClient) -> str:
    """The LOAD scenario, an integer label `size`, and a runtime in LOAD."""
    current = admin.data('{ labelDefinition(key: "scenarios") { schema } }')
    schema = json.loads(current["labelDefinition"]["schema"])
    schema["items"]["enum"].append(SCENARIO)
    admin.data(
        "mutation($in: LabelDefinitionInput!) { updateLabelDefinition(in: $in) { key } }",
        {"in": {"key": "scenarios", "schema": json.dumps(schema)}},
    )
    admin.data(
        "mutation($in: LabelDefinitionInput!) { createLabelDefinition(in: $in) { key } }",
        {"in": {"key": "size", "schema": json.dumps({"type": "integer"})}},
    )
    runtime = admin.data(
        "mutation($in: RuntimeInput!) { registerRuntime(in: $in) { id } }",
        {"in": {"name": "load-cluster", "labels": {"scenarios": [SCENARIO]}}},
    )
    return runtime["registerRuntime"]["id"]


async def _drive(base_url: str, token: str, runtime: str) -> Tally:
    tally = Tally()
    # Idle connections are dropped before the server's keep-alive of 5 s ends:
    # reusing one the server is closing at that moment fails in the client.
    limits = httpx.Limits(
        max_connections=CLIENTS, max_keepalive_connections=CLIENTS, keepalive_expiry=2.0
    )
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(
        base_url=base_url, headers=headers, timeout=REQUEST_TIMEOUT, limits=limits
    ) as http:
        clients = [LoadClient(number, http, tally, runtime) for number in range(CLIENTS)]
        deadline = time.monotonic() + SECONDS

        async def run(client: LoadClient) -> None:
            await client.register()
            while time.monotonic() < deadline:
                await client.run_step()

        await asyncio.gather(*(run(client) for client in clients))
    for client in clients:
        tally.kept.update(client.owned)
    return tally


def _errors_in(log: str) -> str:
    """The ends of the server's first error records (where a traceback names the
    exception), for the assertion message."""
    records = re.split(r"\n(?=\d{4}-\d\d-\d\d )", log)
    errors = [record.splitlines() for record in records if " ERROR " in record]
    return "\n".join("\n".join(lines[:1] + lines[-12:]) for lines in errors[:3])


def _admin_token(data_dir: Path) -> str:
    """Signed with the server's key: `compass token` reads only a SQLite data dir."""
    key = load_or_create_signing_key(Settings(data_dir=data_dir).jwt_key_path())
    scopes = list(ADMIN_SCOPES)
    return mint_user_token(
        key, subject="load", tenant=DEFAULT_TENANT_ID, scopes=scopes, lifetime=timedelta(hours=2)
    )


def _listed(admin: AdminClient) -> set[str]:
    found: set[str] = set()
    after = None
    for _page in range(10_000):
        page = admin.data(
            "query($after: PageCursor) { applications(first: 200, after: $after) "
            "{ data { id } pageInfo { endCursor hasNextPage } } }",
            {"after": after},
        )["applications"]
        found.update(app["id"] for app in page["data"])
        if not page["pageInfo"]["hasNextPage"]:
            return found
        after = page["pageInfo"]["endCursor"]
    raise AssertionError("applications never reached their last page")


def test_concurrent_clients_get_only_answers_they_asked_for(tmp_path: Path, settings: Settings):
    # On PostgreSQL the server uses the test's emptied database; else its own SQLite.
    environment = {"COMPASS_DATABASE_URL": settings.database_url} if TEST_DATABASE_URL else {}
    data_dir = tmp_path / "data"
    with running_server(data_dir, tmp_path / "serve.log", environment) as server:
        token = _admin_token(data_dir)
        with AdminClient(server.base_url, token) as admin:
            runtime = _prepare(admin)
            tally = asyncio.run(_drive(server.base_url, token, runtime))
            listed = _listed(admin)
        log = server.output()
    print(
        "\n".join(
            f"{count:7d}  {action}: {outcome}"
            for (action, outcome), count in sorted(tally.counts.items())
        )
    )
    assert not tally.unexpected, "\n".join([*tally.unexpected[:20], _errors_in(log)])
    assert "Traceback" not in log, log[-5000:]
    kinds = {action for action, outcome in tally.counts if outcome in ("ok", "refused as asked")}
    assert {"register", "update", "set label", "first use of a key", "read", "list"} <= kinds
    assert {"unregister", "applications for runtime", "set invalid label"} <= kinds
    assert listed == tally.kept


@pytest.mark.uses_test_database
async def test_requests_queue_for_a_database_connection_rather_than_fail(tmp_path: Path):
    """Under a burst, a request waits for a pooled connection as long as
    POOL_TIMEOUT (SQLAlchemy's own 30 s failed requests of 100 clients)."""
    urls = [f"sqlite+aiosqlite:///{tmp_path / 'compass.db'}"]
    urls += [TEST_DATABASE_URL] if TEST_DATABASE_URL else []
    for url in urls:
        engine = create_engine(url)
        try:
            assert engine.pool.timeout() == POOL_TIMEOUT > 30  # type: ignore[attr-defined]
        finally:
            await engine.dispose()
