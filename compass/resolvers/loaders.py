"""Per-request dataloaders: nested fields of a page cost one query each, not one per item."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from strawberry.dataloader import DataLoader

from compass.auth.scopes import WEBHOOK_CREDENTIALS_SCOPE
from compass.domain.application.repository import ApplicationRepository
from compass.domain.eventing.service import EventingService, runtime_event_url
from compass.domain.label.repository import LabelRepository, ObjectKind
from compass.resolvers.auth_loaders import AuthLoaders
from compass.resolvers.bundle_loaders import BundleLoaders
from compass.resolvers.convert import webhook_to_type
from compass.resolvers.on_demand import LoaderMap
from compass.resolvers.provisioner_loaders import ProvisionerLoaders
from compass.resolvers.webhook_loaders import WebhookLoaders
from compass.schema.application import Webhook
from compass.schema.eventing import ApplicationEventingConfiguration

if TYPE_CHECKING:
    from compass.resolvers.context import Context

__all__ = ["Loaders"]

WEBHOOK_SECRETS_SCOPE = WEBHOOK_CREDENTIALS_SCOPE


def _pick(labels: dict[str, Any], key: str | None) -> dict[str, Any]:
    if key is None:
        return labels
    return {key: labels[key]} if key in labels else {}


class Loaders(BundleLoaders, AuthLoaders, ProvisionerLoaders, WebhookLoaders):
    def __init__(self, context: Context) -> None:
        BundleLoaders.__init__(self, context)
        AuthLoaders.__init__(self, context)
        ProvisionerLoaders.__init__(self, context)
        WebhookLoaders.__init__(self, context)
        self._labels: LoaderMap[ObjectKind] = LoaderMap(self._labels_of)
        # Read for a whole page of applications by `read_with_applications`.
        self._application_labels: dict[str, dict[str, Any]] = {}
        self._application_urls: dict[str, str] = {}

    @cached_property
    def _webhooks(self) -> DataLoader[str, list[Webhook]]:
        return DataLoader(self._load_webhooks)

    @cached_property
    def _event_urls(self) -> DataLoader[str, str]:
        return DataLoader(self._load_event_urls)

    def _labels_of(
        self, kind: ObjectKind
    ) -> Callable[[Sequence[str]], Awaitable[list[dict[str, Any]]]]:
        async def load(ids: Sequence[str]) -> list[dict[str, Any]]:
            tenant_id = await self._context.tenant_id()
            async with self._context.db() as session:
                found = await LabelRepository(session, tenant_id).for_objects(kind, ids)
            return [{row.key: row.value for row in found.get(i, [])} for i in ids]

        return load

    async def _load_webhooks(self, ids: Sequence[str]) -> list[list[Webhook]]:
        tenant_id = await self._context.tenant_id()
        principal = await self._context.principal()
        with_auth = WEBHOOK_SECRETS_SCOPE in principal.scopes
        async with self._context.db() as session:
            found = await ApplicationRepository(session, tenant_id).webhooks_for(ids)
        return [[webhook_to_type(row, with_auth) for row in found.get(i, [])] for i in ids]

    async def _load_event_urls(self, ids: Sequence[str]) -> list[str]:
        tenant_id = await self._context.tenant_id()
        async with self._context.db() as session:
            found = await EventingService(session, tenant_id).application_urls(ids)
        return [found.get(i, "") for i in ids]

    async def read_with_applications(self, ids: list[str], fields: frozenset[str]) -> None:
        """Reads what the query asks of every application of a page (`fields`)
        with the page, one statement each: each application then answers at
        once instead of through a loader of its own."""
        if "labels" in fields:
            found = await self._labels_of(ObjectKind.APPLICATION)(ids)
            self._application_labels.update(zip(ids, found, strict=True))
        if "eventingConfiguration" in fields:
            self._application_urls.update(zip(ids, await self._load_event_urls(ids), strict=True))

    def application_labels(
        self, object_id: str, key: str | None
    ) -> dict[str, Any] | Awaitable[dict[str, Any]]:
        labels = self._application_labels.get(object_id)
        if labels is None:
            return self._labels_later(ObjectKind.APPLICATION, object_id, key)
        return _pick(labels, key)

    async def _labels_later(self, kind: ObjectKind, object_id: str, key: str | None) -> dict:
        return _pick(await self._labels[kind].load(object_id), key)

    def application_eventing(
        self, application_id: str
    ) -> ApplicationEventingConfiguration | Awaitable[ApplicationEventingConfiguration]:
        url = self._application_urls.get(application_id)
        if url is None:
            return self._application_eventing_later(application_id)
        return ApplicationEventingConfiguration(default_url=url)

    async def _application_eventing_later(
        self, application_id: str
    ) -> ApplicationEventingConfiguration:
        url = await self._event_urls.load(application_id)
        return ApplicationEventingConfiguration(default_url=url)

    async def runtime_labels(self, object_id: str, key: str | None) -> dict[str, Any]:
        return _pick(await self._labels[ObjectKind.RUNTIME].load(object_id), key)

    async def runtime_context_labels(self, object_id: str, key: str | None) -> dict[str, Any]:
        return _pick(await self._labels[ObjectKind.RUNTIME_CONTEXT].load(object_id), key)

    async def application_webhooks(self, application_id: str) -> list[Webhook]:
        return await self._webhooks.load(application_id)

    async def runtime_event_url(self, runtime_id: str) -> str:
        return runtime_event_url(await self._labels[ObjectKind.RUNTIME].load(runtime_id))
