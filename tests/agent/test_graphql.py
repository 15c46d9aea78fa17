"""How answers and failures are told apart: unreachable, refused, other errors."""

from __future__ import annotations

import ssl
from collections.abc import Callable

import httpx
import pytest

from compass.agent.graphql import Refused, ServerError, Unreachable, call

URL = "https://compass.test/director/graphql"


async def _call(handler: Callable[[httpx.Request], httpx.Response]) -> dict:
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        return await call(client, URL, "{ viewer { id } }", headers={"Tenant": "t"})


def _errors(code: int | None, message: str = "no") -> Callable[[httpx.Request], httpx.Response]:
    extensions = {"error": "X", "error_code": code} if code is not None else {}
    body = {"data": None, "errors": [{"message": message, "extensions": extensions}]}
    return lambda _request: httpx.Response(200, json=body)


def _raises(error: Exception) -> Callable[[httpx.Request], httpx.Response]:
    def handler(_request: httpx.Request) -> httpx.Response:
        raise error

    return handler


async def test_data_of_a_good_answer_and_headers_sent() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"data": {"viewer": {"id": "rt"}}})

    assert await _call(handler) == {"viewer": {"id": "rt"}}
    assert seen[0].headers["Tenant"] == "t"


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_server_failures_are_unreachable(status: int) -> None:
    with pytest.raises(Unreachable, match=f"HTTP {status}"):
        await _call(lambda _request: httpx.Response(status, text="down"))


@pytest.mark.parametrize(
    "error",
    [
        httpx.ConnectError("[Errno 111] Connection refused"),
        httpx.ReadTimeout(""),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
    ],
)
async def test_transport_errors_are_unreachable(error: Exception) -> None:
    with pytest.raises(Unreachable):
        await _call(_raises(error))


async def test_unauthorized_error_code_is_a_refusal() -> None:
    with pytest.raises(Refused, match="the client certificate is revoked"):
        await _call(_errors(26, "the client certificate is revoked"))


@pytest.mark.parametrize("status", [401, 403])
async def test_http_refusals(status: int) -> None:
    with pytest.raises(Refused):
        await _call(lambda _request: httpx.Response(status, text="no"))


async def test_tls_alert_about_our_certificate_is_a_refusal() -> None:
    alert = httpx.ConnectError(
        "[SSL: TLSV13_ALERT_CERTIFICATE_REQUIRED] tlsv13 alert (_ssl.c:2580)"
    )
    with pytest.raises(Refused, match="TLS handshake"):
        await _call(_raises(alert))


async def test_an_untrusted_server_certificate_is_a_refusal() -> None:
    wrapped = httpx.ConnectError("certificate verify failed")
    wrapped.__cause__ = ssl.SSLCertVerificationError(1, "certificate verify failed")
    with pytest.raises(Refused, match="not trusted"):
        await _call(_raises(wrapped))


@pytest.mark.parametrize(
    "handler",
    [
        _errors(22, "name is too long"),
        _errors(None, "Cannot query field 'nope'"),
        lambda _request: httpx.Response(200, text="<html>"),
        lambda _request: httpx.Response(404, json={"detail": "not found"}),
    ],
)
async def test_other_errors(handler: Callable[[httpx.Request], httpx.Response]) -> None:
    with pytest.raises(ServerError):
        await _call(handler)


async def test_error_names_are_kept_as_kinds() -> None:
    def handler(_request: httpx.Request) -> httpx.Response:
        error = {"message": "no bundle", "extensions": {"error": "NotFound", "error_code": 20}}
        return httpx.Response(200, json={"data": None, "errors": [error]})

    with pytest.raises(ServerError, match="no bundle") as raised:
        await _call(handler)
    assert raised.value.kinds == {"NotFound"}
    with pytest.raises(Refused) as refused:
        await _call(_errors(26))
    assert refused.value.kinds == {"X"}
