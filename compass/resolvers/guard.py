"""One check in front of every root operation: credentials, scopes, tenant,
what applications and runtimes may do to themselves, and for mutations the
unit of work (commit once on success, else roll back)."""

from __future__ import annotations

import inspect
import time
from datetime import timedelta
from typing import Any

from strawberry.extensions import SchemaExtension

from compass.auth.consumers import CONNECTOR_OPERATIONS, WRITING_QUERIES
from compass.auth.grants import check_integration_system
from compass.auth.ownership import OWN_QUERIES, SELF_SERVICE_MUTATIONS, scenarios_written
from compass.auth.principal import ConsumerType, Principal
from compass.auth.scopes import TENANTLESS_OPERATIONS, required_scopes
from compass.domain.application.service import ApplicationService
from compass.domain.label.repository import ObjectKind
from compass.domain.label.scenarios import SCENARIOS_KEY
from compass.domain.label.service import LabelService, refuse_implicit_definitions
from compass.domain.ownership import ObjectType, owning_application, owning_runtime
from compass.domain.runtime.service import SEEN_REFRESH, RuntimeService
from compass.errors import InsufficientScopes, NotFound, Unauthorized
from compass.metrics import record_execution
from compass.notifications.outbox import PENDING_FLAG
from compass.resolvers.errors import present_errors
from compass.resolvers.limits import check_arguments
from compass.resolvers.live_changes import ApplicationChanges

__all__ = ["OperationGuard", "authorize"]

_ROOTS = ("Query", "Mutation")
_LABELLED_KINDS = {
    ConsumerType.APPLICATION: ObjectKind.APPLICATION,
    ConsumerType.RUNTIME: ObjectKind.RUNTIME,
}
_MISSING = object()
_LABEL_DEFINITION_WRITE = "label_definition:write"
# Who owns an object, as seen by each kind of self-service caller.
_OWNER_OF = {
    ConsumerType.APPLICATION: owning_application,
    ConsumerType.RUNTIME: owning_runtime,
}


def _seen_refresh(settings: Any) -> timedelta:
    """How stale a runtime's "last seen" may get: well within the time after
    which its agent counts as disconnected."""
    return min(SEEN_REFRESH, timedelta(seconds=settings.agent_disconnected_after_seconds / 4))


async def _await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


