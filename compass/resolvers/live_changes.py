"""Live events for changes to an application's registry content.

Any mutation on an application or on what belongs to it (labels, webhooks,
bundles, definitions, documents, instance auths) changes the configuration
its runtimes pull. Which application a mutation touches is read from the
same ownership table that limits applications to themselves, so a new
operation needs one entry there, not code here."""

from __future__ import annotations

from typing import Any

from compass.auth.ownership import SELF_SERVICE_MUTATIONS
from compass.auth.principal import ConsumerType
from compass.domain.ownership import ObjectType, owning_application
from compass.notifications.events import publish_application_change
from compass.notifications.watch import ApplicationWatch

__all__ = ["ApplicationChanges"]

_TARGETS: dict[str, tuple[str, ObjectType] | None] = {
    **SELF_SERVICE_MUTATIONS[ConsumerType.APPLICATION],
    "unregisterApplication": ("id", ObjectType.APPLICATION),
}
# Mutations whose answer is the application they created.
_CREATING = frozenset({"registerApplication", "registerApplicationFromTemplate"})


class ApplicationChanges:
    def __init__(self, context: Any, operation: str, arguments: dict[str, Any]) -> None:
        self._context = context
        self._operation = operation
        self._arguments = arguments
        self._application_id: str | None = None
        self._runtimes: dict[str, str] = {}

    @property
    def relevant(self) -> bool:
        return self._operation in _TARGETS or self._operation in _CREATING

    async def before(self) -> None:
        target = _TARGETS.get(self._operation)
        if target is None:
            return
        argument, object_type = target
        object_id = self._arguments.get(argument)
        if object_id is None:
            return
        tenant_id = await self._context.tenant_id()
        async with self._context.db() as session:
            self._application_id = await owning_application(
                session, tenant_id, object_type, str(object_id)
            )
            if self._application_id is not None:
                watch = ApplicationWatch(session, tenant_id)
                self._runtimes = await watch.runtimes_of(self._application_id)

    async def after(self, result: Any) -> None:
        if self._operation in _CREATING:
            self._application_id = str(getattr(result, "id", "") or "") or None
        if self._application_id is None:
            return
        tenant_id = await self._context.tenant_id()
        async with self._context.db() as session:
            await session.flush()
            now = await ApplicationWatch(session, tenant_id).runtimes_of(self._application_id)
            await publish_application_change(
                session,
                tenant_id,
                self._application_id,
                self._operation,
                set(self._runtimes) | set(now),
            )
