from __future__ import annotations

from typing import Annotated

import strawberry

from compass.domain.label.service import LabelDefinitionService
from compass.domain.scenario_assignment.service import LabelKeyDeletion
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
        rows = await info.context.run(LabelDefinitionService, lambda service: service.list())
        return [label_definition_to_type(row) for row in rows]

    @strawberry.field
    async def label_definition(self, info: Info, key: str) -> LabelDefinition | None:
        row = await info.context.run(LabelDefinitionService, lambda service: service.get(key))
        return None if row is None else label_definition_to_type(row)


@strawberry.type
class LabelDefinitionMutation:
    @strawberry.mutation
    async def create_label_definition(self, info: Info, in_: In) -> LabelDefinition:
        schema = parse_json_text("schema", in_.schema)
        row = await info.context.run(
            LabelDefinitionService, lambda service: service.create(in_.key, schema)
        )
        return label_definition_to_type(row)

    @strawberry.mutation(
        description="Refused, naming the objects, when existing labels would not fit the schema."
    )
    async def update_label_definition(self, info: Info, in_: In) -> LabelDefinition:
        schema = parse_json_text("schema", in_.schema)
        row = await info.context.run(
            LabelDefinitionService, lambda service: service.update(in_.key, schema)
        )
        return label_definition_to_type(row)

    @strawberry.mutation(
        description="Refused while labels use the key, unless `deleteRelatedLabels` is true."
    )
    async def delete_label_definition(
        self, info: Info, key: str, delete_related_labels: bool | None = False
    ) -> LabelDefinition:
        row = await info.context.run(
            LabelKeyDeletion, lambda service: service.delete(key, bool(delete_related_labels))
        )
        return label_definition_to_type(row)
