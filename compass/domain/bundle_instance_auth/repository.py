"""Queries for bundle instance auths, scoped to one tenant."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa

from compass.domain.bundle.model import BundleRow
from compass.domain.bundle_instance_auth.model import BundleInstanceAuthRow
from compass.domain.repository import TenantRepository

__all__ = ["BundleInstanceAuthRepository"]

Row = BundleInstanceAuthRow


class BundleInstanceAuthRepository(TenantRepository[BundleInstanceAuthRow]):
    row_type = BundleInstanceAuthRow

    async def for_bundles(
        self,
        bundle_ids: Sequence[str],
        *,
        runtime_id: str | None = None,
        application_id: str | None = None,
    ) -> dict[str, list[BundleInstanceAuthRow]]:
        """Instance auths of every bundle in creation order, in one statement;
        narrowed to one runtime's and/or to bundles of one application."""
        result: dict[str, list[BundleInstanceAuthRow]] = defaultdict(list)
        if not bundle_ids:
            return result
        statement = self._base().where(Row.bundle_id.in_(list(bundle_ids)))
        if runtime_id is not None:
            statement = statement.where(Row.runtime_id == runtime_id)
        if application_id is not None:
            statement = statement.join(BundleRow, BundleRow.id == Row.bundle_id).where(
                BundleRow.app_id == application_id
            )
        rows = await self.session.scalars(statement.order_by(Row.created_at, Row.id))
        for row in rows:
            result[row.bundle_id].append(row)
        return result

    async def application_of(self, row: BundleInstanceAuthRow) -> str | None:
        """The application whose bundle the instance auth is for."""
        return await self.session.scalar(
            sa.select(BundleRow.app_id).where(
                BundleRow.tenant_id == self.tenant_id, BundleRow.id == row.bundle_id
            )
        )
