"""Live subscriptions (graphql-transport-ws): configuration events of one
runtime or one application, authorised as the matching queries."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Annotated, Any

import strawberry

from compass.domain.application.service import ApplicationService
from compass.domain.runtime.service import RuntimeService
from compass.errors import NotFound
from compass.notifications.live import topic
from compass.resolvers.context import Context
from compass.resolvers.guard import authorize
from compass.schema.scalars import JSON, Timestamp
from compass.schema.subscription import ConfigurationEvent

__all__ = ["Subscription"]

Info = strawberry.Info[Context, None]
RuntimeID = Annotated[strawberry.ID, strawberry.argument(name="runtimeID")]
ApplicationID = Annotated[strawberry.ID, strawberry.argument(name="applicationID")]


def _to_type(body: dict[str, Any]) -> ConfigurationEvent:
    runtime = body.get("runtime") if isinstance(body.get("runtime"), dict) else {}
    return ConfigurationEvent(
        id=strawberry.ID(body["id"]),
        type=body["type"],
        time=Timestamp(datetime.fromisoformat(body["time"].replace("Z", "+00:00"))),
        application_id=body.get("applicationID"),
        runtime_id=runtime.get("id"),
        body=JSON(json.dumps(body, sort_keys=True)),
    )


async def _events(
    info: Info, operation: str, service: Any, kind: str, object_id: str
) -> AsyncGenerator[ConfigurationEvent, None]:
    """Authorised as the matching query; then holds no database session while it
    waits, since a subscription lasts long."""
    await authorize(info.context, ("Subscription", operation), {})
    audience = await info.context.audience()
    found = await info.context.run(service, lambda found: found.get(object_id, audience))
    if found is None:
        raise NotFound.of(kind, object_id)
    name = topic(await info.context.tenant_id(), kind, object_id)
    await info.context.close()
    with info.context.state.live.subscription(name) as queue:
        while True:
            yield _to_type(await queue.get())


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="Events that change what the runtime's agent pulls: applications "
        "joining or leaving its scenarios, their content, its instance auths."
    )
    async def runtime_configuration_changed(
        self, info: Info, runtime_id: RuntimeID
    ) -> AsyncGenerator[ConfigurationEvent, None]:
        operation = "runtimeConfigurationChanged"
        async for event in _events(info, operation, RuntimeService, "runtime", runtime_id):
            yield event

    @strawberry.subscription(
        description="The events its webhooks get, and changes of its own content."
    )
    async def application_configuration_changed(
        self, info: Info, application_id: ApplicationID
    ) -> AsyncGenerator[ConfigurationEvent, None]:
        operation = "applicationConfigurationChanged"
        events = _events(info, operation, ApplicationService, "application", application_id)
        async for event in events:
            yield event
