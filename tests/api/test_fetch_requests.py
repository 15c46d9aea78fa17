"""Specs given as fetch requests are downloaded after the mutation commits."""

from __future__ import annotations

import asyncio
import gzip
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from compass.db import create_engine
from compass.domain.bundle.fetcher import MAX_FETCH_BYTES, BoundedBody
from tests.api.spec_server import OPENAPI_YAML, SpecServer, running_spec_server
from tests.conftest import error_code

ADD_API = """mutation($bundle: ID!, $in: APIDefinitionInput!) {
  addAPIDefinitionToBundle(bundleID: $bundle, in: $in) {
    id spec { data fetchRequest { url status { condition message } } }
  }
}"""
READ_API = """query($app: ID!, $bundle: ID!, $api: ID!) {
  application(id: $app) { bundle(id: $bundle) { apiDefinition(id: $api) {
    spec { data fetchRequest { status { condition message timestamp } } }
  } } }
}"""


DEAD_URL = "http://127.0.0.1:1/orders.yaml"
FETCH_LIMIT = MAX_FETCH_BYTES


@pytest.fixture
def spec_server() -> Iterator[SpecServer]:
    with running_spec_server() as server:
        yield server


@pytest.fixture
async def bundle(api) -> dict[str, str]:
    data = await api.data(
        'mutation { registerApplication(in: {name: "shop", bundles: [{name: "orders"}]}) '
        "{ id bundles { data { id } } } }"
    )
    app = data["registerApplication"]
    return {"app": app["id"], "bundle": app["bundles"]["data"][0]["id"]}


def _api_input(url: str, spec_format: str = "YAML", **fetch: object) -> dict:
    return {
        "name": "orders",
        "targetURL": "https://shop.example/api",
        "spec": {"type": "OPEN_API", "format": spec_format, "fetchRequest": {"url": url, **fetch}},
    }


async def _add(api, bundle, api_input) -> str:
    data = await api.data(ADD_API, {"bundle": bundle["bundle"], "in": api_input})
    return data["addAPIDefinitionToBundle"]["id"]


async def _settled_spec(api, bundle, api_id: str) -> dict:
    """The spec once its fetch request has left INITIAL (bounded wait)."""
    for _ in range(100):
        data = await api.data(READ_API, {**bundle, "api": api_id})
        spec = data["application"]["bundle"]["apiDefinition"]["spec"]
        if spec["fetchRequest"]["status"]["condition"] != "INITIAL":
            return spec
        await asyncio.sleep(0.05)
    raise AssertionError(f"fetch request still INITIAL: {spec}")


async def test_fetched_spec_is_stored_and_succeeds(api, bundle, spec_server):
    api_id = await _add(api, bundle, _api_input(spec_server.url("/orders.yaml")))
    spec = await _settled_spec(api, bundle, api_id)
    assert spec["fetchRequest"]["status"]["condition"] == "SUCCEEDED"
    assert spec["data"] == OPENAPI_YAML


async def test_mutation_answers_with_initial_status(api, bundle, spec_server):
    data = await api.data(
        ADD_API, {"bundle": bundle["bundle"], "in": _api_input(spec_server.url("/orders.yaml"))}
    )
    fetch_request = data["addAPIDefinitionToBundle"]["spec"]["fetchRequest"]
    assert fetch_request["status"]["condition"] == "INITIAL"
    assert fetch_request["url"] == spec_server.url("/orders.yaml")


async def test_dead_url_fails_with_a_message(api, bundle, spec_server):
    dead = DEAD_URL
    api_id = await _add(api, bundle, _api_input(dead))
    spec = await _settled_spec(api, bundle, api_id)
    assert spec["fetchRequest"]["status"]["condition"] == "FAILED"
    assert dead in spec["fetchRequest"]["status"]["message"]
    assert spec["data"] is None


async def test_missing_document_fails_with_the_http_status(api, bundle, spec_server):
    api_id = await _add(api, bundle, _api_input(spec_server.url("/nothing.yaml")))
    spec = await _settled_spec(api, bundle, api_id)
    assert spec["fetchRequest"]["status"]["condition"] == "FAILED"
    assert "404" in spec["fetchRequest"]["status"]["message"]


async def test_fetched_document_that_does_not_parse_fails(api, bundle, spec_server):
    api_id = await _add(api, bundle, _api_input(spec_server.url("/broken.json"), "JSON"))
    spec = await _settled_spec(api, bundle, api_id)
    assert spec["fetchRequest"]["status"]["condition"] == "FAILED"
    assert "does not parse" in spec["fetchRequest"]["status"]["message"]


