"""The Director side: every query valid against the committed schema, every page
followed, and the runtime reported CONNECTED only when it needs to be."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import graphql
import httpx
import pytest

from compass.agent import connector, director
from compass.agent.director import Director

SCHEMA = Path(__file__).resolve().parents[2] / "schema.graphql"
URL = "https://mtls.test/director/graphql"


@pytest.mark.parametrize(
    "document",
    [
        director.APPLICATIONS,
        director.MORE_BUNDLES,
        *director.MORE_DEFINITIONS.values(),
        director.RUNTIME,
        director.SET_LABEL,
        director.UPDATE_RUNTIME,
        director.REQUEST_INSTANCE_AUTH,
        director.RELEASE_INSTANCE_AUTH,
        connector.CONFIGURATION,
        connector.SIGN,
    ],
)
def test_documents_are_valid_against_the_committed_schema(document: str) -> None:
    schema = graphql.build_schema(SCHEMA.read_text())
    assert graphql.validate(schema, graphql.parse(document)) == []


@pytest.mark.parametrize("document", [director.APPLICATIONS, director.MORE_BUNDLES])
def test_bundles_carry_the_runtimes_instance_auths_with_credentials(document: str) -> None:
    assert director.BUNDLE_INSTANCE_AUTHS.startswith("instanceAuths {")
    assert director.BUNDLE_INSTANCE_AUTHS in document
    for field in ("username password", "clientId clientSecret url", "condition timestamp"):
        assert field in director.BUNDLE_INSTANCE_AUTHS


def _page(items: list[dict], cursor: str | None = None, total: int | None = None) -> dict:
    page = {
        "pageInfo": {"hasNextPage": cursor is not None, "endCursor": cursor or ""},
        "data": items,
    }
    if total is not None:
        page["totalCount"] = total
    return page


def _bundle(bundle_id: str, api_cursor: str | None = None) -> dict:
    return {
        "id": bundle_id,
        "name": bundle_id,
        "apiDefinitions": _page([{"id": f"{bundle_id}-api1"}], api_cursor),
        "eventDefinitions": _page([]),
        "documents": _page([{"id": f"{bundle_id}-doc"}]),
    }


class FakeDirector:
    """Answers by the first field the query asks for."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.runtime_state: dict[str, Any] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        query, variables = body["query"], body["variables"]
        field = graphql.parse(query).definitions[0].selection_set.selections[0].name.value
        self.calls.append((field, variables))
        data = getattr(self, field)(query, variables)
        return httpx.Response(200, json={"data": {field: data}})

    def applicationsForRuntime(self, _query: str, variables: dict) -> dict:  # noqa: N802
        if variables["after"] is None:
            first = {
                "id": "a1",
                "name": "shop",
                "bundles": _page([_bundle("b1", api_cursor="api-c1")], "bundle-c1", 2),
            }
            return _page([first], "app-c1", 2)
        assert variables["after"] == "app-c1"
        return _page([{"id": "a2", "name": "bank", "bundles": _page([], None, 0)}], None, 2)

    def application(self, query: str, variables: dict) -> dict:
        assert variables["app"] == "a1"
        if "apiDefinitions(first: 100, after: $after)" in query:
            assert (variables["bundle"], variables["after"]) == ("b1", "api-c1")
            return {"bundle": {"apiDefinitions": _page([{"id": "b1-api2"}])}}
        assert variables["after"] == "bundle-c1"
        return {"bundles": _page([_bundle("b2")], None, 2)}

    def runtime(self, _query: str, _variables: dict) -> dict:
        return self.runtime_state

    def setRuntimeLabel(self, _query: str, variables: dict) -> dict:  # noqa: N802
        return {"key": variables["key"]}

    def updateRuntime(self, _query: str, variables: dict) -> dict:  # noqa: N802
        return {"id": variables["id"], "status": {"condition": "CONNECTED"}}

    def requestBundleInstanceAuthCreation(self, _query: str, variables: dict) -> dict:  # noqa: N802
        return {"id": "ia-1", "status": {"condition": "PENDING"}}

    def requestBundleInstanceAuthDeletion(self, _query: str, variables: dict) -> dict:  # noqa: N802
        return {"id": variables["id"], "status": {"condition": "UNUSED"}}


