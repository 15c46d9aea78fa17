"""Rules for bundle instance auths: the credentials a runtime obtains for a bundle.

A runtime asks (`request_creation`); when the bundle has a defaultInstanceAuth
the runtime gets a copy at once (SUCCEEDED), otherwise the instance auth is
PENDING and the application is told through its configuration webhooks. The
application answers once, while PENDING, with credentials (SUCCEEDED) or a
refusal (FAILED). When the runtime no longer needs them (`request_deletion`)
credentials the application issued become UNUSED and the application is told
to revoke them and delete the instance auth; anything it never issued (a
default copy, a refusal, a request still waiting) is deleted at once, and a
request still waiting is withdrawn by telling the application too.

Credentials are sealed with the secret box before they reach the row.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from compass.db import utcnow
from compass.domain.application.service import ApplicationService
from compass.domain.audience import EVERYONE, Audience
from compass.domain.bundle.model import BundleRow
from compass.domain.bundle.repository import BundleRepository
from compass.domain.bundle_instance_auth.commands import RequestInstanceAuth, SetInstanceAuth
from compass.domain.bundle_instance_auth.model import BundleInstanceAuthRow
from compass.domain.bundle_instance_auth.repository import BundleInstanceAuthRepository
from compass.domain.label.json_schema import best_error
from compass.domain.runtime.repository import RuntimeRepository
from compass.domain.runtime_context.repository import RuntimeContextRepository
from compass.errors import InvalidData, InvalidOperation, NotFound
from compass.notifications.events import EventType, notify_application
from compass.pki.secret_box import SecretBox

__all__ = [
    "FAILED",
    "PENDING",
    "SUCCEEDED",
    "UNUSED",
    "BundleInstanceAuthService",
    "input_params_violation",
]

PENDING, SUCCEEDED, FAILED, UNUSED = "PENDING", "SUCCEEDED", "FAILED", "UNUSED"

# (message, reason) of the statuses Compass sets itself.
_WAITING = ("Waiting for the application to provide credentials.", "CredentialsNotProvided")
_FROM_DEFAULT = ("Credentials are the bundle's default instance auth.", "CredentialsProvided")
_PROVIDED = ("The application provided credentials.", "CredentialsProvided")
_RELEASED = (
    "The runtime no longer uses the credentials; the application should revoke them.",
    "PendingDeletion",
)


def input_params_violation(schema: Any, params: Any) -> str | None:
    """Why `params` do not satisfy the bundle's request schema; None when they do."""
    if schema is None:
        return None
    if params is None:
        return "the bundle defines instanceAuthRequestInputSchema, so inputParams are required"
    error = best_error(schema, params)
    if error is None:
        return None
    where = "/".join(str(part) for part in error.absolute_path)
    return f"inputParams{'/' + where if where else ''}: {error.message}"


