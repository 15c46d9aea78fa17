"""Settings, read once from `COMPASS_*` environment variables and CLI flags."""

from __future__ import annotations

import ipaddress
import json
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

__all__ = ["Settings", "DEFAULT_TENANT_ID", "DEFAULT_TENANT_NAME"]

DEFAULT_TENANT_ID = "3e64ebae-38b5-46a0-b1ed-9ccee153a0ae"
DEFAULT_TENANT_NAME = "default"
_DATABASE_DRIVERS = ("postgresql+asyncpg", "sqlite+aiosqlite")
# Connections a peak may open beyond database_pool_size (closed when returned).
DATABASE_POOL_OVERFLOW = 10


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="COMPASS_", extra="ignore")

    host: str = Field("127.0.0.1", description="Address the public listener binds to.")
    port: int = Field(3000, description="Port of the public listener.")
    data_dir: Path = Field(
        Path(".compass"), description="Directory holding the SQLite database and the keys."
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy async URL, e.g. postgresql+asyncpg://user@host/db; "
        "default: SQLite inside the data directory.",
    )
    public_url: str | None = Field(
        None, description="URL under which clients reach the public listener."
    )
    jwt_jwks_url: str | None = Field(
        None, description="JWKS URL of an external OIDC issuer whose user tokens are accepted."
    )
    jwt_issuer: str | None = Field(None, description="Expected `iss` of external tokens.")
    jwt_audience: str | None = Field(None, description="Expected `aud` of external tokens.")
    jwt_default_tenant: str | None = Field(
        None,
        description="Tenant (internal or external ID) of external tokens that carry no "
        "`tenant` claim; without it such tokens are refused.",
    )
    log_level: str = Field("info", description="Log level: debug, info, warning, error.")
    log_format: Literal["text", "json"] = Field(
        "text", description="Log lines as text or as one JSON object per line."
    )
    metrics_port: int | None = Field(
        None,
        description="Port of a separate listener for /metrics; default: /metrics on the "
        "public listener.",
    )
    database_start_timeout: float = Field(
        30,
        ge=0,
        description="Seconds `compass serve` retries, with backoff, a database that does not "
        "answer at start before it gives up.",
    )
    database_pool_size: int = Field(
        20,
        ge=1,
        le=1000,
        description="Database connections the server keeps open (a request holds one while "
        f"it runs); under a peak up to {DATABASE_POOL_OVERFLOW} more open and close again.",
    )
    shutdown_timeout: float = Field(
        10,
        ge=0,
        description="Seconds a stopping server waits for open requests before it closes them.",
    )
    http_timeout: float = Field(
        10.0, description="Seconds an outgoing call (spec fetch, webhook) may take."
    )
    ca_cert: Path | None = Field(
        None,
        description="PEM file of an existing CA certificate to use instead of creating one.",
    )
    ca_key: Path | None = Field(
        None, description="PEM file of the private key of the CA given by ca_cert."
    )
    tls_sans: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Extra names (DNS or IP) for the server certificate, separated by commas.",
    )
    client_certificate_validity_days: float = Field(
        90,
        gt=0,
        description="Days a client certificate signed by the Connector stays valid "
        "(fractions allowed: 0.01 is under 15 minutes).",
    )
    mtls_port: int = Field(3443, description="Port of the mutual-TLS listener.")
    mtls_public_url: str | None = Field(
        None, description="URL clients use to reach the mutual-TLS listener."
    )
    trusted_proxy_cert_header: str | None = Field(
        None,
        description="Header in which a TLS-terminating proxy forwards the client certificate "
        "(URL-encoded PEM); off when unset.",
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Addresses or networks, separated by commas, allowed to send that header.",
    )
    application_token_minutes: int = Field(
        5, description="Minutes an application's one-time token stays valid."
    )
    runtime_token_minutes: int = Field(
        60, description="Minutes a runtime's one-time token stays valid."
    )
    csr_token_minutes: int = Field(
        5, description="Minutes the token returned by `configuration` stays valid."
    )
    client_token_minutes: int = Field(
        60, description="Minutes an OAuth access token from /oauth2/token stays valid."
    )
    csr_organization: str = Field("Org", description="O of client certificate subjects.")
    csr_organizational_unit: str = Field(
        "OrgUnit", description="OU of client certificate subjects."
    )
    csr_locality: str = Field("locality", description="L of client certificate subjects.")
    csr_province: str = Field("province", description="ST of client certificate subjects.")
    csr_country: str = Field("DE", description="C of client certificate subjects.")

    egress_allowed_networks: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Networks, separated by commas, that outgoing requests (spec fetches, "
        "webhooks) may reach although they are loopback, private or link-local, "
        "e.g. 127.0.0.1/32,10.0.0.0/8.",
    )
    webhook_delivery_hours: float = Field(
        24, gt=0, description="Hours a webhook notification is retried before it is FAILED."
    )
    secrets_key: str | None = Field(
        None,
        description="Fernet keys, comma-separated, that encrypt stored secrets (webhook "
        "secrets, credentials): the first encrypts, all decrypt (rotation); default: "
        "secrets.key in the data directory, created on first start.",
    )
    outbox_lease_seconds: float = Field(
        120,
        gt=0,
        description="Seconds a server process holds a side effect it took from the outbox; "
        "after a crash another process (or the restarted one) runs it after that time.",
    )
    provisioner_default_provider: Literal["local", "command"] = Field(
        "local",
        description="Provider of provisionRuntime when the input names none: local (a runtime "
        "agent process supervised by the server) or command.",
    )
    provisioner_command: Path | None = Field(
        None,
        description="Executable of the command provider; it gets the operation as JSON on "
        "stdin, and its exit status is the result.",
    )
    provisioner_command_timeout: float = Field(
        600, gt=0, description="Seconds the command provider's executable may run."
    )
    provisioner_agent_wait_seconds: float = Field(
        300,
        gt=0,
        description="Seconds provisioning waits for the runtime agent's first "
        "certificate-authenticated call before the operation fails.",
    )
    agent_disconnected_after_seconds: float = Field(
        60,
        gt=0,
        description="A runtime whose agent made no call for this long is Disconnected.",
    )
    agent_sync_interval: float = Field(
        10, gt=0, description="Seconds between configuration pulls of local runtime agents."
    )
    supervisor_lease_seconds: float = Field(
        15,
        gt=0,
        description="Seconds a server process holds the supervision of a local agent; another "
        "process takes it over when the holder has not renewed it for this long.",
    )
    # Limits (DESIGN §6): each refusal is InvalidData naming the limit (HTTP 413 for bodies).
    max_query_depth: int = Field(15, gt=0, description="Deepest field nesting of a query.")
    max_query_aliases: int = Field(
        200, gt=0, description="Aliases in one GraphQL document (a page's worth, 200)."
    )
    max_query_tokens: int = Field(10_000, gt=0, description="Tokens in one GraphQL document.")
    max_request_bytes: int = Field(
        4 * 1024 * 1024, gt=0, description="Bytes of a GraphQL request body."
    )
    max_label_value_bytes: int = Field(
        64 * 1024, gt=0, description="Bytes of one label value as JSON."
    )
    max_spec_bytes: int = Field(
        1024 * 1024, gt=0, description="Bytes of one inline specification or document."
    )
    max_json_depth: int = Field(
        64, gt=0, description="Nesting depth of JSON input values, specs and JSON Schemas."
    )

    @field_validator("tls_sans", "trusted_proxies", "egress_allowed_networks", mode="before")
    @classmethod
    def _split_names(cls, value: Any) -> Any:
        """Environment variables give `a,b`; a JSON list is accepted too."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [name.strip() for name in text.split(",") if name.strip()]
        return value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str | None) -> str | None:
        """Only the two async drivers work; say so at start, not in a traceback."""
        if value is None:
            return value
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            driver = make_url(value).drivername
        except ArgumentError:
            raise ValueError("not a database URL; e.g. postgresql+asyncpg://user@host/db") from None
        if driver in _DATABASE_DRIVERS:
            return value
        if driver.split("+")[0] in ("postgresql", "postgres"):
            raise ValueError("PostgreSQL needs the asyncpg driver: postgresql+asyncpg://...")
        raise ValueError(
            f"unsupported driver {driver!r}; use postgresql+asyncpg:// or sqlite+aiosqlite://"
        )

    @field_validator("trusted_proxies", "egress_allowed_networks")
    @classmethod
    def _check_networks(cls, value: list[str]) -> list[str]:
        """A typo here would refuse every forwarded certificate: fail at start instead."""
        for network in value:
            ipaddress.ip_network(network, strict=False)
        return value

    @model_validator(mode="after")
    def _external_tokens_are_pinned(self) -> Settings:
        """Tokens of an external issuer are checked against both: refusing to start
        beats accepting any issuer's or any audience's tokens."""
        if self.jwt_jwks_url and not (self.jwt_issuer and self.jwt_audience):
            raise ValueError(
                "COMPASS_JWT_JWKS_URL needs COMPASS_JWT_ISSUER and COMPASS_JWT_AUDIENCE"
            )
        return self

    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'compass.db').resolve()}"

    def jwt_key_path(self) -> Path:
        return self.data_dir / "jwt.key"

    def public_base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    def mtls_base_url(self) -> str:
        return (self.mtls_public_url or f"https://{self.host}:{self.mtls_port}").rstrip("/")

    def oauth_token_url(self) -> str:
        return f"{self.public_base_url()}/oauth2/token"

    def secrets_key_path(self) -> Path:
        return self.data_dir / "secrets.key"

    def runtimes_dir(self) -> Path:
        """Where the local provider keeps each runtime's agent configuration and state."""
        return self.data_dir / "runtimes"

    def connector_url(self) -> str:
        return f"{self.public_base_url()}/connector/graphql"


LOCAL_TOKEN_ISSUER = "compass-local"
DEFAULT_TOKEN_LIFETIME = timedelta(hours=1)
