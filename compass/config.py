"""Settings, read once from `COMPASS_*` environment variables and CLI flags."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "DEFAULT_TENANT_ID", "DEFAULT_TENANT_NAME"]

DEFAULT_TENANT_ID = "3e64ebae-38b5-46a0-b1ed-9ccee153a0ae"
DEFAULT_TENANT_NAME = "default"


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
    log_level: str = Field("info", description="Log level: debug, info, warning, error.")
    http_timeout: float = Field(
        10.0, description="Seconds an outgoing call (spec fetch, webhook) may take."
    )

    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'compass.db').resolve()}"

    def jwt_key_path(self) -> Path:
        return self.data_dir / "jwt.key"

    def public_base_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"


LOCAL_TOKEN_ISSUER = "compass-local"
DEFAULT_TOKEN_LIFETIME = timedelta(hours=1)
