from __future__ import annotations

from typing import Annotated

import strawberry

from compass.domain.label.service import LabelDefinitionService
from compass.resolvers.context import Context
from compass.resolvers.convert import label_definition_to_type
from compass.schema.label import LabelDefinition, LabelDefinitionInput
from compass.schema.scalars import parse_json_text

Info = strawberry.Info[Context, None]
In = Annotated[LabelDefinitionInput, strawberry.argument(name="in")]


@strawberry.type
class LabelDefinitionQuery:
    @strawberry.field
    async def label_definitions(self, info: Info) -> list[LabelDefinition]:
        tenant_id = await info.context.tenant_id()
        async with info.context.db() as session:
            rows = await LabelDefinitionService(session, tenant_id).list()
        return [label_definition_to_type(row) for row in rows]

    @strawberry.field
    async def label_definition(self, info: Info, key: str) -> LabelDefinition | None:
        tenant_id = await info.context.tenant_id()
        async with info.context.db() as session:
            row = await LabelDefinitionService(session, tenant_id).get(key)
        return None if row is None else label_definition_to_type(row)


@strawberry.type
class LabelDefinitionMutation:
    @strawberry.mutation
    async def create_label_definition(self, info: Info, in_: In) -> LabelDefinition:
        schema = parse_json_text("schema", in_.schema)
        tenant_id = await info.context.tenant_id()
        async with info.context.db() as session:
            row = await LabelDefinitionService(session, tenant_id).create(in_.key, schema)
        return label_definition_to_type(row)

    @strawberry.mutation(
        description="Refused, naming the objects, when existing labels would not fit the schema."
    )
    async def update_label_definition(self, info: Info, in_: In) -> LabelDefinition:
        schema = parse_json_text("schema", in_.schema)
        tenant_id = await info.context.tenant_id()
        async with info.context.db() as session:
            row = await LabelDefinitionService(session, tenant_id).update(in_.key, schema)
        return label_definition_to_type(row)

    @strawberry.mutation(
        description="Refused while labels use the key, unless `deleteRelatedLabels` is true."
    )
    async def delete_label_definition(
        self, info: Info, key: str, delete_related_labels: bool | None = False
    ) -> LabelDefinition:
        tenant_id = await info.context.tenant_id()
        async with info.context.db() as session:
            row = await LabelDefinitionService(session, tenant_id).delete(
                key, bool(delete_related_labels)
            )
        return label_definition_to_type(row)
