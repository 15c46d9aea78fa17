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
import gc
import logging
import signal
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import timedelta
from functools import partial
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from compass.app import create_app
from compass.auth.authenticate import CLIENT_CERT_KEY, TLS_EXTENSION
from compass.config import Settings
from compass.errors_cli import RuntimeFailure, flag_and_variable
from compass.metrics import metrics_app
from compass.pki.authority import CertificateAuthority
from compass.pki.server_tls import ServerCertificate

__all__ = ["freeze_startup_heap", "serve"]

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


def _listening_socket(host: str, port: int, setting: str) -> socket.socket:
    """Bound here rather than by uvicorn, which logs and exits on a port in use:
    the error names the setting to change."""
    try:
        family, kind, proto, _name, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )[0]
        # Said to be TCP (not protocol 0): asyncio turns Nagle's algorithm off
        # only on such sockets, and without that a response sent in two writes
        # waits for the client's delayed ACK, some 40 ms a request.
        listening = socket.socket(family, kind, proto)
    except OSError as error:
        raise _cannot_listen(host, port, setting, error) from error
    try:
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listening.bind(address)
        listening.listen()
    except OSError as error:
        listening.close()
        raise _cannot_listen(host, port, setting, error) from error
    listening.set_inheritable(True)
    return listening


def _cannot_listen(host: str, port: int, setting: str, error: OSError) -> RuntimeFailure:
    return RuntimeFailure(
        f"cannot listen on {host}:{port} ({flag_and_variable(setting)}): {error.strerror or error}"
    )


@contextlib.asynccontextmanager
async def _metrics_listener(
    settings: Settings, app: Any, common: dict[str, Any]
) -> AsyncIterator[None]:
    """/metrics on a port of its own (metrics_port) instead of the public one."""
    if settings.metrics_port is None:
        yield
        return
    bound = _listening_socket(settings.host, settings.metrics_port, "metrics_port")
    config = uvicorn.Config(
        metrics_app(app),
        host=settings.host,
        port=settings.metrics_port,
        **{**common, "access_log": False},  # scrapes every few seconds are no news
    )
    listener = _Listener(config)
    task = asyncio.create_task(listener.serve(sockets=[bound]))
    try:
        yield
    finally:
        listener.should_exit = True
        await task


def freeze_startup_heap() -> None:
    """What start-up made (modules, tables, the schema: some 180,000 objects)
    lives as long as the process. Frozen, it is out of the collector's sight:
    the full collections that large answers set off walk only what requests
    made. `compass serve` starts with the collector off, as start-up makes
    almost no garbage and full collections would walk the growing heap again
    and again; the few thousand objects of garbage it leaves are frozen too,
    which costs less than one more walk of the whole heap."""
    gc.freeze()
    gc.enable()


async def serve(settings: Settings) -> None:
    public_socket = _listening_socket(settings.host, settings.port, "port")
    mtls_socket = _listening_socket(settings.host, settings.mtls_port, "mtls_port")
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
        # A client that sends nothing must not hold up a stopping server.
        "timeout_graceful_shutdown": settings.shutdown_timeout,
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
    async with app.router.lifespan_context(app), _metrics_listener(settings, app, common):
        freeze_startup_heap()
        renewal = asyncio.create_task(
            _keep_server_certificate(server_certificate, context, settings.tls_sans)
        )
        try:
            await asyncio.gather(
                public.serve(sockets=[public_socket]), mtls.serve(sockets=[mtls_socket])
            )
        finally:
            renewal.cancel()
