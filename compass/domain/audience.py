"""Whose view a query answers: the whole tenant, one application's, or one
runtime's. Applications see only themselves; runtimes see themselves and the
applications that share a scenario with them."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Audience", "EVERYONE"]


@dataclass(frozen=True)
class Audience:
    application_id: str | None = None
    runtime_id: str | None = None


EVERYONE = Audience()
