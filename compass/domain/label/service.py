"""Rules for labels and label definitions.

A label's value must satisfy the JSON Schema of its key's definition; setting
a label whose key has no definition creates one without a schema, unless the
caller may not define labels (see `refuse_implicit_definitions`). Every
tenant has a `scenarios` definition that always allows DEFAULT and cannot be
deleted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from compass.db import dump_json
from compass.domain.label.json_schema import check_json_schema
from compass.domain.label.json_schema import violation as _violation
from compass.domain.label.model import LabelDefinitionRow, LabelRow
from compass.domain.label.repository import LabelDefinitionRepository, LabelRepository, ObjectKind
from compass.domain.label.scenarios import (
    DEFAULT_SCENARIO,
    SCENARIOS_KEY,
    check_scenarios_schema,
    scenarios_schema,
)
from compass.domain.limits import check_json_value, limits_of
from compass.domain.scenario_assignment.repository import ScenarioAssignmentRepository
from compass.domain.validation import check_label_key
from compass.errors import InsufficientScopes, InvalidData, InvalidOperation, NotFound, NotUnique

__all__ = [
    "LabelService",
    "LabelDefinitionService",
    "SYSTEM_LABEL_KEYS",
    "check_json_schema",
    "label_owner",
    "refuse_implicit_definitions",
]

# Keys the Runtime Agent sets on its runtime: their definitions are created on
# first use whoever sets them.
SYSTEM_LABEL_KEYS = frozenset({"runtime_eventServiceUrl", "runtime_consoleUrl"})
_NO_IMPLICIT_DEFINITIONS = "compass.labels.no_implicit_definitions"


def refuse_implicit_definitions(session: AsyncSession) -> None:
    """Labels set in this session may not create definitions: a definition is
    tenant-wide, so applications and runtimes, which act only on themselves,
    must not add one by setting an unknown key."""
    session.info[_NO_IMPLICIT_DEFINITIONS] = True


def label_owner(row: LabelRow) -> str:
    for kind in ObjectKind:
        object_id = getattr(row, kind.value)
        if object_id is not None:
            return f"{kind.title} {object_id}"
    return "unknown object"


class LabelDefinitionService:
    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self.definitions = LabelDefinitionRepository(session, tenant_id)
        self.labels = LabelRepository(session, tenant_id)
        self.assignments = ScenarioAssignmentRepository(session, tenant_id)

    async def ensure_scenarios(self) -> LabelDefinitionRow:
        row = await self.definitions.get(SCENARIOS_KEY)
        if row is None:
            row = await self.definitions.add(SCENARIOS_KEY, scenarios_schema([DEFAULT_SCENARIO]))
        return row

    async def get(self, key: str) -> LabelDefinitionRow | None:
        return await self.definitions.get(key)

    async def list(self) -> list[LabelDefinitionRow]:
        return await self.definitions.list()

    async def create(self, key: str, schema: Any) -> LabelDefinitionRow:
        check_label_key(key)
        self._check_schema(key, schema)
        if await self.definitions.get(key) is not None:
            raise NotUnique(f"label definition {key!r} already exists")
        await self._check_existing_labels(key, schema)
        return await self.definitions.add(key, schema)

    async def update(self, key: str, schema: Any) -> LabelDefinitionRow:
        row = await self.definitions.get(key)
        if row is None:
            raise NotFound(f"label definition {key!r} not found")
        self._check_schema(key, schema)
        if key == SCENARIOS_KEY:
            await self._check_assigned_scenarios(schema)
        await self._check_existing_labels(key, schema)
        row.schema_ = schema
        await self.definitions.save(row)
        return row

    async def delete(self, key: str, delete_related_labels: bool) -> LabelDefinitionRow:
        row = await self.definitions.get(key)
        if row is None:
            raise NotFound(f"label definition {key!r} not found")
        if key == SCENARIOS_KEY:
            raise InvalidOperation("the scenarios label definition cannot be deleted")
        used = await self.labels.with_key(key)
        if used and not delete_related_labels:
            raise InvalidOperation(
                f"label definition {key!r} is used by {len(used)} label(s); "
                "pass deleteRelatedLabels: true to delete them too"
            )
        await self.labels.delete_with_key(key)
        await self.definitions.delete(row)
        return row

    def _check_schema(self, key: str, schema: Any) -> None:
        check_json_schema(schema, max_depth=limits_of(self.definitions.session).json_depth)
        if key == SCENARIOS_KEY:
            check_scenarios_schema(schema)

    async def _check_assigned_scenarios(self, schema: Any) -> None:
        kept = set(schema["items"]["enum"])
        used = [row for row in await self.assignments.all() if row.scenario not in kept]
        if used:
            raise InvalidOperation(
                "scenarios used by automatic scenario assignments cannot be removed: "
                + "; ".join(
                    f"{row.scenario!r} (assigned to runtimes with {row.selector_key}="
                    f"{row.selector_value!r})"
                    for row in used
                )
                + "; delete the assignments first"
            )

    async def _check_existing_labels(self, key: str, schema: Any) -> None:
        offending = [
            f"{label_owner(row)} ({message})"
            for row in await self.labels.with_key(key)
            if (message := _violation(schema, row.value)) is not None
        ]
        if offending:
            raise InvalidData(
                f"the schema does not accept existing {key!r} labels of: " + "; ".join(offending)
            )


class LabelService:
    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self.labels = LabelRepository(session, tenant_id)
        self.definitions = LabelDefinitionService(session, tenant_id)

    async def set(self, kind: ObjectKind, object_id: str, key: str, value: Any) -> LabelRow:
        check_label_key(key)
        if value is None:
            raise InvalidData(f"label {key!r} needs a value")
        self._check_size(key, value)
        definition = await self.definitions.get(key)
        if definition is None and key == SCENARIOS_KEY:
            definition = await self.definitions.ensure_scenarios()
        if definition is None:
            self._check_may_define(key)
            await self.definitions.definitions.add_if_missing(key)
        elif (message := _violation(definition.schema_, value)) is not None:
            raise InvalidData(f"label {key!r} value is invalid: {message}")
        return await self.labels.upsert(kind, object_id, key, value)

    def _check_may_define(self, key: str) -> None:
        if key in SYSTEM_LABEL_KEYS or not self.labels.session.info.get(_NO_IMPLICIT_DEFINITIONS):
            return
        raise InsufficientScopes(
            f"label key {key!r} has no label definition: creating one needs the scope "
            "label_definition:write (an administrator defines the key first)"
        )

    def _check_size(self, key: str, value: Any) -> None:
        limits = limits_of(self.labels.session)
        check_json_value(f"label {key!r} value", value, limits.json_depth)
        size = len(dump_json(value).encode())
        if size > limits.label_value_bytes:
            raise InvalidData(
                f"label {key!r} value is {size} bytes as JSON, over the limit of "
                f"{limits.label_value_bytes} bytes (max_label_value_bytes)"
            )

    async def set_many(self, kind: ObjectKind, object_id: str, labels: Mapping[str, Any]) -> None:
        for key, value in labels.items():
            await self.set(kind, object_id, key, value)

    async def replace(
        self, kind: ObjectKind, object_id: str, labels: Mapping[str, Any], keep: tuple[str, ...]
    ) -> None:
        """Labels become exactly `labels`, except keys in `keep` that `labels` leaves out."""
        await self.labels.delete_for_object(kind, object_id, keep=(*keep, *labels.keys()))
        await self.set_many(kind, object_id, labels)

    async def delete(self, kind: ObjectKind, object_id: str, key: str) -> LabelRow:
        row = await self.labels.get(kind, object_id, key)
        if row is None:
            raise NotFound(f"label {key!r} not found on {kind.title} {object_id}")
        await self.labels.delete(row)
        return row

    async def value(self, kind: ObjectKind, object_id: str, key: str) -> Any:
        """The value of one label; None when the object has no such label."""
        row = await self.labels.get(kind, object_id, key)
        return None if row is None else row.value

    async def of(self, kind: ObjectKind, object_id: str) -> dict[str, Any]:
        rows = await self.labels.for_objects(kind, [object_id])
        return {row.key: row.value for row in rows.get(object_id, [])}
