"""Label and label definition queries, always scoped to one tenant."""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from compass.domain.columns import new_id
from compass.domain.label.filter import LabelCondition, json_array_contains
from compass.domain.label.model import LabelDefinitionRow, LabelRow

__all__ = ["ObjectKind", "LabelRepository", "LabelDefinitionRepository"]


class ObjectKind(enum.Enum):
    """Objects that carry labels, with the label column that points at them."""

    APPLICATION = "app_id"
    RUNTIME = "runtime_id"
    RUNTIME_CONTEXT = "runtime_context_id"

    @property
    def column(self) -> Any:
        return getattr(LabelRow, self.value)

    @property
    def title(self) -> str:
        return self.name.replace("_", " ").lower()


def _dialect(session: AsyncSession) -> str:
    return session.bind.dialect.name  # type: ignore[union-attr]


def _insert(session: AsyncSession) -> Any:
    """The dialect's INSERT, which has ON CONFLICT on both SQLite and PostgreSQL."""
    return postgresql.insert if _dialect(session) == "postgresql" else sqlite.insert


class LabelRepository:
    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self.session = session
        self.tenant_id = tenant_id

    def _base(self) -> sa.Select[tuple[LabelRow]]:
        return sa.select(LabelRow).where(LabelRow.tenant_id == self.tenant_id)

    async def for_objects(self, kind: ObjectKind, ids: Sequence[str]) -> dict[str, list[Any]]:
        """Labels of many objects by key, as read-only rows (key, value, owner):
        pages of objects read them by the thousand, and rows load far faster
        than model objects. Sorted here, not in SQL: an ORDER BY key would lead
        SQLite to the `(tenant_id, key)` index and through every label."""
        result: dict[str, list[Any]] = defaultdict(list)
        if not ids:
            return result
        table = LabelRow.__table__
        rows = await self.session.execute(
            sa.select(table.c.key, table.c.value, kind.column).where(
                LabelRow.tenant_id == self.tenant_id, kind.column.in_(list(ids))
            )
        )
        for row in sorted(rows, key=lambda row: row[0]):
            result[row[2]].append(row)
        return result

    async def get(self, kind: ObjectKind, object_id: str, key: str) -> LabelRow | None:
        return await self.session.scalar(
            self._base().where(kind.column == object_id, LabelRow.key == key)
        )

    async def upsert(self, kind: ObjectKind, object_id: str, key: str, value: Any) -> LabelRow:
        """Insert or update in one statement, so concurrent writers of one label
        both succeed (the last one wins)."""
        await self.session.flush()
        insert = _insert(self.session)(LabelRow).values(
            id=new_id(), tenant_id=self.tenant_id, key=key, value=value, **{kind.value: object_id}
        )
        await self.session.execute(
            insert.on_conflict_do_update(
                index_elements=["key", kind.value], set_={"value": insert.excluded.value}
            )
        )
        row = await self.session.scalar(
            self._base()
            .where(kind.column == object_id, LabelRow.key == key)
            .execution_options(populate_existing=True)
        )
        assert row is not None
        return row

    async def delete(self, row: LabelRow) -> None:
        await self.session.delete(row)
        await self.session.flush()

    async def delete_for_object(
        self, kind: ObjectKind, object_id: str, keep: Iterable[str] = ()
    ) -> None:
        await self.session.execute(
            sa.delete(LabelRow).where(
                LabelRow.tenant_id == self.tenant_id,
                kind.column == object_id,
                LabelRow.key.not_in(list(keep)),
            )
        )

    async def with_key(self, key: str) -> list[LabelRow]:
        return list(await self.session.scalars(self._base().where(LabelRow.key == key)))

    async def delete_with_key(self, key: str) -> None:
        await self.session.execute(
            sa.delete(LabelRow).where(LabelRow.tenant_id == self.tenant_id, LabelRow.key == key)
        )

    def matching(self, kind: ObjectKind, object_id_column: Any, condition: LabelCondition) -> Any:
        """An EXISTS clause: the object in `object_id_column` satisfies `condition`."""
        clauses = [
            LabelRow.tenant_id == self.tenant_id,
            kind.column == object_id_column,
            LabelRow.key == condition.key,
        ]
        if condition.mode == "equals":
            clauses.append(LabelRow.value == condition.equals)
        elif condition.mode == "contains":
            dialect = _dialect(self.session)
            clauses.append(
                sa.or_(
                    *(json_array_contains(dialect, LabelRow.value, v) for v in condition.contains)
                )
            )
        return sa.select(LabelRow.id).where(*clauses).exists()

    def contains_any(
        self, kind: ObjectKind, object_id_column: Any, key: str, values: Sequence[Any]
    ) -> Any:
        """An EXISTS clause: the `key` label is an array sharing an element with `values`."""
        dialect = _dialect(self.session)
        return (
            sa.select(LabelRow.id)
            .where(
                LabelRow.tenant_id == self.tenant_id,
                kind.column == object_id_column,
                LabelRow.key == key,
                sa.or_(*(json_array_contains(dialect, LabelRow.value, v) for v in values)),
            )
            .exists()
        )


class LabelDefinitionRepository:
    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self.session = session
        self.tenant_id = tenant_id

    def _base(self) -> sa.Select[tuple[LabelDefinitionRow]]:
        return sa.select(LabelDefinitionRow).where(LabelDefinitionRow.tenant_id == self.tenant_id)

    async def get(self, key: str) -> LabelDefinitionRow | None:
        return await self.session.scalar(self._base().where(LabelDefinitionRow.key == key))

    async def list(self) -> list[LabelDefinitionRow]:
        return list(await self.session.scalars(self._base().order_by(LabelDefinitionRow.key)))

    async def add(self, key: str, schema: Any) -> LabelDefinitionRow:
        row = LabelDefinitionRow(tenant_id=self.tenant_id, key=key, schema_=schema)
        self.session.add(row)
        await self.session.flush()
        return row

    async def add_if_missing(self, key: str) -> None:
        """A definition without a schema, unless one exists: concurrent first
        uses of a key all succeed (insert or ignore, on SQLite and PostgreSQL)."""
        statement = (
            _insert(self.session)(LabelDefinitionRow)
            .values(id=new_id(), tenant_id=self.tenant_id, key=key)
            .on_conflict_do_nothing(index_elements=["tenant_id", "key"])
        )
        await self.session.execute(statement)

    async def save(self, row: LabelDefinitionRow) -> None:
        await self.session.flush()

    async def delete(self, row: LabelDefinitionRow) -> None:
        await self.session.delete(row)
        await self.session.flush()
