"""Floors: bare Starlette endpoints that give the same answers as our server
by the shortest honest path over the same tables and driver: verify the same
JWT, read the same rows with hand-written SELECTs (Core, IN lists, tuples, no
ORM objects), encode with orjson. They serve only the queries benchmarked."""

from __future__ import annotations

import base64
import json
from collections import defaultdict
from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa

__all__ = ["agent_floor_app", "applications_floor_app", "decode_cursor", "encode_cursor"]

PAGE_SIZE = 100


def encode_cursor(created_at: datetime, row_id: str) -> str:
    raw = f"{created_at.isoformat()}|{row_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str | None) -> tuple[datetime, str] | None:
    if not text:
        return None
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
    stamp, row_id = raw.split("|", 1)
    return datetime.fromisoformat(stamp), row_id


def _tables() -> Any:
    import compass.domain.tables as tables

    return tables


def _t(row_type: Any) -> Any:
    return row_type.__table__


def _page_info(rows: list[Any], size: int) -> dict[str, Any]:
    shown = rows[:size]
    return {
        "hasNextPage": len(rows) > size,
        "endCursor": encode_cursor(shown[-1].created_at, shown[-1].id) if shown else "",
    }


def _after(table: Any, cursor: tuple[datetime, str] | None) -> Any:
    if cursor is None:
        return sa.true()
    return sa.tuple_(table.c.created_at, table.c.id) > sa.tuple_(*cursor)


def _contains_scenario(dialect: str, value: Any, scenarios: list[str]) -> Any:
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        return sa.or_(
            *(
                sa.cast(sa.type_coerce(value, sa.Text()), postgresql.JSONB).op("@>")(
                    sa.cast(sa.literal(orjson.dumps([s]).decode()), postgresql.JSONB)
                )
                for s in scenarios
            )
        )
    each = sa.func.json_each(sa.type_coerce(value, sa.Text())).table_valued("value")
    return sa.select(sa.literal(1)).select_from(each).where(each.c.value.in_(scenarios)).exists()


