"""One GraphQL call over httpx, and the three ways it can fail that the run loop
treats differently:

- `Unreachable`: no answer worth reading (connection refused, timeout, HTTP 5xx);
  retried with backoff, the files on disk stay as they are.
- `Refused`: the server does not accept our credential (GraphQL error code 26,
  HTTP 401/403, or a TLS alert about our certificate); only a new one-time
  token helps.
- `ServerError`: any other error answer; retried at the next interval.
"""

from __future__ import annotations

import ssl
from typing import Any

import httpx

__all__ = ["AgentError", "Refused", "ServerError", "Unreachable", "call"]

UNAUTHORIZED = 26
# TLS alerts a server sends when it does not accept the client certificate.
_CERTIFICATE_ALERTS = (
    "CERTIFICATE_REQUIRED",
    "BAD_CERTIFICATE",
    "CERTIFICATE_REVOKED",
    "CERTIFICATE_EXPIRED",
    "CERTIFICATE_UNKNOWN",
    "UNSUPPORTED_CERTIFICATE",
    "UNKNOWN_CA",
    "ACCESS_DENIED",
)


class AgentError(Exception):
    """Base of the agent's errors; the message is one line, free of secrets.

    `kinds`: the names of the GraphQL errors behind it (`extensions.error`,
    e.g. NotFound, InvalidData), for callers that react to one of them."""

    def __init__(self, message: str, kinds: frozenset[str] = frozenset()) -> None:
        super().__init__(message)
        self.kinds = kinds


class Unreachable(AgentError):
    pass


class Refused(AgentError):
    pass


class ServerError(AgentError):
    pass


def _ssl_error(error: BaseException) -> ssl.SSLError | None:
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _tls_refusal(error: httpx.TransportError) -> str | None:
    """Why the TLS layer refused us, when it did (not merely a dropped connection)."""
    cause = _ssl_error(error)
    if isinstance(cause, ssl.SSLCertVerificationError):
        reason = getattr(cause, "verify_message", None) or cause
        return f"the server's certificate is not trusted: {reason}"
    text = f"{getattr(cause, 'reason', '') or ''} {error}".upper().replace(" ", "_")
    if any(alert in text for alert in _CERTIFICATE_ALERTS):
        return f"the server refused the client certificate in the TLS handshake: {error}"
    return None


def _describe(error: Exception) -> str:
    return str(error) or type(error).__name__


def _extension(error: Any, key: str) -> Any:
    extensions = error.get("extensions") if isinstance(error, dict) else None
    return extensions.get(key) if isinstance(extensions, dict) else None


async def call(
    client: httpx.AsyncClient,
    url: str,
    query: str,
    variables: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """`data` of a successful answer; raises one of the errors above otherwise."""
    try:
        response = await client.post(
            url, json={"query": query, "variables": variables or {}}, headers=headers or {}
        )
    except httpx.TransportError as error:
        refusal = _tls_refusal(error)
        if refusal is not None:
            raise Refused(refusal) from error
        raise Unreachable(f"{url}: {_describe(error)}") from error
    status = response.status_code
    if status >= 500:
        raise Unreachable(f"{url}: HTTP {status}")
    if status in (401, 403):
        raise Refused(f"{url}: HTTP {status}")
    try:
        body = response.json()
    except ValueError:
        raise ServerError(f"{url}: HTTP {status}, not a GraphQL answer") from None
    errors = body.get("errors") if isinstance(body, dict) else None
    if errors:
        messages = "; ".join(
            str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors
        )
        kinds = frozenset(
            kind for kind in (_extension(e, "error") for e in errors) if isinstance(kind, str)
        )
        if any(_extension(e, "error_code") == UNAUTHORIZED for e in errors):
            raise Refused(messages, kinds)
        raise ServerError(messages, kinds)
    data = body.get("data") if isinstance(body, dict) else None
    if status != 200 or not isinstance(data, dict):
        raise ServerError(f"{url}: HTTP {status} without data")
    return data