class BundleInstanceAuthService:
    def __init__(self, session: AsyncSession, tenant_id: str, box: SecretBox) -> None:
        self.session = session
        self.tenant_id = tenant_id
        self.box = box
        self.auths = BundleInstanceAuthRepository(session, tenant_id)
        self.bundles = BundleRepository(session, tenant_id)
        self.runtimes = RuntimeRepository(session, tenant_id)
        self.contexts = RuntimeContextRepository(session, tenant_id)
        self.applications = ApplicationService(session, tenant_id)

    async def request_creation(
        self, bundle_id: str, command: RequestInstanceAuth, audience: Audience = EVERYONE
    ) -> BundleInstanceAuthRow:
        """A runtime audience may ask only for bundles of applications it sees
        (sharing a scenario); others get NotFound, as for a missing bundle."""
        bundle = await self._visible_bundle(bundle_id, audience)
        runtime = await self.runtimes.get(command.runtime_id)
        if runtime is None:
            raise NotFound.of("runtime", command.runtime_id)
        await self._check_runtime_context(command)
        problem = input_params_violation(
            bundle.instance_auth_request_input_schema, command.input_params
        )
        if problem is not None:
            raise InvalidData(problem)
        default = bundle.default_instance_auth
        message, reason = _WAITING if default is None else _FROM_DEFAULT
        row = await self.auths.add(
            BundleInstanceAuthRow(
                tenant_id=self.tenant_id,
                bundle_id=bundle.id,
                runtime_id=runtime.id,
                runtime_context_id=command.runtime_context_id,
                context=command.context,
                input_params=command.input_params,
                auth=None if default is None else self.box.seal(default),
                from_default=default is not None,
                status_condition=PENDING if default is None else SUCCEEDED,
                status_message=message,
                status_reason=reason,
                status_timestamp=utcnow(),
            )
        )
        if default is None:
            await self._notify(row, bundle.app_id, EventType.BUNDLE_INSTANCE_AUTH_REQUESTED)
        return row

    async def set_auth(self, auth_id: str, command: SetInstanceAuth) -> BundleInstanceAuthRow:
        row = await self.get_existing(auth_id)
        if row.status_condition != PENDING:
            raise InvalidOperation(
                f"bundle instance auth {auth_id!r} is {row.status_condition}: "
                "credentials can be set only while it is PENDING"
            )
        default_message, default_reason = _PROVIDED
        row.auth = None if command.auth is None else self.box.seal(command.auth)
        row.status_condition = command.condition
        row.status_message = command.message or default_message
        row.status_reason = command.reason or default_reason
        row.status_timestamp = utcnow()
        await self.auths.save(row)
        return row

    async def request_deletion(self, auth_id: str) -> BundleInstanceAuthRow:
        """The runtime gives the credentials back; answers the state before a deletion."""
        row = await self.get_existing(auth_id)
        if row.status_condition == UNUSED:
            return row  # already asked; the application has been told
        if row.from_default or row.status_condition in (PENDING, FAILED):
            if row.status_condition == PENDING:
                application_id = await self.auths.application_of(row)
                if application_id is not None:
                    await self._notify(row, application_id, EventType.BUNDLE_INSTANCE_AUTH_RELEASED)
            await self.auths.delete(row)
            return row
        row.status_condition = UNUSED
        row.status_message, row.status_reason = _RELEASED
        row.status_timestamp = utcnow()
        await self.auths.save(row)
        application_id = await self.auths.application_of(row)
        if application_id is not None:
            await self._notify(row, application_id, EventType.BUNDLE_INSTANCE_AUTH_RELEASED)
        return row

    async def delete(self, auth_id: str) -> BundleInstanceAuthRow:
        row = await self.get_existing(auth_id)
        await self.auths.delete(row)
        return row

    async def get_existing(self, auth_id: str) -> BundleInstanceAuthRow:
        row = await self.auths.get(auth_id)
        if row is None:
            raise NotFound.of("bundle instance auth", auth_id)
        return row

    async def for_bundles(
        self, bundle_ids: list[str], audience: Audience = EVERYONE
    ) -> dict[str, list[BundleInstanceAuthRow]]:
        """A runtime sees its own instance auths, an application those of its bundles."""
        return await self.auths.for_bundles(
            bundle_ids, runtime_id=audience.runtime_id, application_id=audience.application_id
        )

    async def _visible_bundle(self, bundle_id: str, audience: Audience) -> BundleRow:
        bundle = await self.bundles.get(bundle_id)
        if bundle is not None and audience != EVERYONE:
            if await self.applications.get(bundle.app_id, audience) is None:
                bundle = None
        if bundle is None:
            raise NotFound.of("bundle", bundle_id)
        return bundle

    async def _check_runtime_context(self, command: RequestInstanceAuth) -> None:
        if command.runtime_context_id is None:
            return
        context = await self.contexts.get(command.runtime_context_id)
        if context is None or context.runtime_id != command.runtime_id:
            raise NotFound.of("runtime context", command.runtime_context_id)

    async def _notify(
        self, row: BundleInstanceAuthRow, application_id: str, event_type: EventType
    ) -> None:
        runtime = await self.runtimes.get(row.runtime_id)
        await notify_application(
            self.session,
            self.tenant_id,
            application_id,
            event_type,
            {
                "runtime": {"id": row.runtime_id, "name": runtime.name if runtime else None},
                "bundleID": row.bundle_id,
                "instanceAuthID": row.id,
            },
        )