class OperationGuard(SchemaExtension):
    """The one extension around operations and fields (one layer, as each
    costs a call on every field): arguments checked, root fields guarded,
    running resolvers reported to the context, whose session must outlive
    them all; when the operation ends, the session closed, the errors
    presented as clients get them and the operation counted and timed."""

    def __init__(self, *, max_json_depth: int) -> None:
        self.max_json_depth = max_json_depth

    async def on_operation(self) -> Any:
        started = time.perf_counter()
        yield
        context = self.execution_context
        await context.context.close()
        present_errors(context.result)
        record_execution(context, time.perf_counter() - started)

    def resolve(self, _next: Any, root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
        if kwargs:
            check_arguments(info.field_name, kwargs, self.max_json_depth)
        if info.parent_type.name in _ROOTS:
            result = self._guarded(_next, root, info, args, kwargs)
        else:
            result = _next(root, info, *args, **kwargs)
        if inspect.isawaitable(result) and hasattr(info.context, "track"):
            return info.context.track(result)
        return result

    async def _guarded(
        self, _next: Any, root: Any, info: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        operation = (info.parent_type.name, info.field_name)
        context = info.context
        if not info.field_name.startswith("__") and operation not in CONNECTOR_OPERATIONS:
            await authorize(context, operation, kwargs)
        if operation[0] == "Mutation" or operation in WRITING_QUERIES:
            changes = ApplicationChanges(context, operation[1], kwargs)
            return await context.transaction(
                lambda: self._tracked(changes, lambda: _next(root, info, *args, **kwargs))
            )
        if operation[0] == "Query" and not info.field_name.startswith("__"):
            await context.read_snapshot()
        return await _await(_next(root, info, *args, **kwargs))

    async def _tracked(self, changes: ApplicationChanges, run: Any) -> Any:
        """Runs the mutation; live subscribers hear of what it did to an application."""
        if not changes.relevant:
            return await _await(run())
        await changes.before()
        result = await _await(run())
        await changes.after(result)
        return result


async def authorize(context: Any, operation: tuple[str, str], kwargs: dict) -> None:
    """Credentials, scopes, tenant, and what applications and runtimes may do to
    themselves; also used by subscriptions, which the guard does not wrap."""
    principal = await context.principal()
    scopes = required_scopes(*operation)
    if scopes is None:
        raise InsufficientScopes(f"operation {operation[1]} is not permitted")
    missing = sorted(set(scopes) - principal.scopes)
    if missing:
        raise InsufficientScopes(f"{operation[1]} requires the scopes {', '.join(missing)}")
    if operation not in TENANTLESS_OPERATIONS:
        await context.tenant_id()
        await check_integration_system(context, principal, operation[1], kwargs)
    if principal.consumer_type in SELF_SERVICE_MUTATIONS:
        await _check_self_service(context, principal, operation, kwargs)
        await _mark_connected(context, principal)
        if _LABEL_DEFINITION_WRITE not in principal.scopes:
            async with context.db() as session:
                refuse_implicit_definitions(session)


async def _check_self_service(
    context: Any, principal: Principal, operation: tuple[str, str], kwargs: dict
) -> None:
    """Applications and runtimes act only on themselves."""
    kind, name = principal.consumer_type, operation[1]
    refusal = Unauthorized(f"{kind.value.lower()} callers may not run {name} on others")
    if operation[0] in ("Query", "Subscription"):
        if name not in OWN_QUERIES[kind]:
            raise refusal
        return
    target = SELF_SERVICE_MUTATIONS[kind].get(name, _MISSING)
    if target is _MISSING:
        raise refusal
    if target is not None:
        await _check_owner(context, principal, target, kwargs, refusal)
    await _check_scenarios_kept(context, principal, name, kwargs)
    await _check_integration_system_kept(context, principal, name, kwargs)


async def _check_owner(
    context: Any,
    principal: Principal,
    target: tuple[str, ObjectType],
    kwargs: dict,
    refusal: Unauthorized,
) -> None:
    argument, object_type = target
    if kwargs.get(argument) is None:
        return  # an optional argument left out: the operation acts on the caller
    object_id = str(kwargs[argument])
    tenant_id = await context.tenant_id()
    async with context.db() as session:
        owner = await _OWNER_OF[principal.consumer_type](session, tenant_id, object_type, object_id)
    if owner is None:
        raise NotFound.of(object_type.value.replace("_", " "), object_id)
    if owner != principal.consumer_id:
        raise refusal


async def _check_scenarios_kept(
    context: Any, principal: Principal, name: str, kwargs: dict
) -> None:
    written = scenarios_written(name, kwargs)
    if written is None:
        return
    kind = _LABELLED_KINDS[principal.consumer_type]
    tenant_id = await context.tenant_id()
    async with context.db() as session:
        current = await LabelService(session, tenant_id).value(
            kind, principal.consumer_id, SCENARIOS_KEY
        )
    if written.changes(current):
        raise Unauthorized(
            f"{principal.consumer_type.value.lower()} callers may not change their scenarios"
        )


async def _check_integration_system_kept(
    context: Any, principal: Principal, name: str, kwargs: dict
) -> None:
    """Naming an integration system grants it the whole tenant: an application
    may drop the one it names, not pick another."""
    if principal.consumer_type is not ConsumerType.APPLICATION or name != "updateApplication":
        return
    wanted = (kwargs.get("in") or {}).get("integrationSystemID")
    if wanted is None:
        return
    tenant_id = await context.tenant_id()
    async with context.db() as session:
        current = await ApplicationService(session, tenant_id).get_existing(principal.consumer_id)
    if current.integration_system_id != str(wanted):
        raise Unauthorized("application callers may not change their integration system")


async def _mark_connected(context: Any, principal: Principal) -> None:
    """The first authenticated call of an application or runtime connects it,
    committed before the operation runs so its own answer shows it."""
    tenant_id = await context.tenant_id()
    async with context.db() as session:
        if principal.consumer_type is ConsumerType.APPLICATION:
            changed = await ApplicationService(session, tenant_id).mark_connected(
                principal.consumer_id
            )
        else:
            changed = await RuntimeService(session, tenant_id).mark_connected(
                principal.consumer_id, _seen_refresh(context.state.settings)
            )
        if changed:
            await session.commit()
            # Connecting may have queued notifications (RUNTIME_CONNECTED).
            if session.info.pop(PENDING_FLAG, False):
                context.state.outbox.wake()
