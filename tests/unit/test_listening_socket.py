"""The server's own listening sockets: connections accepted on them have
Nagle's algorithm off, so a response written in two parts (head, then body)
is not held back until the client acknowledges the first."""

from __future__ import annotations

import asyncio
import socket

import pytest

from compass.errors_cli import RuntimeFailure
from compass.server import _listening_socket


async def _nodelay_of_accepted(listening: socket.socket) -> int:
    accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            sock = transport.get_extra_info("socket")
            accepted.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    server = await asyncio.get_running_loop().create_server(Probe, sock=listening)
    host, port = listening.getsockname()[:2]
    try:
        _reader, writer = await asyncio.open_connection(host, port)
        try:
            return await asyncio.wait_for(accepted, timeout=10)
        finally:
            writer.close()
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
async def test_accepted_connections_have_nagle_off(host):
    listening = _listening_socket(host, 0, "port")
    assert listening.proto == socket.IPPROTO_TCP
    assert await _nodelay_of_accepted(listening) != 0


def test_a_port_in_use_names_the_setting():
    taken = _listening_socket("127.0.0.1", 0, "port")
    try:
        with pytest.raises(RuntimeFailure, match="COMPASS_MTLS_PORT"):
            _listening_socket("127.0.0.1", taken.getsockname()[1], "mtls_port")
    finally:
        taken.close()
