"""`compass serve`: the public listener and the mutual-TLS listener in one process.

Both serve the same app; the app's lifespan (database, outbox worker) runs
once around them. On the mTLS listener the client certificate, verified
against our CA during the handshake, is put into the ASGI scope for the
authenticator. Expiry is left to the authenticator (so an expired certificate
gets a clear Unauthorized instead of a failed handshake), and the server
certificate is renewed while running.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import ssl
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from functools import partial
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from compass.app import create_app
from compass.auth.authenticate import CLIENT_CERT_KEY, TLS_EXTENSION
from compass.config import Settings
from compass.pki.authority import CertificateAuthority
from compass.pki.server_tls import ServerCertificate

__all__ = ["serve"]

log = logging.getLogger("compass.server")

# OpenSSL's X509_V_FLAG_NO_CHECK_TIME: the chain is verified, validity dates are not.
_NO_CHECK_TIME = 0x200000
RENEWAL_CHECK_INTERVAL = timedelta(hours=1)

Scope = dict[str, Any]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]


async def _with_client_certificate(
    app: ASGIApp, der: bytes, scope: Scope, receive: Any, send: Any
) -> None:
    extensions = dict(scope.get("extensions") or {})
    extensions[TLS_EXTENSION] = {CLIENT_CERT_KEY: der}
    await app({**scope, "extensions": extensions}, receive, send)


def _peer_certificate(transport: Any) -> bytes | None:
    ssl_object = transport.get_extra_info("ssl_object")
    return ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None


class ClientCertificateProtocol(H11Protocol):
    """HTTP/1.1 that hands the TLS peer certificate to the app."""

    def connection_made(self, transport: Any) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if der := _peer_certificate(transport):
            self.app = partial(_with_client_certificate, self.app, der)


class ClientCertificateWebSocketProtocol(WebSocketsSansIOProtocol):
    """WebSockets (subscriptions) on the mTLS listener: the same for upgraded
    connections, which uvicorn hands to a protocol of their own."""

    def connection_made(self, transport: Any) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if der := _peer_certificate(transport):
            self.app = partial(_with_client_certificate, self.app, der)


class _Listener(uvicorn.Server):
    """A uvicorn server that leaves signal handling to `serve`, which stops both."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _mtls_context(
    certificate: ServerCertificate, authority: CertificateAuthority
) -> ssl.SSLContext:
    context = certificate.ssl_context_for_server(authority, "optional")
    context.verify_flags |= _NO_CHECK_TIME
    return context


async def _keep_server_certificate(
    certificate: ServerCertificate, context: ssl.SSLContext, names: list[str]
) -> None:
    while True:
        await asyncio.sleep(RENEWAL_CHECK_INTERVAL.total_seconds())
        if certificate.needs_renewal():
            certificate.ensure(names)
            certificate.reload(context)
            log.info("server certificate renewed")


async def serve(settings: Settings) -> None:
    authority = CertificateAuthority.load_or_create(
        settings.data_dir, settings.ca_cert, settings.ca_key
    )
    server_certificate = ServerCertificate(settings.data_dir, authority)
    server_certificate.ensure(settings.tls_sans)
    context = _mtls_context(server_certificate, authority)
    app = create_app(settings)
    common = {
        # X-Forwarded-For would rewrite the peer address that the trusted-proxy
        # check of forwarded certificates reads.
        "proxy_headers": False,
        "lifespan": "off",
        "log_config": None,
        "log_level": settings.log_level,
        "ws": "websockets-sansio",
    }
    public = _Listener(uvicorn.Config(app, host=settings.host, port=settings.port, **common))
    mtls = _Listener(
        uvicorn.Config(
            app,
            host=settings.host,
            port=settings.mtls_port,
            ssl_context_factory=lambda _config, _default: context,
            **{
                **common,
                "http": ClientCertificateProtocol,
                "ws": ClientCertificateWebSocketProtocol,
            },
        )
    )
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(
            sig, lambda: setattr(public, "should_exit", True) or setattr(mtls, "should_exit", True)
        )
    async with app.router.lifespan_context(app):
        renewal = asyncio.create_task(
            _keep_server_certificate(server_certificate, context, settings.tls_sans)
        )
        try:
            await asyncio.gather(public.serve(), mtls.serve())
        finally:
            renewal.cancel()
