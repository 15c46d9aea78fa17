"""Settings of the Runtime Agent, from three places: flags win over
`COMPASS_AGENT_*` environment variables, which win over the JSON file named by
`--config` / `COMPASS_AGENT_CONFIG` (the file the provisioner writes, and
rewrites with a new token when the agent is reconnected).

Settings are loaded again while the agent runs (`load_settings` with the same
flags) so a token written to the file later is picked up.
"""

from __future__ import annotations

import base64
import binascii
import json
import shlex
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

__all__ = [
    "AgentSettings",
    "SettingsError",
    "expand_raw_encoded",
    "load_settings",
    "read_config_file",
]

ENV_PREFIX = "COMPASS_AGENT_"
LogLevel = Literal["debug", "info", "warning", "error"]


class SettingsError(Exception):
    """A setting is missing or wrong; the message is one line for the operator."""


def expand_raw_encoded(values: dict[str, Any]) -> dict[str, Any]:
    """`raw_encoded` (base64 of `{"token", "connectorURL"}`) stands for a token and
    connector URL given at the same level (flags, environment or file), unless that
    level names them itself; so precedence between levels holds for it too."""
    raw_encoded = values.pop("raw_encoded", None)
    if raw_encoded is None or (isinstance(raw_encoded, str) and not raw_encoded.strip()):
        return values
    try:
        raw = json.loads(base64.b64decode(str(raw_encoded), validate=True))
        token, url = raw["token"], raw["connectorURL"]
    except (binascii.Error, ValueError, TypeError, KeyError):
        raise SettingsError(
            "raw_encoded must be base64 of a JSON object with token and connectorURL"
        ) from None
    values.setdefault("token", token)
    values.setdefault("connector_url", url)
    return values


def read_config_file(path: Path) -> dict[str, Any]:
    """The file's keys; null values count as not given, so defaults apply."""
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise SettingsError(f"cannot read config file {path}: {error.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SettingsError(f"config file {path} is not valid JSON: {error}") from None
    if not isinstance(content, dict):
        raise SettingsError(f"config file {path} must hold a JSON object")
    return expand_raw_encoded({k: v for k, v in content.items() if v is not None})


class _EnvSource(EnvSettingsSource):
    """The environment, with COMPASS_AGENT_RAW_ENCODED (not a field) expanded."""

    def __call__(self) -> dict[str, Any]:
        values = super().__call__()
        raw_encoded = self.env_vars.get(f"{ENV_PREFIX}RAW_ENCODED".lower())
        if raw_encoded is not None:
            values["raw_encoded"] = raw_encoded
        return expand_raw_encoded(values)


class _ConfigFileSource(PydanticBaseSettingsSource):
    """The lowest source: the JSON file named by a flag or the environment, which
    pydantic-settings hands over as `current_state` (what the higher sources set)."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ reads the whole file

    def __call__(self) -> dict[str, Any]:
        path = self.current_state.get("config")
        return read_config_file(Path(path)) if path else {}


def _http_url(value: str | None) -> str | None:
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an http:// or https:// URL")
    return value


class AgentSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    config: Path | None = Field(None, description="JSON file with the settings below.")
    connector_url: str | None = Field(None, description="Connector URL the token is for.")
    token: SecretStr | None = Field(None, description="One-time token for pairing.")
    runtime_id: str = Field(min_length=1, description="ID of the runtime this agent serves.")
    tenant: str | None = Field(None, description="Sent as the Tenant header when set.")
    state_dir: Path = Field(Path(".compass-agent"), description="Where the agent keeps files.")
    sync_interval: float = Field(10.0, gt=0, description="Seconds between synchronisations.")
    events_url: str | None = Field(None, description="Label runtime_eventServiceUrl.")
    console_url: str | None = Field(None, description="Label runtime_consoleUrl.")
    hook: str | None = Field(
        None, description="Command run on a configuration change, state dir appended."
    )
    renew_fraction: float = Field(
        1 / 3, gt=0, lt=1, description="Renew when less than this part of the lifetime is left."
    )
    max_backoff: float = Field(30.0, gt=0, description="Longest wait between retries (s).")
    timeout: float = Field(10.0, gt=0, description="Timeout of one HTTP request (s).")
    log_level: LogLevel = Field("info", description="debug, info, warning or error.")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, _EnvSource(settings_cls), _ConfigFileSource(settings_cls)

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_absent(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @field_validator("connector_url", "events_url", "console_url")
    @classmethod
    def _urls(cls, value: str | None) -> str | None:
        return _http_url(value)

    @field_validator("hook")
    @classmethod
    def _hook(cls, value: str | None) -> str | None:
        if value is not None and not shlex.split(value):
            raise ValueError("must name a command")
        return value

    @model_validator(mode="after")
    def _token_needs_connector(self) -> AgentSettings:
        if self.token is not None and self.connector_url is None:
            raise ValueError("a token needs connector_url (or use raw_encoded)")
        return self

    def headers(self) -> dict[str, str]:
        return {"Tenant": self.tenant} if self.tenant else {}

    def hook_command(self) -> list[str] | None:
        return shlex.split(self.hook) if self.hook else None


def _describe(error: dict[str, Any]) -> str:
    name = ".".join(str(part) for part in error["loc"]) or "settings"
    if error["type"] == "missing":
        flag = name.replace("_", "-")
        return (
            f"{name} is required (--{flag}, {ENV_PREFIX}{name.upper()} "
            f"or key {name!r} in the config file)"
        )
    message = error["msg"].removeprefix("Value error, ")
    return f"{name}: {message}"


def load_settings(**flags: Any) -> AgentSettings:
    """Settings with `flags` (None: not given) over the environment and the file.

    Raises SettingsError with one line; never echoes a value (it may be a token).
    """
    given = expand_raw_encoded({name: value for name, value in flags.items() if value is not None})
    try:
        return AgentSettings(**given)
    except ValidationError as error:
        raise SettingsError("; ".join(_describe(item) for item in error.errors())) from None
