"""The Connector: trades one-time tokens for client certificates.

`configuration` redeems a pairing token and answers with the subject the
certificate will have plus a fresh token for the signing request. `sign`
uses the token up and checks the request in one unit of work, so a refused
request is rolled back and never costs the caller the token; a certificate
holder may sign a new request for the same subject (renewal) and revoke its
certificate.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from sqlalchemy.ext.asyncio import AsyncSession

from compass import metrics
from compass.db import utcnow
from compass.domain.system_auth.model import CertificateRow
from compass.domain.system_auth.repository import CertificateRepository
from compass.domain.system_auth.service import CONNECTOR_PURPOSE, CSR_PURPOSE, SystemAuthService
from compass.errors import InvalidOperation, Unauthorized
from compass.pki.authority import certificate_serial
from compass.pki.policy import check_csr, load_csr, subject_from_string

__all__ = ["CertificateBundle", "ConnectorService", "CsrInfo", "SubjectTemplate"]

KEY_ALGORITHM = "rsa2048"


@dataclass(frozen=True)
class SubjectTemplate:
    """The fixed part of every client certificate's subject."""

    organization: str
    organizational_unit: str
    locality: str
    province: str
    country: str

    def for_auth(self, system_auth_id: str) -> str:
        return (
            f"O={self.organization},OU={self.organizational_unit},L={self.locality},"
            f"ST={self.province},C={self.country},CN={system_auth_id}"
        )


@dataclass(frozen=True)
class CsrInfo:
    token: str
    subject: str
    key_algorithm: str = KEY_ALGORITHM


@dataclass(frozen=True)
class CertificateBundle:
    """Base64 of PEM, as the Connector contract hands them out."""

    certificate_chain: str
    ca_certificate: str
    client_certificate: str


def _b64(pem: bytes) -> str:
    return base64.b64encode(pem).decode()


class ConnectorService:
    def __init__(
        self,
        session: AsyncSession,
        authority: Any,
        subject: SubjectTemplate,
        *,
        csr_token_lifetime: timedelta,
        certificate_lifetime: timedelta,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.auths = SystemAuthService(session, clock)
        self.certificates = CertificateRepository(session)
        self.authority = authority
        self.subject = subject
        self.csr_token_lifetime = csr_token_lifetime
        self.certificate_lifetime = certificate_lifetime
        self.clock = clock

    async def configuration(self, token: str | None, system_auth_id: str | None) -> CsrInfo:
        if token is not None:
            system_auth_id = await self.auths.redeem(token, [CONNECTOR_PURPOSE, CSR_PURPOSE])
        if system_auth_id is None:
            raise Unauthorized("send a one-time token (Connector-Token header) or a certificate")
        fresh = await self.auths.issue_token(system_auth_id, CSR_PURPOSE, self.csr_token_lifetime)
        return CsrInfo(token=fresh, subject=self.subject.for_auth(system_auth_id))

    async def sign(
        self, encoded_csr: str, token: str | None, system_auth_id: str | None
    ) -> CertificateBundle:
        csr = load_csr(encoded_csr)
        if token is not None:
            # Used up first, checked after: a refusal below rolls the unit of
            # work back, token included.
            system_auth_id = await self.auths.redeem(token, [CSR_PURPOSE, CONNECTOR_PURPOSE])
        elif system_auth_id is not None and await self.auths.get(system_auth_id) is None:
            system_auth_id = None
        if system_auth_id is None:
            raise Unauthorized("send a one-time token (Connector-Token header) or a certificate")
        subject = subject_from_string(self.subject.for_auth(system_auth_id))
        check_csr(csr, subject)
        certificate = self.authority.sign_client_certificate(
            csr, subject, self.certificate_lifetime
        )
        await self._record(certificate, system_auth_id)
        metrics.record_certificate("issued" if token is not None else "renewed")
        client_pem = certificate.public_bytes(serialization.Encoding.PEM)
        ca_pem = self.authority.certificate_pem
        return CertificateBundle(
            certificate_chain=_b64(client_pem + ca_pem),
            ca_certificate=_b64(ca_pem),
            client_certificate=_b64(client_pem),
        )

    async def revoke(self, certificate_serial: str | None) -> bool:
        if certificate_serial is None:
            raise InvalidOperation("only a caller presenting a client certificate can revoke it")
        revoked = await self.certificates.revoke(certificate_serial, self.clock())
        if revoked:
            metrics.record_certificate("revoked")
        return revoked

    async def _record(self, certificate: x509.Certificate, system_auth_id: str) -> None:
        await self.certificates.add(
            CertificateRow(
                serial=certificate_serial(certificate),
                system_auth_id=system_auth_id,
                fingerprint=certificate.fingerprint(hashes.SHA256()).hex(),
                not_after=certificate.not_valid_after_utc,
            )
        )
