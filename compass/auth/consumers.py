"""What applications, runtimes and integration systems may do: fixed scopes per
consumer type (as in the Compass mapping for their credentials), and the
principal a system auth stands for."""

from __future__ import annotations

from compass.auth.principal import ConsumerType, Principal
from compass.domain.system_auth.model import SystemAuthRow
from compass.domain.system_auth.service import OwnerKind, owner_of

__all__ = ["CONSUMER_SCOPES", "CONNECTOR_OPERATIONS", "WRITING_QUERIES", "principal_for"]

CONSUMER_SCOPES: dict[ConsumerType, frozenset[str]] = {
    ConsumerType.APPLICATION: frozenset({"application:read", "application:write"}),
    ConsumerType.RUNTIME: frozenset({"runtime:read", "runtime:write", "application:read"}),
    ConsumerType.INTEGRATION_SYSTEM: frozenset(
        {
            "application:read",
            "application:write",
            "application_template:read",
            "application_template:write",
            "runtime:read",
            "runtime:write",
            "integration_system:read",
            "label_definition:read",
            "label_definition:write",
            "automatic_scenario_assignment:read",
            "automatic_scenario_assignment:write",
        }
    ),
}

# Operations whose credential (a one-time token or a client certificate) the
# resolver checks itself: they need no scopes and no tenant.
CONNECTOR_OPERATIONS = frozenset(
    {
        ("Query", "configuration"),
        ("Mutation", "signCertificateSigningRequest"),
        ("Mutation", "revokeCertificate"),
    }
)

# Queries that write (`configuration` redeems a token): run as a unit of work.
WRITING_QUERIES = frozenset({("Query", "configuration")})

_CONSUMER_OF_OWNER = {
    OwnerKind.APPLICATION: ConsumerType.APPLICATION,
    OwnerKind.RUNTIME: ConsumerType.RUNTIME,
    OwnerKind.INTEGRATION_SYSTEM: ConsumerType.INTEGRATION_SYSTEM,
}


def principal_for(row: SystemAuthRow, certificate_serial: str | None = None) -> Principal:
    owner = owner_of(row)
    consumer_type = _CONSUMER_OF_OWNER[owner.kind]
    return Principal(
        consumer_type,
        owner.id,
        owner.tenant_id,
        CONSUMER_SCOPES[consumer_type],
        system_auth_id=row.id,
        certificate_serial=certificate_serial,
    )
