"""Queries for bundles, their contents and fetch requests, scoped to one tenant."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from compass.domain.bundle.model import (
    APIDefinitionRow,
    BundleRow,
    DocumentRow,
    EventDefinitionRow,
    FetchRequestRow,
)
from compass.domain.repository import TenantRepository

__all__ = ["BundleRepository", "ContentRepository", "FetchRequestRepository", "OWNER_COLUMNS"]

Row = TypeVar("Row", BundleRow, APIDefinitionRow, EventDefinitionRow, DocumentRow)

# The fetch request column that points at each kind of owner.
OWNER_COLUMNS: dict[type, str] = {
    APIDefinitionRow: "api_definition_id",
    EventDefinitionRow: "event_definition_id",
    DocumentRow: "document_id",
}


class _ChildRows(TenantRepository[Row]):
    parent_column: str

    async def for_parents(
        self, parent_ids: Sequence[str], group: str | None = None
    ) -> dict[str, list[Any]]:
        """Rows of every parent in creation order; one statement for all parents.
        Read-only tuples of the table's columns (named as the model's fields):
        a page of applications reads thousands, far faster than model objects."""
        result: dict[str, list[Any]] = defaultdict(list)
        if not parent_ids:
            return result
        columns = self.row_type.__table__.c
        statement = self._base_rows().where(columns[self.parent_column].in_(list(parent_ids)))
        if group is not None:
            statement = statement.where(columns.group_name == group)
        rows = await self.session.execute(statement.order_by(columns.created_at, columns.id))
        for row in rows:
            result[getattr(row, self.parent_column)].append(row)
        return result


class BundleRepository(_ChildRows[BundleRow]):
    row_type = BundleRow
    parent_column = "app_id"


class ContentRepository(_ChildRows[Row]):
    """API definitions, event definitions or documents, by the row type given."""

    parent_column = "bundle_id"

    def __init__(self, session: AsyncSession, tenant_id: str, row_type: type[Row]) -> None:
        super().__init__(session, tenant_id)
        self.row_type = row_type


class FetchRequestRepository:
    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self.session = session
        self.tenant_id = tenant_id

    def _base(self) -> sa.Select[tuple[FetchRequestRow]]:
        return sa.select(FetchRequestRow).where(FetchRequestRow.tenant_id == self.tenant_id)

    async def get(self, fetch_request_id: str) -> FetchRequestRow | None:
        return await self.session.scalar(self._base().where(FetchRequestRow.id == fetch_request_id))

    async def for_owners(
        self, owner_type: type, owner_ids: Sequence[str]
    ) -> dict[str, FetchRequestRow]:
        if not owner_ids:
            return {}
        column_name = OWNER_COLUMNS[owner_type]
        column = getattr(FetchRequestRow, column_name)
        rows = await self.session.scalars(self._base().where(column.in_(list(owner_ids))))
        return {getattr(row, column_name): row for row in rows}

    async def replace(self, owner_type: type, owner_id: str, row: FetchRequestRow | None) -> None:
        """The owner's fetch request becomes `row` (or none)."""
        column = getattr(FetchRequestRow, OWNER_COLUMNS[owner_type])
        await self.session.execute(
            sa.delete(FetchRequestRow).where(
                FetchRequestRow.tenant_id == self.tenant_id, column == owner_id
            )
        )
        if row is not None:
            setattr(row, OWNER_COLUMNS[owner_type], owner_id)
            self.session.add(row)
        await self.session.flush()

    async def save(self, row: FetchRequestRow) -> None:
        await self.session.flush()
