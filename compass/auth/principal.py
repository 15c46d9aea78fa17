from __future__ import annotations

import enum
from dataclasses import dataclass, field

__all__ = ["ConsumerType", "Principal"]


class ConsumerType(enum.Enum):
    USER = "USER"
    APPLICATION = "APPLICATION"
    RUNTIME = "RUNTIME"
    INTEGRATION_SYSTEM = "INTEGRATION_SYSTEM"


@dataclass(frozen=True)
class Principal:
    """The authenticated caller. `tenant` is what the credential names (internal
    or external ID, or None when it may pick any tenant with the header)."""

    consumer_type: ConsumerType
    consumer_id: str
    tenant: str | None
    scopes: frozenset[str] = field(default_factory=frozenset)
    # Set for applications, runtimes and integration systems: the credential's record.
    system_auth_id: str | None = None
    # Set when the caller presented a client certificate.
    certificate_serial: str | None = None
