"""The one egress policy for every request the server makes (spec fetches,
webhook deliveries, OAuth token fetches for webhooks).

A transport that resolves the target host before each request and refuses
loopback, link-local (cloud metadata), private, multicast and reserved
addresses unless the settings allow their network. Redirects are followed by
the client one hop at a time, and every hop comes through here again, so a
public URL cannot redirect into the private network. The connection then goes
to an address the check allowed: the request is pinned to it, keeping the
Host header and TLS server name of the URL, so a second DNS answer cannot
swap the target.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence

import httpx

__all__ = ["EgressPolicy", "EgressRefused", "PolicyTransport", "create_http_client"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class EgressRefused(httpx.ConnectError):
    """The target resolves to an address the egress policy does not allow."""


class EgressPolicy:
    def __init__(self, allowed_networks: Sequence[str] = ()) -> None:
        self._allowed = [ipaddress.ip_network(n, strict=False) for n in allowed_networks]

    def permits(self, address: IPAddress) -> bool:
        if any(address in network for network in self._allowed):
            return True
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            return self.permits(address.ipv4_mapped)
        return address.is_global and not address.is_multicast

    async def resolve(self, host: str, port: int) -> str:
        """An address of `host` the policy allows; EgressRefused when any is not."""
        try:
            literal = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            literal = None
        if literal is not None:
            addresses = [literal]
        else:
            try:
                answers = await asyncio.get_running_loop().getaddrinfo(
                    host, port, type=socket.SOCK_STREAM
                )
            except OSError as error:
                raise httpx.ConnectError(f"cannot resolve {host}: {error}") from error
            addresses = [ipaddress.ip_address(answer[4][0].split("%")[0]) for answer in answers]
        refused = [str(a) for a in addresses if not self.permits(a)]
        if refused or not addresses:
            raise EgressRefused(
                f"{host} resolves to {', '.join(refused) or 'nothing'}, which outgoing "
                "requests may not reach (COMPASS_EGRESS_ALLOWED_NETWORKS allows networks)"
            )
        return str(addresses[0])


class PolicyTransport(httpx.AsyncBaseTransport):
    def __init__(self, policy: EgressPolicy, inner: httpx.AsyncBaseTransport | None = None) -> None:
        self._policy = policy
        self._inner = inner

    def _network(self) -> httpx.AsyncBaseTransport:
        # Made at the first request: building it loads the TLS trust store and
        # httpcore, which start-up need not wait for.
        if self._inner is None:
            self._inner = httpx.AsyncHTTPTransport()
        return self._inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        port = url.port or (443 if url.scheme == "https" else 80)
        address = await self._policy.resolve(url.host, port)
        if address != url.host:
            # Connect to the checked address; Host and SNI still name the URL's host.
            # A copy: the client resolves redirects and compares origins against the
            # request it sent, which must keep naming the host, not the address.
            headers = request.headers.copy()
            headers.setdefault("Host", url.netloc.decode("ascii"))
            request = httpx.Request(
                request.method,
                url.copy_with(host=address),
                headers=headers,
                stream=request.stream,
                extensions={**request.extensions, "sni_hostname": url.host},
            )
        return await self._network().handle_async_request(request)

    async def aclose(self) -> None:
        if self._inner is not None:
            await self._inner.aclose()


def create_http_client(
    allowed_networks: Sequence[str],
    timeout: float,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """`transport` replaces the network below the policy (tests)."""
    policy_transport = PolicyTransport(EgressPolicy(allowed_networks), transport)
    return httpx.AsyncClient(
        transport=policy_transport, timeout=timeout, follow_redirects=True, max_redirects=5
    )
