"""What the agent asks the Director, over mutual TLS, as the runtime itself.

`report` does what the Kyma runtime agent does: set the URL labels that differ
and mark the runtime CONNECTED, writing back its name, description and labels
(scenarios included) unchanged. `applications` reads every application of the
runtime's scenarios with bundles, definitions, documents and the runtime's own
bundle instance auths (credentials), following every page.
`request_instance_auth` and `release_instance_auth` ask for credentials to a
bundle and give them back, as the runtime itself. The selections were checked
against the committed schema.graphql.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from compass.agent.graphql import ServerError, call

__all__ = [
    "BUNDLE_INSTANCE_AUTHS",
    "CONSOLE_URL_LABEL",
    "EVENTS_URL_LABEL",
    "Director",
]

EVENTS_URL_LABEL = "runtime_eventServiceUrl"
CONSOLE_URL_LABEL = "runtime_consoleUrl"
CONNECTED = "CONNECTED"
PAGE_SIZE = 100
PAGE_INFO = "pageInfo { hasNextPage endCursor }"

# A runtime sees only its own instance auths, credentials included.
_CREDENTIAL = (
    "... on BasicCredentialData { username password } "
    "... on OAuthCredentialData { clientId clientSecret url }"
)
_INSTANCE_AUTH_STATUS = "status { condition timestamp message reason }"
BUNDLE_INSTANCE_AUTHS = (
    f"instanceAuths {{ id context inputParams {_INSTANCE_AUTH_STATUS} "
    f"auth {{ credential {{ {_CREDENTIAL} }} additionalHeaders additionalQueryParams }} "
    "runtimeID runtimeContextID }"
)

_DEFINITIONS = {
    "apiDefinitions": "id name description targetURL group spec { data format type } "
    "version { value }",
    "eventDefinitions": "id name description group spec { data format type } version { value }",
    "documents": "id title displayName description format kind data",
}
_BUNDLE = " ".join(
    [
        "id name description instanceAuthRequestInputSchema",
        *(
            f"{name}(first: {PAGE_SIZE}) {{ {PAGE_INFO} data {{ {fields} }} }}"
            for name, fields in _DEFINITIONS.items()
        ),
        BUNDLE_INSTANCE_AUTHS,
    ]
).strip()
_BUNDLES = f"totalCount {PAGE_INFO} data {{ {_BUNDLE} }}"
_APPLICATION = (
    "id name description providerName labels status { condition } "
    f"eventingConfiguration {{ defaultURL }} bundles(first: {PAGE_SIZE}) {{ {_BUNDLES} }}"
)
APPLICATIONS = (
    "query($id: ID!, $after: PageCursor) { applicationsForRuntime("
    f"runtimeID: $id, first: {PAGE_SIZE}, after: $after) "
    f"{{ totalCount {PAGE_INFO} data {{ {_APPLICATION} }} }} }}"
)
MORE_BUNDLES = (
    "query($app: ID!, $after: PageCursor) { application(id: $app) { "
    f"bundles(first: {PAGE_SIZE}, after: $after) {{ {_BUNDLES} }} }} }}"
)
MORE_DEFINITIONS = {
    name: "query($app: ID!, $bundle: ID!, $after: PageCursor) { application(id: $app) { "
    f"bundle(id: $bundle) {{ {name}(first: {PAGE_SIZE}, after: $after) "
    f"{{ {PAGE_INFO} data {{ {fields} }} }} }} }} }}"
    for name, fields in _DEFINITIONS.items()
}
RUNTIME = "query($id: ID!) { runtime(id: $id) { id name description labels status { condition } } }"
SET_LABEL = """mutation($id: ID!, $key: String!, $value: Any!) {
  setRuntimeLabel(runtimeID: $id, key: $key, value: $value) { key } }"""
UPDATE_RUNTIME = """mutation($id: ID!, $in: RuntimeInput!) {
  updateRuntime(id: $id, in: $in) { id status { condition } } }"""
REQUEST_INSTANCE_AUTH = f"""mutation($bundle: ID!, $in: BundleInstanceAuthRequestInput!,
  $context: ID) {{ requestBundleInstanceAuthCreation(bundleID: $bundle, in: $in,
  runtimeContextID: $context) {{ id {_INSTANCE_AUTH_STATUS} }} }}"""
RELEASE_INSTANCE_AUTH = f"""mutation($id: ID!) {{
  requestBundleInstanceAuthDeletion(authID: $id) {{ id {_INSTANCE_AUTH_STATUS} }} }}"""

Page = dict[str, Any]


async def _all_items(first: Page | None, more: Callable[[str], Awaitable[Page | None]]) -> list:
    """Items of `first` and of every following page `more(cursor)` returns."""
    if first is None:
        return []
    items, info, seen = list(first["data"]), first["pageInfo"], set()
    while info["hasNextPage"]:
        cursor = info["endCursor"]
        if cursor in seen:
            raise ServerError("the Director returned the same page cursor twice")
        seen.add(cursor)
        page = await more(cursor)
        if page is None:
            raise ServerError("an application or bundle vanished during the sync")
        items += page["data"]
        info = page["pageInfo"]
    return items


class Director:
    def __init__(
        self, client: httpx.AsyncClient, url: str, runtime_id: str, headers: dict[str, str]
    ) -> None:
        self.client = client
        self.url = url
        self.runtime_id = runtime_id
        self.headers = headers

    async def _data(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        return await call(self.client, self.url, query, variables, self.headers)

    async def report(self, events_url: str | None, console_url: str | None) -> bool:
        """Mark the runtime CONNECTED with its URL labels, when it is not yet;
        True when something was written."""
        runtime = (await self._data(RUNTIME, {"id": self.runtime_id}))["runtime"]
        if runtime is None:
            raise ServerError(f"runtime {self.runtime_id} is not visible with this certificate")
        labels = dict(runtime.get("labels") or {})
        wanted = {
            key: value
            for key, value in ((EVENTS_URL_LABEL, events_url), (CONSOLE_URL_LABEL, console_url))
            if value
        }
        differing = {key: value for key, value in wanted.items() if labels.get(key) != value}
        if not differing and runtime["status"]["condition"] == CONNECTED:
            return False
        for key, value in differing.items():
            await self._data(SET_LABEL, {"id": self.runtime_id, "key": key, "value": value})
        labels.update(wanted)
        update = {
            "name": runtime["name"],
            "description": runtime.get("description"),
            "labels": labels,
            "statusCondition": CONNECTED,
        }
        await self._data(UPDATE_RUNTIME, {"id": self.runtime_id, "in": update})
        return True

    async def request_instance_auth(
        self,
        bundle_id: str,
        context: str | None,
        input_params: str | None,
        runtime_context_id: str | None = None,
    ) -> dict[str, Any]:
        """Ask for credentials to a bundle's APIs for this runtime; `context` and
        `input_params` are JSON text. The new instance auth (id and status)."""
        variables = {
            "bundle": bundle_id,
            "in": {"context": context, "inputParams": input_params},
            "context": runtime_context_id,
        }
        return (await self._data(REQUEST_INSTANCE_AUTH, variables))[
            "requestBundleInstanceAuthCreation"
        ]

    async def release_instance_auth(self, auth_id: str) -> dict[str, Any]:
        """Give credentials back: the instance auth turns UNUSED, or is deleted at
        once when nothing was issued. Its last state (id and status)."""
        return (await self._data(RELEASE_INSTANCE_AUTH, {"id": auth_id}))[
            "requestBundleInstanceAuthDeletion"
        ]

    async def applications(self) -> list[dict[str, Any]]:
        """Every application of the runtime's scenarios, every nested page merged
        in (the stored copy keeps `totalCount` and `data`, not cursors)."""

        async def more(cursor: str | None) -> Page:
            variables = {"id": self.runtime_id, "after": cursor}
            return (await self._data(APPLICATIONS, variables))["applicationsForRuntime"]

        first = await more(None)
        return [await self._complete(application) for application in await _all_items(first, more)]

    async def _complete(self, application: dict[str, Any]) -> dict[str, Any]:
        application_id = application["id"]

        async def more_bundles(cursor: str) -> Page | None:
            variables = {"app": application_id, "after": cursor}
            found = (await self._data(MORE_BUNDLES, variables))["application"]
            return found["bundles"] if found else None

        page = application.get("bundles")
        bundles = await _all_items(page, more_bundles)
        application["bundles"] = {
            "totalCount": page["totalCount"] if page else 0,
            "data": [await self._complete_bundle(application_id, bundle) for bundle in bundles],
        }
        return application

    async def _complete_bundle(self, application_id: str, bundle: dict[str, Any]) -> dict:
        for name, query in MORE_DEFINITIONS.items():

            async def more(cursor: str, name: str = name, query: str = query) -> Page | None:
                variables = {"app": application_id, "bundle": bundle["id"], "after": cursor}
                found = (await self._data(query, variables))["application"]
                found = found["bundle"] if found else None
                return found[name] if found else None

            bundle[name] = {"data": await _all_items(bundle.get(name), more)}
        return bundle
