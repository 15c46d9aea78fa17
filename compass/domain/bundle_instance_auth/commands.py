"""Plain commands for bundle instance auths, built from validated input."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["RequestInstanceAuth", "SetInstanceAuth"]


@dataclass(frozen=True)
class RequestInstanceAuth:
    """A runtime asks for credentials; `input_params` is checked against the
    bundle's instanceAuthRequestInputSchema by the service."""

    runtime_id: str
    runtime_context_id: str | None = None
    context: Any = None
    input_params: Any = None


@dataclass(frozen=True)
class SetInstanceAuth:
    """The application's answer: credentials (SUCCEEDED) or a refusal (FAILED).
    Input conversion guarantees that exactly one of the two is meant."""

    auth: dict[str, Any] | None
    condition: str
    message: str | None = None
    reason: str | None = None
