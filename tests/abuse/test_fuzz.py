"""Fuzzed GraphQL documents over the whole schema, sent by an administrator to
the real app: whatever they hold, the answer is a GraphQL answer without an
InternalError, an HTTP 5xx, or text of the server's insides.

COMPASS_FUZZ_EXAMPLES sets the number of documents (`python -m scripts.fuzz`
runs many more than the suite does); COMPASS_FUZZ_RANDOM=1 draws other ones
than the suite's fixed sequence."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import graphql
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compass.app import create_app
from compass.resolvers.schema import build_schema
from tests.abuse.fuzzing import documents, problems
from tests.abuse.world import World, build_world, settings_for_world
from tests.conftest import Api

EXAMPLES = int(os.environ.get("COMPASS_FUZZ_EXAMPLES", "120"))
# Long runs may explore beyond the suite's fixed documents; a failure prints its seed.
RANDOM = os.environ.get("COMPASS_FUZZ_RANDOM") == "1"


def _offline(request: httpx.Request) -> httpx.Response:
    """Outgoing calls (spec fetches, webhooks) answer here: fuzzing stays off the network."""
    return httpx.Response(404, text="nothing here")


def _mutation_fields(sdl: str) -> list[str]:
    mutation = graphql.build_schema(sdl).mutation_type
    assert mutation is not None
    # provisionRuntime with a local provider starts a runtime agent process per
    # call; its operations are reached through the provisioned runtime of the world.
    return [name for name in mutation.fields if name != "provisionRuntime"]


@pytest.fixture
async def fuzz_api(settings) -> AsyncIterator[tuple[Api, World]]:
    app = create_app(settings_for_world(settings), http_transport=httpx.MockTransport(_offline))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://compass.test") as http:
            api = Api(http, settings)
            api.token = api.mint()
            yield api, await build_world(api)


SDL = build_schema().as_str()
MUTATIONS = tuple(_mutation_fields(SDL))


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not RANDOM,
    database=None,
    # One app and world serve every example; documents are large by design.
    suppress_health_check=list(HealthCheck),
)
@given(data=st.data())
async def test_fuzzed_documents_get_clean_answers(fuzz_api, data):
    api, world = fuzz_api
    document = data.draw(documents(SDL, world.all_ids(), MUTATIONS), label="document")
    response = await api.client.post(
        "/graphql",
        json={"query": document},
        headers={"Authorization": f"Bearer {api.token}"},
    )
    found = problems(response, document)
    assert not found, found


def _answer(status: int, body: object) -> httpx.Response:
    return httpx.Response(status, json=body)


def test_the_check_finds_what_it_is_for():
    """Each kind of bad answer is found, and a clean one passes."""
    document = '{ application(id: "x") { id } }'
    internal = {"errors": [{"message": "Internal", "extensions": {"error_code": 10}}]}
    leaked = {"errors": [{"message": "sqlite3.OperationalError: database is locked"}]}
    assert problems(_answer(500, {}), document)
    assert problems(_answer(200, internal), document)
    assert problems(_answer(200, leaked), document)
    assert problems(httpx.Response(200, text="{not json"), document)
    assert problems(_answer(200, {"errors": [{"extensions": {"error_code": 22}}]}), document)
    clean = {"data": None, "errors": [{"message": "nope", "extensions": {"error_code": 20}}]}
    assert problems(_answer(200, clean), document) == []
    echoed = '{ application(id: "SELECT 1") { id } }'
    assert problems(_answer(200, {"data": {"application": "SELECT 1"}}), echoed) == []
