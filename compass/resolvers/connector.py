"""Connector operations. Their credential is a one-time token (header
`Connector-Token` or query parameter `token`) or a client certificate; the
resolvers check it, so they need no scopes and no tenant."""

from __future__ import annotations

from datetime import timedelta

import strawberry

from compass.config import Settings
from compass.domain.connector.service import ConnectorService, SubjectTemplate
from compass.errors import Unauthorized
from compass.resolvers.context import Context
from compass.schema.connector import (
    CertificateSigningRequestInfo,
    CertificationResult,
    Configuration,
    ManagementPlaneInfo,
    Token,
)

Info = strawberry.Info[Context, None]

TOKEN_HEADER = "connector-token"


def _connector(info: Info, session: object) -> ConnectorService:
    settings: Settings = info.context.state.settings
    return ConnectorService(
        session,  # type: ignore[arg-type]
        info.context.state.authority,
        SubjectTemplate(
            organization=settings.csr_organization,
            organizational_unit=settings.csr_organizational_unit,
            locality=settings.csr_locality,
            province=settings.csr_province,
            country=settings.csr_country,
        ),
        csr_token_lifetime=timedelta(minutes=settings.csr_token_minutes),
        certificate_lifetime=timedelta(days=settings.client_certificate_validity_days),
    )


def _token(info: Info) -> str | None:
    request = info.context.request
    return request.headers.get(TOKEN_HEADER) or request.query_params.get("token") or None


async def _certificate_auth(info: Info) -> tuple[str, str]:
    """The system auth and serial of the caller's client certificate."""
    principal = await info.context.principal()
    if principal.certificate_serial is None or principal.system_auth_id is None:
        raise Unauthorized("send a one-time token (Connector-Token header) or a certificate")
    return principal.system_auth_id, principal.certificate_serial


@strawberry.type
class ConnectorQuery:
    @strawberry.field(
        description="The subject the signing request must carry, a token to send it "
        "with, and the URLs to use once certified."
    )
    async def configuration(self, info: Info) -> Configuration:
        token = _token(info)
        system_auth_id = None if token else (await _certificate_auth(info))[0]
        async with info.context.db() as session:
            result = await _connector(info, session).configuration(token, system_auth_id)
        settings: Settings = info.context.state.settings
        return Configuration(
            token=Token(token=result.token),
            certificate_signing_request_info=CertificateSigningRequestInfo(
                subject=result.subject, key_algorithm=result.key_algorithm
            ),
            management_plane_info=ManagementPlaneInfo(
                director_url=f"{settings.mtls_base_url()}/director/graphql",
                certificate_secured_connector_url=f"{settings.mtls_base_url()}/connector/graphql",
            ),
        )


@strawberry.type
class ConnectorMutation:
    @strawberry.mutation(
        description="Signs a certificate request (base64 of PEM) sent with a token, or by a "
        "certificate holder renewing its certificate."
    )
    async def sign_certificate_signing_request(self, info: Info, csr: str) -> CertificationResult:
        token = _token(info)
        system_auth_id = None if token else (await _certificate_auth(info))[0]
        async with info.context.db() as session:
            result = await _connector(info, session).sign(csr, token, system_auth_id)
        return CertificationResult(
            certificate_chain=result.certificate_chain,
            ca_certificate=result.ca_certificate,
            client_certificate=result.client_certificate,
        )

    @strawberry.mutation(description="Revokes the client certificate the request was made with.")
    async def revoke_certificate(self, info: Info) -> bool:
        _system_auth_id, serial = await _certificate_auth(info)
        async with info.context.db() as session:
            return await _connector(info, session).revoke(serial)
