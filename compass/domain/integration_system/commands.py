from __future__ import annotations

from dataclasses import dataclass

__all__ = ["IntegrationSystemCommand"]


@dataclass(frozen=True)
class IntegrationSystemCommand:
    """Registration and update take the same input."""

    name: str
    description: str | None = None
