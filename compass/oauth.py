"""`POST /oauth2/token`: the client credentials grant (RFC 6749 section 4.4).

Client ID and secret come in HTTP Basic auth or in the form; errors use the
RFC's JSON shape. The access token is a JWT signed with the server's key that
names the client's system auth, so deleting the client ends its tokens.
"""

from __future__ import annotations

import base64
import binascii
from datetime import timedelta
from urllib.parse import unquote_plus

from starlette.requests import Request
from starlette.responses import JSONResponse

from compass.auth.consumers import principal_for
from compass.auth.tokens import mint_client_token
from compass.domain.system_auth.service import SystemAuthService
from compass.resolvers.state import AppState

__all__ = ["token_endpoint"]

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _error(code: str, description: str, status: int = 400) -> JSONResponse:
    headers = dict(_NO_STORE)
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="compass"'
    return JSONResponse({"error": code, "error_description": description}, status, headers)


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, separator, secret = decoded.partition(":")
    if not separator:
        return None
    return unquote_plus(client_id), unquote_plus(secret)


async def token_endpoint(request: Request) -> JSONResponse:
    state: AppState = request.app.state.compass
    form = await request.form()
    if form.get("grant_type") != "client_credentials":
        return _error("unsupported_grant_type", "only client_credentials is supported")
    credentials = _basic_credentials(request.headers.get("authorization"))
    if credentials is None and form.get("client_id") and form.get("client_secret"):
        credentials = (str(form["client_id"]), str(form["client_secret"]))
    if credentials is None:
        return _error("invalid_client", "client authentication is required", 401)
    async with state.sessions() as session:
        row = await SystemAuthService(session).authenticate_client(*credentials)
    if row is None:
        return _error("invalid_client", "unknown client or wrong secret", 401)
    lifetime = timedelta(minutes=state.settings.client_token_minutes)
    token = mint_client_token(state.signing_key, system_auth_id=row.id, lifetime=lifetime)
    scopes = " ".join(sorted(principal_for(row).scopes))
    body = {
        "access_token": token,
        "token_type": "bearer",
        "expires_in": int(lifetime.total_seconds()),
        "scope": scopes,
    }
    return JSONResponse(body, headers=_NO_STORE)
