"""Plain commands for bundles and their contents, built from validated input."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "APIDefinitionCommand",
    "BundleCommand",
    "DocumentCommand",
    "EventDefinitionCommand",
    "FetchRequestCommand",
    "SpecCommand",
    "VersionCommand",
]


@dataclass(frozen=True)
class FetchRequestCommand:
    url: str
    auth: dict[str, Any] | None = None
    mode: str = "SINGLE"
    filter: str | None = None


@dataclass(frozen=True)
class SpecCommand:
    type: str
    format: str
    data: str | None = None
    fetch_request: FetchRequestCommand | None = None


@dataclass(frozen=True)
class VersionCommand:
    value: str
    deprecated: bool | None = False
    deprecated_since: str | None = None
    for_removal: bool | None = False


@dataclass(frozen=True)
class APIDefinitionCommand:
    name: str
    target_url: str
    description: str | None = None
    group: str | None = None
    spec: SpecCommand | None = None
    version: VersionCommand | None = None


@dataclass(frozen=True)
class EventDefinitionCommand:
    name: str
    description: str | None = None
    group: str | None = None
    spec: SpecCommand | None = None
    version: VersionCommand | None = None


@dataclass(frozen=True)
class DocumentCommand:
    title: str
    display_name: str
    description: str
    format: str
    kind: str | None = None
    data: str | None = None
    fetch_request: FetchRequestCommand | None = None


@dataclass(frozen=True)
class BundleCommand:
    """Creation carries contents; an update uses only the first four fields."""

    name: str
    description: str | None = None
    instance_auth_request_input_schema: Any = None
    default_instance_auth: dict[str, Any] | None = None
    api_definitions: list[APIDefinitionCommand] = field(default_factory=list)
    event_definitions: list[EventDefinitionCommand] = field(default_factory=list)
    documents: list[DocumentCommand] = field(default_factory=list)
