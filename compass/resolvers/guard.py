"""One check in front of every root operation: credentials, scopes, tenant,
and for mutations the unit of work (commit once on success, else roll back)."""

from __future__ import annotations

import inspect
from typing import Any

from strawberry.extensions import SchemaExtension

from compass.auth.scopes import TENANTLESS_OPERATIONS, required_scopes
from compass.errors import InsufficientScopes

__all__ = ["OperationGuard"]

_ROOTS = ("Query", "Mutation")


async def _await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


class OperationGuard(SchemaExtension):
    async def on_operation(self) -> Any:
        yield
        await self.execution_context.context.close()

    def resolve(self, _next: Any, root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
        if info.parent_type.name not in _ROOTS:
            return _next(root, info, *args, **kwargs)
        return self._guarded(_next, root, info, args, kwargs)

    async def _guarded(
        self, _next: Any, root: Any, info: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        operation = (info.parent_type.name, info.field_name)
        if info.field_name.startswith("__"):
            return await _await(_next(root, info, *args, **kwargs))
        context = info.context
        scopes = required_scopes(*operation)
        principal = await context.principal()
        if scopes is None:
            raise InsufficientScopes(f"operation {info.field_name} is not permitted")
        missing = sorted(set(scopes) - principal.scopes)
        if missing:
            raise InsufficientScopes(f"{info.field_name} requires the scopes {', '.join(missing)}")
        if operation not in TENANTLESS_OPERATIONS:
            await context.tenant_id()
        if operation[0] == "Mutation":
            return await context.transaction(lambda: _await(_next(root, info, *args, **kwargs)))
        return await _await(_next(root, info, *args, **kwargs))
