from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from compass.domain.application.model import ApplicationRow, WebhookRow
from compass.domain.label.filter import LabelCondition
from compass.domain.label.repository import LabelRepository, ObjectKind
from compass.domain.label.scenarios import SCENARIOS_KEY
from compass.domain.pagination import Page, PageRequest, paginate
from compass.domain.repository import ConnectableRepository

__all__ = ["ApplicationRepository"]

_COLUMNS = ApplicationRow.__table__.c  # type: ignore[attr-defined]
# The most frequent read, built once: a statement object that is used again
# needs neither building nor a new cache key to find its compiled form.
_BY_ID = sa.select(*_COLUMNS).where(
    _COLUMNS.tenant_id == sa.bindparam("tenant_id"),
    _COLUMNS.id == sa.bindparam("application_id"),
)


class ApplicationRepository(ConnectableRepository[ApplicationRow]):
    row_type = ApplicationRow

    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        super().__init__(session, tenant_id)
        self.labels = LabelRepository(session, tenant_id)

    async def name_taken(self, name: str) -> bool:
        found = await self.session.scalar(
            sa.select(ApplicationRow.id).where(
                ApplicationRow.tenant_id == self.tenant_id, ApplicationRow.name == name
            )
        )
        return found is not None

    def _visible(
        self, application_id: str | None, scenarios: Sequence[str] | None
    ) -> sa.Select[tuple[ApplicationRow]]:
        """The tenant's applications, narrowed to one ID and/or to those sharing
        a scenario with `scenarios` (None: no narrowing; empty: none at all)."""
        statement = self._base()
        if application_id is not None:
            statement = statement.where(ApplicationRow.id == application_id)
        if scenarios is not None:
            statement = statement.where(
                self.labels.contains_any(
                    ObjectKind.APPLICATION, ApplicationRow.id, SCENARIOS_KEY, scenarios
                )
                if scenarios
                else sa.false()
            )
        return statement

    async def page(
        self,
        conditions: Sequence[LabelCondition],
        request: PageRequest,
        *,
        application_id: str | None = None,
        scenarios: Sequence[str] | None = None,
    ) -> Page[ApplicationRow]:
        statement = self._visible(application_id, scenarios).where(
            *(
                self.labels.matching(ObjectKind.APPLICATION, ApplicationRow.id, c)
                for c in conditions
            )
        )
        return await paginate(self.session, statement, ApplicationRow, request, plain_rows=True)

    async def get_visible(self, application_id: str, scenarios: Sequence[str] | None) -> Any:
        """A read-only row of the table's columns (named as the model's fields),
        cheaper than a model object, or None."""
        if scenarios is None:
            parameters = {"tenant_id": self.tenant_id, "application_id": application_id}
            return (await self.session.execute(_BY_ID, parameters)).first()
        statement = self._visible(application_id, scenarios).with_only_columns(*_COLUMNS)
        return (await self.session.execute(statement)).first()

    async def add_webhook(self, row: WebhookRow) -> WebhookRow:
        self.session.add(row)
        await self.session.flush()
        return row

    async def get_webhook(self, webhook_id: str) -> WebhookRow | None:
        return await self.session.scalar(
            sa.select(WebhookRow).where(
                WebhookRow.tenant_id == self.tenant_id, WebhookRow.id == webhook_id
            )
        )

    async def save_webhook(self, row: WebhookRow) -> None:
        await self.session.flush()

    async def delete_webhook(self, row: WebhookRow) -> None:
        await self.session.delete(row)
        await self.session.flush()

    async def webhooks_for(self, application_ids: Sequence[str]) -> dict[str, list[WebhookRow]]:
        result: dict[str, list[WebhookRow]] = defaultdict(list)
        if not application_ids:
            return result
        rows = await self.session.scalars(
            sa.select(WebhookRow)
            .where(
                WebhookRow.tenant_id == self.tenant_id,
                WebhookRow.application_id.in_(list(application_ids)),
            )
            .order_by(WebhookRow.created_at, WebhookRow.id)
        )
        for row in rows:
            result[row.application_id].append(row)
        return result
