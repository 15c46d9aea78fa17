"""Bench data written with bulk INSERTs through the project's tables: what
registering the applications would store, without the mutations' cost."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from bench.common import insert_rows, stamps

__all__ = ["AgentData", "default_tenant_id", "seed_agent_data", "seed_labelled_applications"]

SCENARIO = "BENCH"
EVENT_GATEWAY = "https://gateway.bench.example"
BUNDLES = 3
DEFINITIONS = 3
SPEC_BYTES = 2048


def _id() -> str:
    return str(uuid.uuid4())


async def default_tenant_id(connection: Any) -> str:
    """The default tenant's internal ID (the server creates it at start-up)."""
    from compass.config import DEFAULT_TENANT_ID
    from compass.domain.tables import TenantRow

    table = TenantRow.__table__
    found = await connection.scalar(
        sa.select(table.c.id).where(table.c.external_id == DEFAULT_TENANT_ID)
    )
    if found is None:
        raise SystemExit("the default tenant is missing")
    return found


def _spec(kind: str, number: int) -> str:
    head = f"{kind}: '3.0.0'\ninfo:\n  title: bench {number}\npaths:\n"
    body = "".join(f"  /items/{i}:\n    get:\n      summary: item {i}\n" for i in range(60))
    return (head + body)[:SPEC_BYTES]


@dataclass(frozen=True)
class AgentData:
    tenant_id: str
    runtime_id: str
    system_auth_id: str
    applications: int
    bundles_per_application: int = BUNDLES
    definitions_per_bundle: int = DEFINITIONS


def _application(tenant_id: str, number: int, created: Any) -> dict[str, Any]:
    return {
        "id": _id(),
        "tenant_id": tenant_id,
        "name": f"bench-{number}",
        "description": f"application {number} of the benchmark",
        "provider_name": "bench",
        "status_condition": "INITIAL",
        "status_timestamp": created,
        "created_at": created,
    }


def _label(tenant_id: str, key: str, value: Any, **owner: str) -> dict[str, Any]:
    row = {"id": _id(), "tenant_id": tenant_id, "key": key, "value": value}
    row.update({"app_id": None, "runtime_id": None, "runtime_context_id": None}, **owner)
    return row


def _definition(tenant_id: str, bundle_id: str, kind: str, number: int, created: Any) -> dict:
    row = {
        "id": _id(),
        "tenant_id": tenant_id,
        "bundle_id": bundle_id,
        "name": f"{kind}-{number}",
        "description": f"{kind} definition {number}",
        "group_name": "bench",
        "spec_data": _spec("openapi" if kind == "api" else "asyncapi", number),
        "spec_type": "OPEN_API" if kind == "api" else "ASYNC_API",
        "spec_format": "YAML",
        "version_value": "v1",
        "created_at": created,
    }
    if kind == "api":
        row["target_url"] = f"https://api.bench.example/{number}"
    return row


def _document(tenant_id: str, bundle_id: str, number: int, created: Any) -> dict[str, Any]:
    return {
        "id": _id(),
        "tenant_id": tenant_id,
        "bundle_id": bundle_id,
        "title": f"guide {number}",
        "display_name": f"Guide {number}",
        "description": "how to use it",
        "format": "MARKDOWN",
        "kind": "guide",
        "data": "# Guide\n" + "text " * 100,
        "created_at": created,
    }


async def _runtime(connection: Any, tenant_id: str, created: Any) -> tuple[str, str]:
    from compass.domain.tables import LabelRow, RuntimeRow, SystemAuthRow

    runtime_id, auth_id = _id(), _id()
    await insert_rows(
        connection,
        RuntimeRow,
        [
            {
                "id": runtime_id,
                "tenant_id": tenant_id,
                "name": "bench-runtime",
                "status_condition": "CONNECTED",
                "status_timestamp": created,
                "created_at": created,
            }
        ],
    )
    labels = [
        _label(tenant_id, "scenarios", [SCENARIO], runtime_id=runtime_id),
        _label(
            tenant_id, "runtime_eventServiceUrl", EVENT_GATEWAY + "/events", runtime_id=runtime_id
        ),
    ]
    await insert_rows(connection, LabelRow, labels)
    await insert_rows(
        connection,
        SystemAuthRow,
        [{"id": auth_id, "tenant_id": tenant_id, "runtime_id": runtime_id, "created_at": created}],
    )
    return runtime_id, auth_id


async def seed_agent_data(connection: Any, applications: int) -> AgentData:
    """One runtime in scenario BENCH and `applications` applications in it,
    each with 3 bundles of 3 API and 3 event definitions and a document."""
    from compass.domain.tables import (
        APIDefinitionRow,
        ApplicationRow,
        BundleRow,
        DocumentRow,
        EventDefinitionRow,
        LabelRow,
    )

    tenant_id = await default_tenant_id(connection)
    clock = stamps()
    runtime_id, auth_id = await _runtime(connection, tenant_id, next(clock))
    apps, labels, bundles, apis, events, documents = [], [], [], [], [], []
    for number in range(applications):
        app = _application(tenant_id, number, next(clock))
        apps.append(app)
        labels.append(_label(tenant_id, "scenarios", [SCENARIO], app_id=app["id"]))
        labels.append(_label(tenant_id, "team", f"team-{number % 7}", app_id=app["id"]))
        for b in range(BUNDLES):
            bundle = {
                "id": _id(),
                "tenant_id": tenant_id,
                "app_id": app["id"],
                "name": f"bundle-{b}",
                "description": f"bundle {b} of application {number}",
                "instance_auth_request_input_schema": {"type": "object"},
                "created_at": next(clock),
            }
            bundles.append(bundle)
            for d in range(DEFINITIONS):
                apis.append(_definition(tenant_id, bundle["id"], "api", d, next(clock)))
                events.append(_definition(tenant_id, bundle["id"], "event", d, next(clock)))
            documents.append(_document(tenant_id, bundle["id"], b, next(clock)))
    for table, rows in (
        (ApplicationRow, apps),
        (LabelRow, labels),
        (BundleRow, bundles),
        (APIDefinitionRow, apis),
        (EventDefinitionRow, events),
        (DocumentRow, documents),
    ):
        await insert_rows(connection, table, rows)
    return AgentData(tenant_id, runtime_id, auth_id, applications)


async def seed_labelled_applications(connection: Any, applications: int) -> int:
    """`applications` applications with three labels each, in the default tenant."""
    from compass.domain.tables import ApplicationRow, LabelRow

    tenant_id = await default_tenant_id(connection)
    clock = stamps()
    apps = [_application(tenant_id, n, next(clock)) for n in range(applications)]
    await insert_rows(connection, ApplicationRow, apps)

    def labels() -> Any:
        for number, app in enumerate(apps):
            yield _label(tenant_id, "scenarios", ["DEFAULT"], app_id=app["id"])
            yield _label(tenant_id, "team", f"team-{number % 7}", app_id=app["id"])
            yield _label(tenant_id, "tier", number % 3, app_id=app["id"])

    await insert_rows(connection, LabelRow, labels())
    return len(apps)
