"""Credentials of applications, runtimes and integration systems."""

from __future__ import annotations

import strawberry

from compass.schema.auth import Auth

__all__ = ["OneTimeToken", "OneTimeTokenForApplication", "OneTimeTokenForRuntime", "SystemAuth"]


@strawberry.type(
    description="A credential: a certificate pairing (no `auth`) or an OAuth client "
    "(`auth.credential`; the secret is shown only when the client is created)."
)
class SystemAuth:
    id: strawberry.ID
    auth: Auth | None


@strawberry.interface(description="Opens the Connector once, for a short time.")
class OneTimeToken:
    token: str
    connector_url: str = strawberry.field(name="connectorURL")
    raw: str | None
    raw_encoded: str | None


@strawberry.type
class OneTimeTokenForApplication(OneTimeToken):
    token: str
    connector_url: str = strawberry.field(name="connectorURL")
    legacy_connector_url: str = strawberry.field(name="legacyConnectorURL")
    raw: str | None
    raw_encoded: str | None


@strawberry.type
class OneTimeTokenForRuntime(OneTimeToken):
    token: str
    connector_url: str = strawberry.field(name="connectorURL")
    raw: str | None
    raw_encoded: str | None
