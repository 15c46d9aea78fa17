from __future__ import annotations

from functools import partial
from typing import Annotated

import strawberry

from compass.domain.application.service import ApplicationLabels, ApplicationService
from compass.domain.label.filter import parse_label_filter
from compass.domain.pagination import DEFAULT_PAGE_SIZE, Page, PageRequest
from compass.resolvers.context import Context
from compass.resolvers.convert import application_to_type, page_of
from compass.resolvers.inputs import register_application_command, update_application_command
from compass.resolvers.selection import selected_names, selects_total_count
from compass.schema.application import (
    Application,
    ApplicationPage,
    ApplicationRegisterInput,
    ApplicationUpdateInput,
)
from compass.schema.common import Label, LabelFilter
from compass.schema.scalars import Any, PageCursor

Info = strawberry.Info[Context, None]
AppID = Annotated[strawberry.ID, strawberry.argument(name="applicationID")]


async def _page_of_applications(info: Info, page: Page[object]) -> ApplicationPage:
    ids = [row.id for row in page.items]
    await info.context.loaders.read_with_applications(ids, selected_names(info, "data"))
    return page_of(ApplicationPage, page, application_to_type)


@strawberry.type
class ApplicationQuery:
    @strawberry.field(description="Applications of the tenant, optionally filtered by labels.")
    async def applications(
        self,
        info: Info,
        filter: list[LabelFilter] | None = None,
        first: int | None = DEFAULT_PAGE_SIZE,
        after: PageCursor | None = None,
    ) -> ApplicationPage:
        conditions = [parse_label_filter(f.key, f.query) for f in filter or []]
        request = PageRequest.of(first, after, selects_total_count(info))
        audience = await info.context.audience()
        page = await info.context.run(
            ApplicationService, lambda service: service.list(conditions, request, audience)
        )
        return await _page_of_applications(info, page)

    @strawberry.field
    async def application(self, info: Info, id: strawberry.ID) -> Application | None:
        audience = await info.context.audience()
        row = await info.context.run(ApplicationService, lambda service: service.get(id, audience))
        return None if row is None else application_to_type(row)

    @strawberry.field(description="Applications sharing at least one scenario with the runtime.")
    async def applications_for_runtime(
        self,
        info: Info,
        runtime_id: Annotated[strawberry.ID, strawberry.argument(name="runtimeID")],
        first: int | None = DEFAULT_PAGE_SIZE,
        after: PageCursor | None = None,
    ) -> ApplicationPage:
        request = PageRequest.of(first, after, selects_total_count(info))
        audience = await info.context.audience()
        page = await info.context.run(
            ApplicationService, lambda service: service.for_runtime(runtime_id, request, audience)
        )
        return await _page_of_applications(info, page)


@strawberry.type
class ApplicationMutation:
    @strawberry.mutation
    async def register_application(
        self, info: Info, in_: Annotated[ApplicationRegisterInput, strawberry.argument(name="in")]
    ) -> Application:
        command = register_application_command(in_)
        with_box = partial(ApplicationService, box=info.context.state.secret_box)
        row = await info.context.run(with_box, lambda service: service.register(command))
        return application_to_type(row)

    @strawberry.mutation
    async def update_application(
        self,
        info: Info,
        id: strawberry.ID,
        in_: Annotated[ApplicationUpdateInput, strawberry.argument(name="in")],
    ) -> Application:
        command = update_application_command(in_)
        row = await info.context.run(
            ApplicationService, lambda service: service.update(id, command)
        )
        return application_to_type(row)

    @strawberry.mutation
    async def unregister_application(self, info: Info, id: strawberry.ID) -> Application:
        # The answer shows what was deleted: load its nested data first.
        await info.context.loaders.application_labels(id, None)
        await info.context.loaders.application_webhooks(id)
        row = await info.context.run(ApplicationService, lambda service: service.unregister(id))
        return application_to_type(row)

    @strawberry.mutation(description="Sets a label, replacing any value the key had.")
    async def set_application_label(
        self,
        info: Info,
        application_id: AppID,
        key: str,
        value: Any,
    ) -> Label:
        row = await info.context.run(
            ApplicationLabels, lambda service: service.set(application_id, key, value)
        )
        return Label(key=row.key, value=row.value)

    @strawberry.mutation
    async def delete_application_label(
        self,
        info: Info,
        application_id: AppID,
        key: str,
    ) -> Label:
        row = await info.context.run(
            ApplicationLabels, lambda service: service.delete(application_id, key)
        )
        return Label(key=row.key, value=row.value)
