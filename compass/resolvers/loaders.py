"""Per-request dataloaders: nested fields of a page cost one query each, not one per item."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from graphql import FieldNode, FragmentSpreadNode, SelectionSetNode
from strawberry.dataloader import DataLoader

from compass.auth.scopes import WEBHOOK_CREDENTIALS_SCOPE
from compass.domain.application.repository import ApplicationRepository
from compass.domain.eventing.service import EventingService, runtime_event_url
from compass.domain.label.repository import LabelRepository, ObjectKind
from compass.resolvers.auth_loaders import AuthLoaders
from compass.resolvers.bundle_loaders import BundleLoaders
from compass.resolvers.convert import webhook_to_type
from compass.resolvers.provisioner_loaders import ProvisionerLoaders
from compass.resolvers.webhook_loaders import WebhookLoaders
from compass.schema.application import Webhook

if TYPE_CHECKING:
    from compass.resolvers.context import Context

__all__ = ["Loaders", "selects_total_count"]

WEBHOOK_SECRETS_SCOPE = WEBHOOK_CREDENTIALS_SCOPE


def selects_total_count(info: Any) -> bool:
    """Whether the query asks for `totalCount` of the field being resolved
    (through fragments too): counting every match is done only when it does.
    Walks graphql-core's nodes: strawberry's `selected_fields` converts the
    whole sub-tree, directives and all, which costs more than the count."""
    raw = info._raw_info
    return any(
        _asks_total_count(node.selection_set, raw.fragments)
        for node in raw.field_nodes
        if node.selection_set is not None
    )


def _asks_total_count(selection_set: SelectionSetNode, fragments: dict[str, Any]) -> bool:
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            if selection.name.value == "totalCount":
                return True
            continue
        if isinstance(selection, FragmentSpreadNode):
            selection = fragments.get(selection.name.value)
        if selection is not None and _asks_total_count(selection.selection_set, fragments):
            return True
    return False


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
        self._labels = {kind: DataLoader(self._labels_of(kind)) for kind in ObjectKind}
        self._webhooks = DataLoader(self._load_webhooks)
        self._event_urls = DataLoader(self._load_event_urls)

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

    async def application_labels(self, object_id: str, key: str | None) -> dict[str, Any]:
        return _pick(await self._labels[ObjectKind.APPLICATION].load(object_id), key)

    async def runtime_labels(self, object_id: str, key: str | None) -> dict[str, Any]:
        return _pick(await self._labels[ObjectKind.RUNTIME].load(object_id), key)

    async def runtime_context_labels(self, object_id: str, key: str | None) -> dict[str, Any]:
        return _pick(await self._labels[ObjectKind.RUNTIME_CONTEXT].load(object_id), key)

    async def application_webhooks(self, application_id: str) -> list[Webhook]:
        return await self._webhooks.load(application_id)

    async def application_event_url(self, application_id: str) -> str:
        return await self._event_urls.load(application_id)

    async def runtime_event_url(self, runtime_id: str) -> str:
        return runtime_event_url(await self._labels[ObjectKind.RUNTIME].load(runtime_id))
