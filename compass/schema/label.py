"""Label definitions: the JSON Schema a label key's values must satisfy."""

from __future__ import annotations

import strawberry

from compass.schema.scalars import JSONSchema

__all__ = ["LabelDefinition", "LabelDefinitionInput"]


@strawberry.type
class LabelDefinition:
    key: str
    schema: JSONSchema | None = None


@strawberry.input
class LabelDefinitionInput:
    key: str
    schema: JSONSchema | None = None
