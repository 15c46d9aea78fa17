"""Applications: registration, updates, and who sees which application."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from compass.db import utcnow
from compass.domain.application.commands import RegisterApplication, UpdateApplication
from compass.domain.application.model import ApplicationRow
from compass.domain.application.repository import ApplicationRepository
from compass.domain.application.webhooks import WebhookService
from compass.domain.audience import EVERYONE, Audience
from compass.domain.bundle.service import BundleService
from compass.domain.integration_system.repository import IntegrationSystemRepository
from compass.domain.label.filter import LabelCondition
from compass.domain.label.repository import ObjectKind
from compass.domain.label.scenarios import DEFAULT_SCENARIO, SCENARIOS_KEY, scenario_names
from compass.domain.label.service import LabelService
from compass.domain.pagination import Page, PageRequest
from compass.domain.runtime.repository import RuntimeRepository
from compass.errors import NotFound, NotUnique
from compass.notifications.watch import ApplicationWatch
from compass.pki.secret_box import SecretBox

__all__ = ["ApplicationLabels", "ApplicationService", "INITIAL"]

INITIAL = "INITIAL"


class ApplicationService:
    def __init__(self, session: AsyncSession, tenant_id: str, box: SecretBox | None = None) -> None:
        self.session = session
        self.tenant_id = tenant_id
        self.webhooks = WebhookService(session, tenant_id, box)
        self.applications = ApplicationRepository(session, tenant_id)
        self.runtimes = RuntimeRepository(session, tenant_id)
        self.labels = LabelService(session, tenant_id)
        self.integration_systems = IntegrationSystemRepository(session)

    async def register(self, command: RegisterApplication) -> ApplicationRow:
        if await self.applications.name_taken(command.name):
            raise NotUnique(f"an application named {command.name!r} already exists")
        await self._check_integration_system(command.integration_system_id)
        now = utcnow()
        row = await self.applications.add(
            ApplicationRow(
                tenant_id=self.tenant_id,
                name=command.name,
                description=command.description,
                provider_name=command.provider_name,
                health_check_url=command.health_check_url,
                integration_system_id=command.integration_system_id,
                status_condition=command.status_condition or INITIAL,
                status_timestamp=now,
                created_at=now,
            )
        )
        labels = dict(command.labels)
        labels.setdefault(SCENARIOS_KEY, [DEFAULT_SCENARIO])
        await self.labels.set_many(ObjectKind.APPLICATION, row.id, labels)
        for webhook in command.webhooks:
            # Their secrets are shown by rotateWebhookSigningSecret.
            await self.applications.add_webhook(self.webhooks.new_row(row.id, webhook)[0])
        bundles = BundleService(self.session, self.tenant_id)
        for bundle in command.bundles:
            await bundles.create_in(row.id, bundle)
        return row

    async def update(self, application_id: str, command: UpdateApplication) -> ApplicationRow:
        row = await self.get_existing(application_id)
        await self._check_integration_system(command.integration_system_id)
        row.provider_name = command.provider_name
        row.description = command.description
        row.health_check_url = command.health_check_url
        row.integration_system_id = command.integration_system_id
        if command.status_condition is not None:
            row.status_condition = command.status_condition
            row.status_timestamp = utcnow()
        await self.applications.save(row)
        return row

    async def unregister(self, application_id: str) -> ApplicationRow:
        row = await self.get_existing(application_id)
        await self.applications.delete(row)
        return row

    async def get(self, application_id: str, audience: Audience = EVERYONE) -> Any:
        """The application as `audience` may see it, a read-only row; or None."""
        if audience.application_id not in (None, application_id):
            return None
        return await self.applications.get_visible(
            application_id, await self._audience_scenarios(audience)
        )

    async def get_existing(self, application_id: str) -> ApplicationRow:
        row = await self.applications.get(application_id)
        if row is None:
            raise NotFound.of("application", application_id)
        return row

    async def list(
        self,
        conditions: Sequence[LabelCondition],
        request: PageRequest,
        audience: Audience = EVERYONE,
    ) -> Page[ApplicationRow]:
        return await self.applications.page(
            conditions,
            request,
            application_id=audience.application_id,
            scenarios=await self._audience_scenarios(audience),
        )

    async def for_runtime(
        self, runtime_id: str, request: PageRequest, audience: Audience = EVERYONE
    ) -> Page[ApplicationRow]:
        """Applications sharing at least one scenario with the runtime."""
        if audience.runtime_id not in (None, runtime_id):
            raise NotFound.of("runtime", runtime_id)
        if await self.runtimes.get(runtime_id) is None:
            raise NotFound.of("runtime", runtime_id)
        scenarios = await self._runtime_scenarios(runtime_id)
        return await self.applications.page([], request, scenarios=scenarios)

    async def mark_connected(self, application_id: str) -> bool:
        return await self.applications.mark_connected(application_id, utcnow())

    async def _runtime_scenarios(self, runtime_id: str) -> list[str]:
        labels = await self.labels.of(ObjectKind.RUNTIME, runtime_id)
        return scenario_names(labels.get(SCENARIOS_KEY))

    async def _audience_scenarios(self, audience: Audience) -> list[str] | None:
        """A runtime sees the applications of its scenarios; others are not narrowed."""
        if audience.runtime_id is None:
            return None
        return await self._runtime_scenarios(audience.runtime_id)

    async def _check_integration_system(self, integration_system_id: str | None) -> None:
        if integration_system_id is None:
            return
        if await self.integration_systems.get(integration_system_id) is None:
            raise NotFound.of("integration system", integration_system_id)


class ApplicationLabels:
    """Labels of one tenant's applications; the application must exist."""

    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self.applications = ApplicationService(session, tenant_id)
        self.labels = LabelService(session, tenant_id)
        self.watch = ApplicationWatch(session, tenant_id)

    async def set(self, application_id: str, key: str, value: object):
        await self.applications.get_existing(application_id)
        async with self._watching(application_id, key):
            return await self.labels.set(ObjectKind.APPLICATION, application_id, key, value)

    async def delete(self, application_id: str, key: str):
        await self.applications.get_existing(application_id)
        async with self._watching(application_id, key):
            return await self.labels.delete(ObjectKind.APPLICATION, application_id, key)

    def _watching(self, application_id: str, key: str) -> AbstractAsyncContextManager[None]:
        """Only its scenarios decide which runtimes an application shares."""
        if key != SCENARIOS_KEY:
            return nullcontext()
        return self.watch.watching(application_id)
