from __future__ import annotations

from typing import Annotated

import strawberry

from compass.auth.grants import steward_of
from compass.domain.application.service import ApplicationService
from compass.domain.application_template.service import ApplicationTemplateService
from compass.domain.pagination import DEFAULT_PAGE_SIZE, PageRequest
from compass.resolvers.application_template_inputs import (
    application_template_command,
    register_command_from_json,
    template_values,
)
from compass.resolvers.context import Context
from compass.resolvers.convert import application_template_to_type, application_to_type, page_of
from compass.schema.application import Application
from compass.schema.application_template import (
    ApplicationFromTemplateInput,
    ApplicationTemplate,
    ApplicationTemplateInput,
    ApplicationTemplatePage,
)
from compass.schema.scalars import PageCursor

Info = strawberry.Info[Context, None]
In = Annotated[ApplicationTemplateInput, strawberry.argument(name="in")]


@strawberry.type
class ApplicationTemplateQuery:
    @strawberry.field(description="Every application template (they belong to no tenant).")
    async def application_templates(
        self,
        info: Info,
        first: int | None = DEFAULT_PAGE_SIZE,
        after: PageCursor | None = None,
    ) -> ApplicationTemplatePage:
        request = PageRequest.of(first, after)
        async with info.context.db() as session:
            page = await ApplicationTemplateService(session).list(request)
        return page_of(ApplicationTemplatePage, page, application_template_to_type)

    @strawberry.field
    async def application_template(
        self, info: Info, id: strawberry.ID
    ) -> ApplicationTemplate | None:
        async with info.context.db() as session:
            row = await ApplicationTemplateService(session).get(id)
        return None if row is None else application_template_to_type(row)


@strawberry.type
class ApplicationTemplateMutation:
    @strawberry.mutation
    async def create_application_template(self, info: Info, in_: In) -> ApplicationTemplate:
        command = application_template_command(in_, info.schema)
        steward = await steward_of(info.context)
        async with info.context.db() as session:
            row = await ApplicationTemplateService(session).create(command, steward)
        return application_template_to_type(row)

    @strawberry.mutation(
        description="Replaces the whole template (the creating tenant's administrators, "
        "or those of every tenant)."
    )
    async def update_application_template(
        self, info: Info, id: strawberry.ID, in_: In
    ) -> ApplicationTemplate:
        command = application_template_command(in_, info.schema)
        steward = await steward_of(info.context)
        async with info.context.db() as session:
            row = await ApplicationTemplateService(session).update(id, command, steward)
        return application_template_to_type(row)

    @strawberry.mutation(description="Deletes the template; applications made from it stay.")
    async def delete_application_template(
        self, info: Info, id: strawberry.ID
    ) -> ApplicationTemplate:
        steward = await steward_of(info.context)
        async with info.context.db() as session:
            row = await ApplicationTemplateService(session).delete(id, steward)
        return application_template_to_type(row)

    @strawberry.mutation(
        description="Registers an application in the caller's tenant from the named "
        "template, with a value for each of its placeholders."
    )
    async def register_application_from_template(
        self,
        info: Info,
        in_: Annotated[ApplicationFromTemplateInput, strawberry.argument(name="in")],
    ) -> Application:
        values = template_values(in_)
        tenant_id = await info.context.tenant_id()
        async with info.context.db() as session:
            application_input = await ApplicationTemplateService(session).render(
                in_.template_name, values
            )
        command = register_command_from_json(info.schema, application_input)
        async with info.context.db() as session:
            row = await ApplicationService(session, tenant_id).register(command)
        return application_to_type(row)