async def _with(fake: FakeDirector, work: Callable[[Director], Any]) -> Any:
    async with httpx.AsyncClient(transport=httpx.MockTransport(fake)) as client:
        return await work(Director(client, URL, "rt-1", {}))


async def test_every_page_of_applications_bundles_and_definitions_is_read() -> None:
    fake = FakeDirector()
    applications = await _with(fake, lambda d: d.applications())

    assert [a["id"] for a in applications] == ["a1", "a2"]
    shop = applications[0]
    assert shop["bundles"]["totalCount"] == 2
    assert [b["id"] for b in shop["bundles"]["data"]] == ["b1", "b2"]
    first_bundle = shop["bundles"]["data"][0]
    assert first_bundle["apiDefinitions"] == {"data": [{"id": "b1-api1"}, {"id": "b1-api2"}]}
    assert first_bundle["documents"] == {"data": [{"id": "b1-doc"}]}
    assert applications[1]["bundles"] == {"totalCount": 0, "data": []}
    assert "pageInfo" not in json.dumps(applications)
    assert [field for field, _ in fake.calls] == [
        "applicationsForRuntime",
        "applicationsForRuntime",
        "application",
        "application",
    ]


async def test_report_sets_differing_labels_and_keeps_the_rest() -> None:
    fake = FakeDirector()
    fake.runtime_state = {
        "id": "rt-1",
        "name": "cluster",
        "description": "d",
        "labels": {"scenarios": ["DEFAULT"], "runtime_consoleUrl": "https://console"},
        "status": {"condition": "INITIAL"},
    }
    changed = await _with(fake, lambda d: d.report("https://events", "https://console"))

    assert changed
    mutations = [(f, v) for f, v in fake.calls if f != "runtime"]
    assert mutations[0] == (
        "setRuntimeLabel",
        {"id": "rt-1", "key": "runtime_eventServiceUrl", "value": "https://events"},
    )
    assert mutations[1] == (
        "updateRuntime",
        {
            "id": "rt-1",
            "in": {
                "name": "cluster",
                "description": "d",
                "labels": {
                    "scenarios": ["DEFAULT"],
                    "runtime_consoleUrl": "https://console",
                    "runtime_eventServiceUrl": "https://events",
                },
                "statusCondition": "CONNECTED",
            },
        },
    )
    assert len(mutations) == 2


@pytest.mark.parametrize(
    ("labels", "events_url"),
    [({"runtime_eventServiceUrl": "https://events"}, "https://events"), ({}, None)],
)
async def test_report_writes_nothing_when_all_is_as_it_should_be(
    labels: dict, events_url: str | None
) -> None:
    fake = FakeDirector()
    fake.runtime_state = {
        "id": "rt-1",
        "name": "c",
        "description": None,
        "labels": labels,
        "status": {"condition": "CONNECTED"},
    }
    assert not await _with(fake, lambda d: d.report(events_url, None))
    assert [field for field, _ in fake.calls] == ["runtime"]


async def test_instance_auths_are_requested_and_given_back_as_the_runtime() -> None:
    fake = FakeDirector()
    created = await _with(
        fake, lambda d: d.request_instance_auth("b1", '{"ns": "prod"}', '{"plan": "s"}', "ctx-1")
    )
    released = await _with(fake, lambda d: d.release_instance_auth("ia-1"))

    assert created == {"id": "ia-1", "status": {"condition": "PENDING"}}
    assert released == {"id": "ia-1", "status": {"condition": "UNUSED"}}
    assert fake.calls == [
        (
            "requestBundleInstanceAuthCreation",
            {
                "bundle": "b1",
                "in": {"context": '{"ns": "prod"}', "inputParams": '{"plan": "s"}'},
                "context": "ctx-1",
            },
        ),
        ("requestBundleInstanceAuthDeletion", {"id": "ia-1"}),
    ]