async def test_slow_url_does_not_block_the_mutation(api, bundle, spec_server):
    started = time.monotonic()
    api_id = await _add(api, bundle, _api_input(spec_server.url("/slow")))
    assert time.monotonic() - started < 5
    data = await api.data(READ_API, {**bundle, "api": api_id})
    status = data["application"]["bundle"]["apiDefinition"]["spec"]["fetchRequest"]["status"]
    assert status["condition"] == "INITIAL"
    spec_server.release.set()
    spec = await _settled_spec(api, bundle, api_id)
    assert spec["fetchRequest"]["status"]["condition"] == "SUCCEEDED"


async def test_basic_credentials_are_sent(api, bundle, spec_server):
    auth = {"credential": {"basic": {"username": "u", "password": "p"}}}
    api_id = await _add(api, bundle, _api_input(spec_server.url("/orders.yaml"), auth=auth))
    spec = await _settled_spec(api, bundle, api_id)
    assert spec["fetchRequest"]["status"]["condition"] == "SUCCEEDED"
    assert ("/orders.yaml", "Basic dTpw") in spec_server.requests


async def test_unsupported_mode_fails_at_once(api, bundle, spec_server):
    data = await api.data(
        ADD_API,
        {
            "bundle": bundle["bundle"],
            "in": _api_input(spec_server.url("/orders.yaml"), mode="BUNDLE"),
        },
    )
    status = data["addAPIDefinitionToBundle"]["spec"]["fetchRequest"]["status"]
    assert status["condition"] == "FAILED"
    assert "BUNDLE" in status["message"]
    assert spec_server.requests == []


async def test_refetch_downloads_again(api, bundle, spec_server):
    api_id = await _add(api, bundle, _api_input(spec_server.url("/orders.yaml")))
    await _settled_spec(api, bundle, api_id)
    spec_server.documents["/orders.yaml"] = OPENAPI_YAML.replace("Orders", "Orders v2")
    data = await api.data(
        "mutation($id: ID!) { refetchAPISpec(apiID: $id) "
        "{ fetchRequest { status { condition } } } }",
        {"id": api_id},
    )
    assert data["refetchAPISpec"]["fetchRequest"]["status"]["condition"] == "INITIAL"
    spec = await _settled_spec(api, bundle, api_id)
    assert "Orders v2" in spec["data"]


async def test_refetch_without_fetch_request_is_invalid(api, bundle):
    inline = {
        "name": "inline",
        "targetURL": "https://shop.example/api",
        "spec": {"type": "OPEN_API", "format": "YAML", "data": OPENAPI_YAML},
    }
    api_id = await _add(api, bundle, inline)
    error = await api.error(
        "mutation($id: ID!) { refetchAPISpec(apiID: $id) { data } }", {"id": api_id}
    )
    assert error_code(error) == 22


async def test_event_and_document_fetch_requests(api, bundle, spec_server):
    url = spec_server.url("/orders.yaml")
    data = await api.data(
        """mutation($bundle: ID!, $url: String!) {
          addEventDefinitionToBundle(bundleID: $bundle, in: {name: "events",
            spec: {type: ASYNC_API, format: YAML, fetchRequest: {url: $url}}}) { id }
          addDocumentToBundle(bundleID: $bundle, in: {title: "t", displayName: "d",
            description: "x", format: MARKDOWN, fetchRequest: {url: $url}}) { id }
        }""",
        {"bundle": bundle["bundle"], "url": url},
    )
    event_id = data["addEventDefinitionToBundle"]["id"]
    document_id = data["addDocumentToBundle"]["id"]
    query = """query($app: ID!, $bundle: ID!, $event: ID!, $doc: ID!) {
      application(id: $app) { bundle(id: $bundle) {
        eventDefinition(id: $event) { spec { data fetchRequest { status { condition } } } }
        document(id: $doc) { data fetchRequest { status { condition } } }
      } }
    }"""
    for _ in range(100):
        found = await api.data(query, {**bundle, "event": event_id, "doc": document_id})
        bundle_data = found["application"]["bundle"]
        statuses = {
            bundle_data["eventDefinition"]["spec"]["fetchRequest"]["status"]["condition"],
            bundle_data["document"]["fetchRequest"]["status"]["condition"],
        }
        if statuses == {"SUCCEEDED"}:
            break
        await asyncio.sleep(0.05)
    assert statuses == {"SUCCEEDED"}
    assert bundle_data["eventDefinition"]["spec"]["data"] == OPENAPI_YAML
    assert bundle_data["document"]["data"] == OPENAPI_YAML


