"""Where applications publish events: the event gateways of runtimes."""

from __future__ import annotations

import strawberry

__all__ = ["ApplicationEventingConfiguration", "RuntimeEventingConfiguration"]


@strawberry.type
class ApplicationEventingConfiguration:
    default_url: str = strawberry.field(
        name="defaultURL",
        description="Where the application publishes its events; empty when no runtime "
        "of its scenarios has an event gateway.",
    )


@strawberry.type
class RuntimeEventingConfiguration:
    default_url: str = strawberry.field(
        name="defaultURL",
        description="The runtime's event gateway (its `runtime_eventServiceUrl` label); "
        "empty when not set.",
    )
