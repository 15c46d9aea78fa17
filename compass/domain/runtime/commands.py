from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["RuntimeCommand"]


@dataclass(frozen=True)
class RuntimeCommand:
    """Registration and update take the same input."""

    name: str
    description: str | None = None
    labels: dict[str, Any] | None = field(default=None)
    status_condition: str | None = None