# A query reads one snapshot: a nested field agrees with its parent although
# another transaction commits between the statements that load them.
FETCHED = "openapi: 3.0.0"


def _commit_fetch_result(url: str, api_id: str) -> None:
    """What the spec fetcher commits: the spec's data and its fetch request's
    status, together; from another thread, with an engine of its own."""

    async def write() -> None:
        engine = create_engine(url)
        try:
            async with engine.begin() as connection:
                await connection.execute(
                    sa.text("UPDATE api_definitions SET spec_data = :data WHERE id = :id"),
                    {"data": FETCHED, "id": api_id},
                )
                await connection.execute(
                    sa.text(
                        "UPDATE fetch_requests SET status_condition = 'SUCCEEDED' "
                        "WHERE api_definition_id = :id"
                    ),
                    {"id": api_id},
                )
        finally:
            await engine.dispose()

    writer = threading.Thread(target=lambda: asyncio.run(write()))
    writer.start()
    writer.join(timeout=60)
    assert not writer.is_alive(), "the concurrent write did not finish"


@contextmanager
def committing_after_definitions_are_read(app: Any, url: str, api_id: str) -> Iterator[None]:
    """Right after the request has read the API definition, and before it
    reads the fetch request, another transaction commits the fetch result."""
    engine = app.state.compass.engine.sync_engine
    done = threading.Event()

    def after(_conn, _cursor, statement: str, *_args: Any) -> None:
        if not done.is_set() and "FROM api_definitions" in statement:
            done.set()
            _commit_fetch_result(url, api_id)

    event.listen(engine, "after_cursor_execute", after)
    try:
        yield
    finally:
        event.remove(engine, "after_cursor_execute", after)
    assert done.is_set(), "the query never read the API definition"


async def test_a_spec_and_its_fetch_request_come_from_one_snapshot(api, app, bundle, settings):
    api_id = await _add(api, bundle, _api_input(DEAD_URL))
    settled = await _settled_spec(api, bundle, api_id)
    assert (settled["fetchRequest"]["status"]["condition"], settled["data"]) == ("FAILED", None)

    with committing_after_definitions_are_read(app, settings.sqlalchemy_url(), api_id):
        data = await api.data(READ_API, {**bundle, "api": api_id})
    spec = data["application"]["bundle"]["apiDefinition"]["spec"]
    # The snapshot taken before the concurrent commit: its status with its data.
    assert (spec["fetchRequest"]["status"]["condition"], spec["data"]) == ("FAILED", None)

    data = await api.data(READ_API, {**bundle, "api": api_id})
    spec = data["application"]["bundle"]["apiDefinition"]["spec"]
    assert (spec["fetchRequest"]["status"]["condition"], spec["data"]) == ("SUCCEEDED", FETCHED)


async def test_a_gzipped_spec_is_inflated(api, bundle, spec_server):
    spec_server.gzipped["/orders.yaml.gz"] = gzip.compress(OPENAPI_YAML.encode())
    api_id = await _add(api, bundle, _api_input(spec_server.url("/orders.yaml.gz")))
    spec = await _settled_spec(api, bundle, api_id)
    assert spec["fetchRequest"]["status"]["condition"] == "SUCCEEDED"
    assert spec["data"] == OPENAPI_YAML


async def test_a_gzip_bomb_fails_the_fetch(api, bundle, spec_server):
    spec_server.gzipped["/bomb.yaml"] = gzip.compress(b"a" * (4 * FETCH_LIMIT), compresslevel=9)
    api_id = await _add(api, bundle, _api_input(spec_server.url("/bomb.yaml")))
    spec = await _settled_spec(api, bundle, api_id)
    assert spec["fetchRequest"]["status"]["condition"] == "FAILED"
    assert f"more than {FETCH_LIMIT} bytes" in spec["fetchRequest"]["status"]["message"]
    assert spec["data"] is None


def test_a_bomb_is_never_inflated_beyond_the_limit():
    limit = 64 * 1024
    bomb = gzip.compress(b"a" * (1000 * limit), compresslevel=9)
    assert len(bomb) < limit  # one chunk on the wire
    body = BoundedBody("gzip", limit)
    assert body.add(bomb) is False
    assert len(body.data) <= limit + 1


def test_the_bytes_on_the_wire_count_too():
    body = BoundedBody("", 10)
    assert body.add(b"0123456789") is True
    assert body.add(b"x") is False
