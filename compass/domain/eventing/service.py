"""Eventing: where an application publishes its events.

Runtimes announce their event gateway with the label `runtime_eventServiceUrl`;
the runtime's own event URL is that value as it is (as upstream). An
application publishes to `<gateway>/<application name>/v1/events` of its
default runtime, `<gateway>` being the label's `scheme://host[:port]`: the
runtime chosen explicitly while it still shares a scenario with the
application, else the oldest runtime sharing a scenario that carries the
label. Without one the URL is empty.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from compass.domain.application.model import ApplicationRow
from compass.domain.application.repository import ApplicationRepository
from compass.domain.eventing.repository import (
    EVENT_URL_KEY,
    ApplicationFacts,
    EventingRepository,
    RuntimeFacts,
)
from compass.domain.label.repository import LabelRepository, ObjectKind
from compass.domain.label.scenarios import SCENARIOS_KEY, scenario_names
from compass.domain.runtime.repository import RuntimeRepository
from compass.errors import InvalidData, NotFound
from compass.notifications.events import EventType, notify_application

__all__ = ["EVENT_URL_KEY", "EventingService", "gateway_url", "runtime_event_url"]


def gateway_url(value: Any) -> str:
    """`scheme://host[:port]` of an event service URL label, or "" when it is not one."""
    if not isinstance(value, str):
        return ""
    parts = urlsplit(value)
    host = parts.netloc.rpartition("@")[2]
    if parts.scheme not in ("http", "https") or not host:
        return ""
    return f"{parts.scheme}://{host}"


def runtime_event_url(labels: dict[str, Any]) -> str:
    """The runtime's `runtime_eventServiceUrl` label as it is ("" unless a string)."""
    value = labels.get(EVENT_URL_KEY)
    return value if isinstance(value, str) else ""


def _application_url(gateway: str, application_name: str) -> str:
    return f"{gateway}/{application_name}/v1/events" if gateway else ""


def _scenarios(value: Any) -> set[str]:
    return set(scenario_names(value))


def _default_runtime(
    application: ApplicationFacts, runtimes: Sequence[RuntimeFacts]
) -> RuntimeFacts | None:
    scenarios = _scenarios(application.scenarios)
    sharing = [r for r in runtimes if scenarios & _scenarios(r.scenarios)]
    for runtime in sharing:
        if runtime.id == application.default_runtime_id:
            return runtime
    return next((r for r in sharing if gateway_url(r.event_url)), None)


class EventingService:
    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self.session = session
        self.tenant_id = tenant_id
        self.eventing = EventingRepository(session, tenant_id)
        self.applications = ApplicationRepository(session, tenant_id)
        self.runtimes = RuntimeRepository(session, tenant_id)
        self.labels = LabelRepository(session, tenant_id)

    async def set_default(self, application_id: str, runtime_id: str) -> str:
        """Chooses the application's runtime; returns the application's event URL."""
        application = await self._application(application_id)
        if await self.runtimes.get(runtime_id) is None:
            raise NotFound.of("runtime", runtime_id)
        shared = _scenarios(
            await self._label(ObjectKind.APPLICATION, application_id, SCENARIOS_KEY)
        ) & _scenarios(await self._label(ObjectKind.RUNTIME, runtime_id, SCENARIOS_KEY))
        if not shared:
            raise InvalidData(
                f"runtime {runtime_id!r} shares no scenario with application {application_id!r}"
            )
        await self.eventing.set_default(application_id, runtime_id)
        url = await self._url_of(application, runtime_id)
        await self._notify(application_id, url, runtime_id)
        return url

    async def delete_default(self, application_id: str) -> str:
        """Forgets the explicit choice; returns the event URL it gave ("" when none)."""
        application = await self._application(application_id)
        row = await self.eventing.get_default(application_id)
        if row is None:
            return ""
        url = await self._url_of(application, row.runtime_id)
        await self.eventing.delete_default(row)
        await self.session.flush()
        now = (await self.application_urls([application_id])).get(application_id, "")
        await self._notify(application_id, now, None)
        return url

    async def _notify(self, application_id: str, url: str, runtime_id: str | None) -> None:
        """The application's default eventing changed: its event URL, and the runtime chosen."""
        runtime = await self.runtimes.get(runtime_id) if runtime_id else None
        concerned: dict[str, object] = {"defaultURL": url}
        if runtime is not None:
            concerned["runtime"] = {"id": runtime.id, "name": runtime.name}
        await notify_application(
            self.session,
            self.tenant_id,
            application_id,
            EventType.DEFAULT_EVENTING_CHANGED,
            concerned,
        )

    async def application_urls(self, application_ids: Sequence[str]) -> dict[str, str]:
        """The event URL of each application, in two statements for any number of them."""
        applications = await self.eventing.applications(application_ids)
        if not applications:
            return {}
        chosen = {a.default_runtime_id for a in applications if a.default_runtime_id}
        runtimes = await self.eventing.runtimes(also=chosen)
        result = {}
        for application in applications:
            runtime = _default_runtime(application, runtimes)
            gateway = gateway_url(runtime.event_url) if runtime else ""
            result[application.id] = _application_url(gateway, application.name)
        return result

    async def _application(self, application_id: str) -> ApplicationRow:
        row = await self.applications.get(application_id)
        if row is None:
            raise NotFound.of("application", application_id)
        return row

    async def _label(self, kind: ObjectKind, object_id: str, key: str) -> Any:
        row = await self.labels.get(kind, object_id, key)
        return None if row is None else row.value

    async def _url_of(self, application: ApplicationRow, runtime_id: str) -> str:
        gateway = gateway_url(await self._label(ObjectKind.RUNTIME, runtime_id, EVENT_URL_KEY))
        return _application_url(gateway, application.name)
