"""Pairing through the Connector as a client does it, and an app that accepts
client certificates from a trusted proxy header."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from cryptography import x509

from compass.app import create_app
from compass.config import Settings
from tests.api.pki_client import (
    certificate_header,
    csr_for,
    decode_certificate,
    generate_key,
)
from tests.conftest import Api

__all__ = [
    "BEHIND_PROXY",
    "CERT_HEADER",
    "CONFIGURATION",
    "CONNECTOR_PATH",
    "Paired",
    "SIGN",
    "add_scenarios",
    "as_certificate",
    "compass_api",
    "connector",
    "one_time_token",
    "pair",
    "pair_with_token",
    "paired_application",
    "paired_runtime",
    "register_application",
    "register_runtime",
]

CERT_HEADER = "X-Client-Cert"
CONNECTOR_PATH = "/connector/graphql"
# Settings of an app behind a TLS-terminating proxy on this host.
BEHIND_PROXY: dict[str, Any] = {
    "trusted_proxy_cert_header": CERT_HEADER,
    "trusted_proxies": ["127.0.0.1"],
}
CONFIGURATION = (
    "query { configuration() { token { token } "
    "certificateSigningRequestInfo { subject keyAlgorithm } "
    "managementPlaneInfo { directorURL certificateSecuredConnectorURL } } }"
)
SIGN = (
    "mutation($csr: String!) { signCertificateSigningRequest(csr: $csr) "
    "{ certificateChain caCertificate clientCertificate } }"
)
TOKEN_FOR = {
    "Application": (
        "mutation($id: ID!) { requestOneTimeTokenForApplication(id: $id) "
        "{ token connectorURL legacyConnectorURL raw rawEncoded } }"
    ),
    "Runtime": (
        "mutation($id: ID!) { requestOneTimeTokenForRuntime(id: $id) "
        "{ token connectorURL raw rawEncoded } }"
    ),
}


@asynccontextmanager
async def compass_api(
    settings: Settings, peer: tuple[str, int] = ("127.0.0.1", 50000), **updates: Any
) -> AsyncIterator[Api]:
    """An administrator's Api on an app started with `updates` to the settings;
    the app sees its requests coming from `peer`."""
    app = create_app(settings.model_copy(update=updates))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=peer)
        async with httpx.AsyncClient(transport=transport, base_url="http://compass.test") as client:
            api = Api(client, settings)
            api.token = api.mint()
            yield api


def connector(api: Api, token: str) -> Api:
    """The same client, sending a one-time token to the Connector path."""
    return Api(api.client, api.settings, token="", default_headers={"Connector-Token": token})


def as_certificate(api: Api, certificate: x509.Certificate) -> Api:
    """The same client, authenticated by `certificate` through the proxy header."""
    headers = {CERT_HEADER: certificate_header(certificate)}
    return Api(api.client, api.settings, token="", default_headers=headers)


async def register_application(
    api: Api, name: str, fields: dict[str, Any] | None = None, **kw: Any
) -> str:
    data = await api.data(
        "mutation($in: ApplicationRegisterInput!) { registerApplication(in: $in) { id } }",
        {"in": {"name": name, **(fields or {})}},
        **kw,
    )
    return data["registerApplication"]["id"]


async def register_runtime(
    api: Api, name: str, fields: dict[str, Any] | None = None, **kw: Any
) -> str:
    data = await api.data(
        "mutation($in: RuntimeInput!) { registerRuntime(in: $in) { id } }",
        {"in": {"name": name, **(fields or {})}},
        **kw,
    )
    return data["registerRuntime"]["id"]


async def one_time_token(api: Api, kind: str, owner_id: str, **kw: Any) -> dict[str, Any]:
    data = await api.data(TOKEN_FOR[kind], {"id": owner_id}, **kw)
    return data[f"requestOneTimeTokenFor{kind}"]


@dataclass
class Paired:
    system_auth_id: str
    subject: str
    key: Any
    certificate: x509.Certificate
    result: dict[str, str]


async def pair(api: Api, kind: str, owner_id: str) -> Paired:
    """Token, configuration, key and CSR, certificate: the whole pairing."""
    return await pair_with_token(api, (await one_time_token(api, kind, owner_id))["token"])


async def pair_with_token(api: Api, token: str) -> Paired:
    """Configuration, key and CSR, certificate, with a one-time token handed over."""
    configuration = (await connector(api, token).data(CONFIGURATION, path=CONNECTOR_PATH))[
        "configuration"
    ]
    subject = configuration["certificateSigningRequestInfo"]["subject"]
    key = generate_key()
    signed = await connector(api, configuration["token"]["token"]).data(
        SIGN, {"csr": csr_for(subject, key)}, path=CONNECTOR_PATH
    )
    result = signed["signCertificateSigningRequest"]
    return Paired(
        system_auth_id=subject.rsplit("CN=", 1)[1],
        subject=subject,
        key=key,
        certificate=decode_certificate(result["clientCertificate"]),
        result=result,
    )


async def paired_application(api: Api, name: str = "shop", **kw: Any) -> tuple[str, Api]:
    """A registered application and a client holding its certificate."""
    app_id = await register_application(api, name, **kw)
    paired = await pair(api, "Application", app_id)
    return app_id, as_certificate(api, paired.certificate)


async def paired_runtime(api: Api, name: str, scenarios: list[str]) -> tuple[str, Api]:
    """A registered runtime in `scenarios` and a client holding its certificate."""
    runtime_id = await register_runtime(api, name, {"labels": {"scenarios": scenarios}})
    paired = await pair(api, "Runtime", runtime_id)
    return runtime_id, as_certificate(api, paired.certificate)


async def add_scenarios(api: Api, *names: str) -> None:
    """Allows the scenarios `names` (beside DEFAULT) in the tenant."""
    schema = {
        "type": "array",
        "minItems": 1,
        "uniqueItems": True,
        "items": {"type": "string", "enum": ["DEFAULT", *names]},
    }
    await api.data(
        "mutation($in: LabelDefinitionInput!) { updateLabelDefinition(in: $in) { key } }",
        {"in": {"key": "scenarios", "schema": json.dumps(schema)}},
    )
