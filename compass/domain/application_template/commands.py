from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["ApplicationTemplateCommand", "PlaceholderCommand"]


@dataclass(frozen=True)
class PlaceholderCommand:
    name: str
    description: str | None = None


@dataclass(frozen=True)
class ApplicationTemplateCommand:
    """Creation and update take the same input.

    `application_input` is the registration input in its JSON form (GraphQL
    field names), with `{{placeholder}}` marks left in its strings.
    """

    name: str
    application_input: dict[str, Any]
    access_level: str
    description: str | None = None
    placeholders: list[PlaceholderCommand] = field(default_factory=list)
