"""Which application or runtime an object belongs to: the basis of the rule
that applications and runtimes act only on themselves.

A bundle instance auth has one of each: the application whose bundle it is
for, and the runtime that holds it."""

from __future__ import annotations

import enum

from sqlalchemy.ext.asyncio import AsyncSession

from compass.domain.application.repository import ApplicationRepository
from compass.domain.bundle.model import APIDefinitionRow, DocumentRow, EventDefinitionRow
from compass.domain.bundle.repository import BundleRepository, ContentRepository
from compass.domain.bundle_instance_auth.repository import BundleInstanceAuthRepository

__all__ = ["ObjectType", "owning_application", "owning_runtime"]


class ObjectType(enum.Enum):
    APPLICATION = "application"
    WEBHOOK = "webhook"
    BUNDLE = "bundle"
    API_DEFINITION = "api_definition"
    EVENT_DEFINITION = "event_definition"
    DOCUMENT = "document"
    RUNTIME = "runtime"
    BUNDLE_INSTANCE_AUTH = "bundle_instance_auth"


_CONTENT_ROWS = {
    ObjectType.API_DEFINITION: APIDefinitionRow,
    ObjectType.EVENT_DEFINITION: EventDefinitionRow,
    ObjectType.DOCUMENT: DocumentRow,
}


async def owning_application(
    session: AsyncSession, tenant_id: str, object_type: ObjectType, object_id: str
) -> str | None:
    """The ID of the application `object_id` belongs to; None when it does not exist."""
    if object_type is ObjectType.APPLICATION:
        row = await ApplicationRepository(session, tenant_id).get(object_id)
        return None if row is None else row.id
    if object_type is ObjectType.WEBHOOK:
        webhook = await ApplicationRepository(session, tenant_id).get_webhook(object_id)
        return None if webhook is None else webhook.application_id
    bundle_id = object_id
    if object_type is ObjectType.BUNDLE_INSTANCE_AUTH:
        instance_auth = await BundleInstanceAuthRepository(session, tenant_id).get(object_id)
        if instance_auth is None:
            return None
        bundle_id = instance_auth.bundle_id
    elif object_type in _CONTENT_ROWS:
        content = await ContentRepository(session, tenant_id, _CONTENT_ROWS[object_type]).get(
            object_id
        )
        if content is None:
            return None
        bundle_id = content.bundle_id
    bundle = await BundleRepository(session, tenant_id).get(bundle_id)
    return None if bundle is None else bundle.app_id


async def owning_runtime(
    session: AsyncSession, tenant_id: str, object_type: ObjectType, object_id: str
) -> str | None:
    """The ID of the runtime `object_id` belongs to; None when it does not exist.
    A runtime ID names itself (checked by comparison, not looked up)."""
    if object_type is ObjectType.RUNTIME:
        return object_id
    if object_type is ObjectType.BUNDLE_INSTANCE_AUTH:
        row = await BundleInstanceAuthRepository(session, tenant_id).get(object_id)
        return None if row is None else row.runtime_id
    return None
