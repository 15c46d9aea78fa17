"""Input conversion for credentials: AuthInput becomes its stored JSON form.

Additional headers and query parameters come as a map or as its JSON text
(the serialized form wins when both are given, as upstream); both forms are
stored, so every reader finds the one it knows."""

from __future__ import annotations

from typing import Any

from compass.db import dump_json
from compass.domain.validation import check_url
from compass.errors import InvalidData
from compass.schema.auth import AuthInput, CredentialDataInput
from compass.schema.scalars import parse_json_text

__all__ = ["EXTRA_FIELDS", "auth_to_dict"]

# (map form, serialized form) of the stored auth
EXTRA_FIELDS = (
    ("additionalHeaders", "additionalHeadersSerialized"),
    ("additionalQueryParams", "additionalQueryParamsSerialized"),
)


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


def _checked_map(field: str, value: Any) -> dict[str, list[str]]:
    if not isinstance(value, dict) or not all(
        isinstance(values, list) and all(isinstance(v, str) for v in values)
        for values in value.values()
    ):
        raise InvalidData(f"{field} must be an object of names to lists of strings")
    return value


def _extras(source: Any) -> dict[str, Any]:
    given = (
        (source.additional_headers, source.additional_headers_serialized),
        (source.additional_query_params, source.additional_query_params_serialized),
    )
    result: dict[str, Any] = {}
    for (name, serialized_name), (value, serialized) in zip(EXTRA_FIELDS, given, strict=True):
        if serialized is not None:
            value = _checked_map(serialized_name, parse_json_text(serialized_name, serialized))
        elif value is not None:
            value = _checked_map(name, value)
        else:
            continue
        result[name] = value
        result[serialized_name] = dump_json(value)
    return result


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