class _AgentQueries:
    """The statements of one page of the agent's query, in the order it needs them."""

    def __init__(self, connection: Any, tenant_id: str) -> None:
        self.db = connection
        self.tenant_id = tenant_id
        self.t = _tables()

    async def rows(self, statement: Any) -> list[Any]:
        return list((await self.db.execute(statement)).all())

    async def runtime_scenarios(self, runtime_id: str) -> tuple[list[str], list[Any]]:
        labels = _t(self.t.LabelRow)
        rows = await self.rows(
            sa.select(labels.c.key, labels.c.value).where(
                labels.c.tenant_id == self.tenant_id, labels.c.runtime_id == runtime_id
            )
        )
        found = {row.key: row.value for row in rows}
        return [s for s in found.get("scenarios") or [] if isinstance(s, str)], rows

    def _visible(self, scenarios: list[str], dialect: str) -> Any:
        apps, labels = _t(self.t.ApplicationRow), _t(self.t.LabelRow)
        in_scenario = (
            sa.select(labels.c.id)
            .where(
                labels.c.tenant_id == self.tenant_id,
                labels.c.app_id == apps.c.id,
                labels.c.key == "scenarios",
                _contains_scenario(dialect, labels.c.value, scenarios),
            )
            .exists()
        )
        return apps.c.tenant_id == self.tenant_id, in_scenario

    async def applications(
        self, scenarios: list[str], cursor: Any, dialect: str
    ) -> tuple[int, list[Any]]:
        apps = _t(self.t.ApplicationRow)
        where = self._visible(scenarios, dialect)
        total = await self.db.scalar(sa.select(sa.func.count()).select_from(apps).where(*where))
        rows = await self.rows(
            sa.select(
                apps.c.id,
                apps.c.name,
                apps.c.description,
                apps.c.provider_name,
                apps.c.status_condition,
                apps.c.created_at,
            )
            .where(*where, _after(apps, cursor))
            .order_by(apps.c.created_at, apps.c.id)
            .limit(PAGE_SIZE + 1)
        )
        return int(total or 0), rows

    async def children(self, row_type: Any, parent: str, ids: list[str], *columns: str) -> dict:
        table = _t(row_type)
        wanted = [table.c[name] for name in ("id", parent, "created_at", *columns)]
        found: dict[str, list[Any]] = defaultdict(list)
        if not ids:
            return found
        for row in await self.rows(
            sa.select(*wanted)
            .where(table.c.tenant_id == self.tenant_id, table.c[parent].in_(ids))
            .order_by(table.c.created_at, table.c.id)
        ):
            found[row[1]].append(row)
        return found

    async def app_labels(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        labels = _t(self.t.LabelRow)
        found: dict[str, dict[str, Any]] = defaultdict(dict)
        # The IDs come from a tenant-filtered query: app_id alone picks its index.
        for row in await self.rows(
            sa.select(labels.c.app_id, labels.c.key, labels.c.value).where(labels.c.app_id.in_(ids))
        ):
            found[row.app_id][row.key] = row.value
        return found

    async def event_urls(self, apps: list[Any]) -> dict[str, str]:
        """Gateway of the chosen runtime, else of the oldest one sharing a scenario."""
        labels, runtimes = _t(self.t.LabelRow), _t(self.t.RuntimeRow)
        chosen = dict(
            (
                await self.db.execute(
                    sa.select(
                        _t(self.t.DefaultEventingRow).c.app_id,
                        _t(self.t.DefaultEventingRow).c.runtime_id,
                    ).where(_t(self.t.DefaultEventingRow).c.app_id.in_([a.id for a in apps]))
                )
            ).all()
        )
        candidates = await self.rows(
            sa.select(runtimes.c.id, labels.c.key, labels.c.value)
            .join(labels, labels.c.runtime_id == runtimes.c.id)
            .where(
                runtimes.c.tenant_id == self.tenant_id,
                labels.c.key.in_(["scenarios", "runtime_eventServiceUrl"]),
            )
            .order_by(runtimes.c.created_at, runtimes.c.id)
        )
        by_runtime: dict[str, dict[str, Any]] = {}
        for row in candidates:
            by_runtime.setdefault(row.id, {})[row.key] = row.value
        app_scenarios = await self.app_labels([a.id for a in apps])
        return {
            app.id: _event_url(app, app_scenarios[app.id], by_runtime, chosen.get(app.id))
            for app in apps
        }


def _gateway(value: Any) -> str:
    from urllib.parse import urlsplit

    if not isinstance(value, str):
        return ""
    parts = urlsplit(value)
    host = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{host}" if parts.scheme in ("http", "https") and host else ""


def _event_url(app: Any, labels: dict, runtimes: dict, chosen: str | None) -> str:
    mine = set(labels.get("scenarios") or [])
    sharing = [
        (rid, found) for rid, found in runtimes.items() if mine & set(found.get("scenarios") or [])
    ]
    picked = next((found for rid, found in sharing if rid == chosen), None)
    if picked is None:
        picked = next((f for _, f in sharing if _gateway(f.get("runtime_eventServiceUrl"))), None)
    gateway = _gateway(picked.get("runtime_eventServiceUrl")) if picked else ""
    return f"{gateway}/{app.name}/v1/events" if gateway else ""


def _spec(row: Any) -> Any:
    if row.spec_type is None:
        return None
    return {"data": row.spec_data, "format": row.spec_format, "type": row.spec_type}


def _version(row: Any) -> Any:
    return None if row.version_value is None else {"value": row.version_value}


def _api(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "description": row.description,
        "targetURL": row.target_url,
        "group": row.group_name,
        "spec": _spec(row),
        "version": _version(row),
    }


def _event(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "description": row.description,
        "group": row.group_name,
        "spec": _spec(row),
        "version": _version(row),
    }


def _document(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "title": row.title,
        "displayName": row.display_name,
        "description": row.description,
        "format": row.format,
        "kind": row.kind,
        "data": row.data,
    }


def _paged(rows: list[Any], convert: Any) -> dict[str, Any]:
    return {"pageInfo": _page_info(rows, PAGE_SIZE), "data": [convert(r) for r in rows[:PAGE_SIZE]]}


_DEFINITION = (
    "name",
    "description",
    "group_name",
    "spec_data",
    "spec_type",
    "spec_format",
    "version_value",
)
_DOCUMENT = ("title", "display_name", "description", "format", "kind", "data")


async def _agent_page(q: _AgentQueries, runtime_id: str, after: Any, dialect: str) -> dict:
    t = q.t
    scenarios, _ = await q.runtime_scenarios(runtime_id)
    total, rows = await q.applications(scenarios, decode_cursor(after), dialect)
    apps = rows[:PAGE_SIZE]
    app_ids = [a.id for a in apps]
    labels = await q.app_labels(app_ids)
    urls = await q.event_urls(apps) if apps else {}
    bundles = await q.children(
        t.BundleRow, "app_id", app_ids, "name", "description", "instance_auth_request_input_schema"
    )
    bundle_ids = [b.id for found in bundles.values() for b in found]
    apis = await q.children(t.APIDefinitionRow, "bundle_id", bundle_ids, "target_url", *_DEFINITION)
    events = await q.children(t.EventDefinitionRow, "bundle_id", bundle_ids, *_DEFINITION)
    documents = await q.children(t.DocumentRow, "bundle_id", bundle_ids, *_DOCUMENT)
    auths = await q.children(t.BundleInstanceAuthRow, "bundle_id", bundle_ids, "runtime_id")
    if any(a.runtime_id == runtime_id for found in auths.values() for a in found):
        raise RuntimeError("the floor does not decrypt instance auths; seed none")

    def bundle(row: Any) -> dict[str, Any]:
        schema = row.instance_auth_request_input_schema
        return {
            "id": row.id,
            "name": row.name,
            "description": row.description,
            "instanceAuthRequestInputSchema": None if schema is None else json.dumps(schema),
            "apiDefinitions": _paged(apis.get(row.id, []), _api),
            "eventDefinitions": _paged(events.get(row.id, []), _event),
            "documents": _paged(documents.get(row.id, []), _document),
            "instanceAuths": [],
        }

    def application(row: Any) -> dict[str, Any]:
        found = bundles.get(row.id, [])
        return {
            "id": row.id,
            "name": row.name,
            "description": row.description,
            "providerName": row.provider_name,
            "labels": labels.get(row.id, {}),
            "status": {"condition": row.status_condition},
            "eventingConfiguration": {"defaultURL": urls.get(row.id, "")},
            "bundles": {"totalCount": len(found), **_paged(found, bundle)},
        }

    return {
        "totalCount": total,
        "pageInfo": _page_info(rows, PAGE_SIZE),
        "data": [application(row) for row in apps],
    }


def _bearer_claims(request: Any, public_key: Any) -> dict[str, Any]:
    import jwt

    from compass.config import LOCAL_TOKEN_ISSUER

    token = request.headers["authorization"].partition(" ")[2]
    return jwt.decode(token, public_key, algorithms=["EdDSA"], issuer=LOCAL_TOKEN_ISSUER)


def _starlette(settings: Any, endpoint: Any) -> Any:
    from contextlib import asynccontextmanager

    from starlette.applications import Starlette
    from starlette.routing import Route

    from compass.db import create_engine

    engine = create_engine(settings.sqlalchemy_url())

    @asynccontextmanager
    async def lifespan(_app: Any) -> Any:
        yield
        await engine.dispose()

    app = Starlette(routes=[Route("/graphql", endpoint, methods=["POST"])], lifespan=lifespan)
    app.state.engine = engine
    return app


def agent_floor_app(settings: Any) -> Any:
    """`applicationsForRuntime` as the agent asks it, for a runtime's client token."""
    from starlette.responses import Response

    from compass.pki.jwt_keys import load_or_create_signing_key

    public_key = load_or_create_signing_key(settings.jwt_key_path()).public_key()
    auths, tenants, runtimes = (
        _t(_tables().SystemAuthRow),
        _t(_tables().TenantRow),
        _t(_tables().RuntimeRow),
    )

    async def graphql(request: Any) -> Response:
        claims = _bearer_claims(request, public_key)
        variables = orjson.loads(await request.body())["variables"]
        engine = app.state.engine
        async with engine.connect() as connection:
            auth = (
                await connection.execute(
                    sa.select(auths.c.tenant_id, auths.c.runtime_id).where(
                        auths.c.id == claims["compass_system_auth"]
                    )
                )
            ).one()
            tenant_id = await connection.scalar(
                sa.select(tenants.c.id).where(tenants.c.id == auth.tenant_id)
            )
            if (
                auth.runtime_id != variables["id"]
                or await connection.scalar(
                    sa.select(runtimes.c.id).where(
                        runtimes.c.tenant_id == tenant_id, runtimes.c.id == variables["id"]
                    )
                )
                is None
            ):
                raise RuntimeError("the floor serves only the runtime's own configuration")
            queries = _AgentQueries(connection, tenant_id)
            page = await _agent_page(
                queries, variables["id"], variables.get("after"), engine.dialect.name
            )
        body = orjson.dumps({"data": {"applicationsForRuntime": page}})
        return Response(body, media_type="application/json")

    app = _starlette(settings, graphql)
    return app


def applications_floor_app(settings: Any) -> Any:
    """`applications(first, after) { data { id labels } }` for an administrator token."""
    from starlette.responses import Response

    from compass.pki.jwt_keys import load_or_create_signing_key

    public_key = load_or_create_signing_key(settings.jwt_key_path()).public_key()
    t = _tables()
    apps, labels, tenants = _t(t.ApplicationRow), _t(t.LabelRow), _t(t.TenantRow)

    async def graphql(request: Any) -> Response:
        claims = _bearer_claims(request, public_key)
        variables = orjson.loads(await request.body())["variables"]
        size = int(variables["first"])
        async with app.state.engine.connect() as connection:
            tenant_id = await connection.scalar(
                sa.select(tenants.c.id).where(tenants.c.external_id == claims["tenant"])
            )
            rows = (
                await connection.execute(
                    sa.select(apps.c.id, apps.c.created_at)
                    .where(
                        apps.c.tenant_id == tenant_id,
                        _after(apps, decode_cursor(variables.get("after"))),
                    )
                    .order_by(apps.c.created_at, apps.c.id)
                    .limit(size)
                )
            ).all()
            found: dict[str, dict[str, Any]] = {row.id: {} for row in rows}
            for label in await connection.execute(
                # The IDs come from a tenant-filtered query: app_id alone picks its index.
                sa.select(labels.c.app_id, labels.c.key, labels.c.value).where(
                    labels.c.app_id.in_(list(found))
                )
            ):
                found[label.app_id][label.key] = label.value
        data = [{"id": row_id, "labels": values} for row_id, values in found.items()]
        body = orjson.dumps({"data": {"applications": {"data": data}}})
        return Response(body, media_type="application/json")

    app = _starlette(settings, graphql)
    return app
