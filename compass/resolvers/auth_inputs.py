"""Input conversion for credentials: AuthInput becomes its stored JSON form."""

from __future__ import annotations

from typing import Any

from compass.domain.validation import check_url
from compass.errors import InvalidData
from compass.schema.auth import AuthInput, CredentialDataInput

__all__ = ["auth_to_dict"]


def _credential_to_dict(credential: CredentialDataInput | None) -> dict[str, Any] | None:
    if credential is None:
        return None
    if (credential.basic is None) == (credential.oauth is None):
        raise InvalidData("a credential needs exactly one of basic or oauth")
    if credential.basic is not None:
        return {
            "basic": {
                "username": credential.basic.username,
                "password": credential.basic.password,
            }
        }
    oauth = credential.oauth
    assert oauth is not None
    check_url("oauth url", oauth.url)
    return {
        "oauth": {
            "clientId": oauth.client_id,
            "clientSecret": oauth.client_secret,
            "url": oauth.url,
        }
    }


def _extras(source: Any) -> dict[str, Any]:
    return {
        name: value
        for name, value in (
            ("additionalHeaders", source.additional_headers),
            ("additionalHeadersSerialized", source.additional_headers_serialized),
            ("additionalQueryParams", source.additional_query_params),
            ("additionalQueryParamsSerialized", source.additional_query_params_serialized),
        )
        if value is not None
    }


def auth_to_dict(auth: AuthInput | None) -> dict[str, Any] | None:
    if auth is None:
        return None
    result: dict[str, Any] = {"credential": _credential_to_dict(auth.credential), **_extras(auth)}
    csrf = auth.request_auth.csrf if auth.request_auth else None
    if auth.request_auth is not None and csrf is None:
        raise InvalidData("requestAuth needs csrf")
    if csrf is not None:
        check_url("csrf tokenEndpointURL", csrf.token_endpoint_url)
        result["requestAuth"] = {
            "csrf": {
                "tokenEndpointURL": csrf.token_endpoint_url,
                "credential": _credential_to_dict(csrf.credential),
                **_extras(csrf),
            }
        }
    return result
