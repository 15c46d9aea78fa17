from __future__ import annotations

from typing import Annotated

import strawberry

from compass.domain.eventing.service import EventingService
from compass.resolvers.context import Context
from compass.schema.eventing import ApplicationEventingConfiguration

Info = strawberry.Info[Context, None]
AppID = Annotated[str, strawberry.argument(name="appID")]
RuntimeID = Annotated[str, strawberry.argument(name="runtimeID")]


@strawberry.type
class EventingMutation:
    @strawberry.mutation(
        description="Makes the runtime, which must share a scenario with the application, "
        "the one the application publishes its events to."
    )
    async def set_default_eventing_for_application(
        self, info: Info, app_id: AppID, runtime_id: RuntimeID
    ) -> ApplicationEventingConfiguration:
        url = await info.context.run(
            EventingService, lambda service: service.set_default(app_id, runtime_id)
        )
        return ApplicationEventingConfiguration(default_url=url)

    @strawberry.mutation(
        description="Forgets the explicit choice (the oldest runtime of the application's "
        "scenarios with an event gateway is used again); returns the configuration removed."
    )
    async def delete_default_eventing_for_application(
        self, info: Info, app_id: AppID
    ) -> ApplicationEventingConfiguration:
        url = await info.context.run(
            EventingService, lambda service: service.delete_default(app_id)
        )
        return ApplicationEventingConfiguration(default_url=url)
