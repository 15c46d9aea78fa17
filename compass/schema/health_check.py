from __future__ import annotations

import enum

import strawberry

from compass.schema.common import Pageable, PageInfo
from compass.schema.scalars import Timestamp

__all__ = ["HealthCheck", "HealthCheckPage", "HealthCheckStatusCondition", "HealthCheckType"]


@strawberry.enum
class HealthCheckType(enum.Enum):
    MANAGEMENT_PLANE_APPLICATION_HEALTHCHECK = "MANAGEMENT_PLANE_APPLICATION_HEALTHCHECK"


@strawberry.enum
class HealthCheckStatusCondition(enum.Enum):
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


@strawberry.type
class HealthCheck:
    type: HealthCheckType
    condition: HealthCheckStatusCondition
    origin: strawberry.ID | None
    message: str | None
    timestamp: Timestamp


@strawberry.type
class HealthCheckPage(Pageable):
    data: list[HealthCheck]
    page_info: PageInfo
    total_count: int
