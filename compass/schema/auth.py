"""Credentials for calls Compass makes or hands out (webhooks, fetches, APIs)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from compass.schema.scalars import (
    HttpHeaders,
    HttpHeadersSerialized,
    QueryParams,
    QueryParamsSerialized,
)

__all__ = [
    "Auth",
    "AuthInput",
    "BasicCredentialData",
    "BasicCredentialDataInput",
    "CredentialData",
    "CredentialDataInput",
    "CredentialRequestAuth",
    "CredentialRequestAuthInput",
    "CSRFTokenCredentialRequestAuth",
    "CSRFTokenCredentialRequestAuthInput",
    "OAuthCredentialData",
    "OAuthCredentialDataInput",
]

_HEADERS_DEPRECATED = "Use `additionalHeadersSerialized`."
_PARAMS_DEPRECATED = "Use `additionalQueryParamsSerialized`."


@strawberry.type
class BasicCredentialData:
    username: str
    password: str


@strawberry.type
class OAuthCredentialData:
    client_id: strawberry.ID = strawberry.field(name="clientId")
    client_secret: str
    url: str = strawberry.field(description="Token endpoint of the OAuth server.")


CredentialData = Annotated[
    BasicCredentialData | OAuthCredentialData, strawberry.union("CredentialData")
]


@strawberry.type
class CSRFTokenCredentialRequestAuth:
    token_endpoint_url: str = strawberry.field(name="tokenEndpointURL")
    credential: CredentialData | None = None
    additional_headers: HttpHeaders | None = None
    additional_headers_serialized: HttpHeadersSerialized | None = None
    additional_query_params: QueryParams | None = None
    additional_query_params_serialized: QueryParamsSerialized | None = None


@strawberry.type
class CredentialRequestAuth:
    csrf: CSRFTokenCredentialRequestAuth | None = None


@strawberry.type(
    description="How to authenticate a call: credentials plus extra headers or parameters."
)
class Auth:
    credential: CredentialData | None = None
    additional_headers: HttpHeaders | None = None
    additional_headers_serialized: HttpHeadersSerialized | None = None
    additional_query_params: QueryParams | None = None
    additional_query_params_serialized: QueryParamsSerialized | None = None
    request_auth: CredentialRequestAuth | None = None


@strawberry.input
class BasicCredentialDataInput:
    username: str
    password: str


@strawberry.input
class OAuthCredentialDataInput:
    client_id: strawberry.ID = strawberry.field(name="clientId")
    client_secret: str
    url: str


@strawberry.input(description="Exactly one of `basic` or `oauth`.")
class CredentialDataInput:
    basic: BasicCredentialDataInput | None = None
    oauth: OAuthCredentialDataInput | None = None


@strawberry.input
class CSRFTokenCredentialRequestAuthInput:
    token_endpoint_url: str = strawberry.field(name="tokenEndpointURL")
    credential: CredentialDataInput | None = None
    additional_headers: HttpHeaders | None = strawberry.field(
        default=None, deprecation_reason=_HEADERS_DEPRECATED
    )
    additional_headers_serialized: HttpHeadersSerialized | None = None
    additional_query_params: QueryParams | None = strawberry.field(
        default=None, deprecation_reason=_PARAMS_DEPRECATED
    )
    additional_query_params_serialized: QueryParamsSerialized | None = None


@strawberry.input
class CredentialRequestAuthInput:
    csrf: CSRFTokenCredentialRequestAuthInput | None = None


@strawberry.input
class AuthInput:
    credential: CredentialDataInput | None = None
    additional_headers: HttpHeaders | None = strawberry.field(
        default=None, deprecation_reason=_HEADERS_DEPRECATED
    )
    additional_headers_serialized: HttpHeadersSerialized | None = None
    additional_query_params: QueryParams | None = strawberry.field(
        default=None, deprecation_reason=_PARAMS_DEPRECATED
    )
    additional_query_params_serialized: QueryParamsSerialized | None = None
    request_auth: CredentialRequestAuthInput | None = None
