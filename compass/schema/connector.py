"""The Connector's contract: certificate signing for applications and runtimes."""

from __future__ import annotations

import strawberry

__all__ = [
    "CertificateSigningRequestInfo",
    "CertificationResult",
    "Configuration",
    "ManagementPlaneInfo",
    "Token",
]


@strawberry.type(description="A one-time token.")
class Token:
    token: str


@strawberry.type(description="Base64-encoded PEM: the client certificate, its chain, the CA.")
class CertificationResult:
    certificate_chain: str
    ca_certificate: str
    client_certificate: str


@strawberry.type(description="Where to go once a certificate is obtained.")
class ManagementPlaneInfo:
    director_url: str | None = strawberry.field(name="directorURL")
    certificate_secured_connector_url: str | None = strawberry.field(
        name="certificateSecuredConnectorURL"
    )


@strawberry.type(description="What the certificate signing request must contain.")
class CertificateSigningRequestInfo:
    subject: str
    key_algorithm: str


@strawberry.type
class Configuration:
    token: Token | None
    certificate_signing_request_info: CertificateSigningRequestInfo | None
    management_plane_info: ManagementPlaneInfo | None
