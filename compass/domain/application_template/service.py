"""Application templates: registration inputs with placeholders, shared by all tenants."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from compass.db import utcnow
from compass.domain.application_template.commands import ApplicationTemplateCommand
from compass.domain.application_template.model import ApplicationTemplateRow
from compass.domain.application_template.placeholders import (
    check_placeholders,
    check_values,
    fill,
)
from compass.domain.application_template.repository import ApplicationTemplateRepository
from compass.domain.integration_system.steward import EVERY_TENANT, Steward
from compass.domain.pagination import Page, PageRequest
from compass.errors import NotFound, NotUnique, Unauthorized

__all__ = ["ApplicationTemplateService", "GLOBAL"]

GLOBAL = "GLOBAL"
_WHAT = "application template"


def _check_integration_system(command: ApplicationTemplateCommand, steward: Steward) -> None:
    """An application naming an integration system grants it the application's
    tenant; a template used across tenants must not hand out that grant for
    the tenant that made it."""
    if "integrationSystemID" in command.application_input and not steward.every_tenant:
        raise Unauthorized(
            "only an administrator of every tenant may name an integration system in a "
            "template: applications made from it grant the system their tenant"
        )


def _placeholders(command: ApplicationTemplateCommand) -> list[dict[str, Any]]:
    check_placeholders([p.name for p in command.placeholders], command.application_input)
    return [{"name": p.name, "description": p.description} for p in command.placeholders]


class ApplicationTemplateService:
    def __init__(self, session: AsyncSession) -> None:
        self.templates = ApplicationTemplateRepository(session)

    async def create(
        self, command: ApplicationTemplateCommand, steward: Steward = EVERY_TENANT
    ) -> ApplicationTemplateRow:
        _check_integration_system(command, steward)
        placeholders = _placeholders(command)
        await self._check_name_free(command.name)
        return await self.templates.add(
            ApplicationTemplateRow(
                name=command.name,
                description=command.description,
                application_input=json.dumps(command.application_input, ensure_ascii=False),
                placeholders=placeholders,
                access_level=command.access_level,
                created_at=utcnow(),
                created_by_tenant_id=steward.tenant_id,
            )
        )

    async def update(
        self,
        template_id: str,
        command: ApplicationTemplateCommand,
        steward: Steward = EVERY_TENANT,
    ) -> ApplicationTemplateRow:
        row = await self.get_existing(template_id)
        steward.check_change(_WHAT, row.created_by_tenant_id)
        _check_integration_system(command, steward)
        placeholders = _placeholders(command)
        await self._check_name_free(command.name, except_id=template_id)
        row.name = command.name
        row.description = command.description
        row.application_input = json.dumps(command.application_input, ensure_ascii=False)
        row.placeholders = placeholders
        row.access_level = command.access_level
        await self.templates.save(row)
        return row

    async def delete(
        self, template_id: str, steward: Steward = EVERY_TENANT
    ) -> ApplicationTemplateRow:
        row = await self.get_existing(template_id)
        steward.check_change(_WHAT, row.created_by_tenant_id)
        await self.templates.delete(row)
        return row

    async def get(self, template_id: str) -> ApplicationTemplateRow | None:
        return await self.templates.get(template_id)

    async def get_existing(self, template_id: str) -> ApplicationTemplateRow:
        row = await self.templates.get(template_id)
        if row is None:
            raise NotFound.of(_WHAT, template_id)
        return row

    async def list(self, request: PageRequest) -> Page[ApplicationTemplateRow]:
        return await self.templates.page(request)

    async def render(self, template_name: str, values: dict[str, str]) -> dict[str, Any]:
        """The template's application input with every placeholder filled in."""
        row = await self.templates.by_name(template_name)
        if row is None:
            raise NotFound(f"application template named {template_name!r} not found")
        check_values([p["name"] for p in row.placeholders], values)
        return fill(json.loads(row.application_input), values)

    async def _check_name_free(self, name: str, except_id: str | None = None) -> None:
        if await self.templates.name_taken(name, except_id=except_id):
            raise NotUnique(f"an application template named {name!r} already exists")
