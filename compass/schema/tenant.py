from __future__ import annotations

import enum

import strawberry

__all__ = ["Tenant", "Viewer", "ViewerType"]


@strawberry.type(description="An isolated space of objects; `id` is the external ID.")
class Tenant:
    id: strawberry.ID
    internal_id: strawberry.ID = strawberry.field(name="internalID")
    name: str | None
    initialized: bool | None


@strawberry.enum
class ViewerType(enum.Enum):
    RUNTIME = "RUNTIME"
    APPLICATION = "APPLICATION"
    INTEGRATION_SYSTEM = "INTEGRATION_SYSTEM"
    USER = "USER"


@strawberry.type(description="The caller.")
class Viewer:
    id: strawberry.ID
    type: ViewerType
