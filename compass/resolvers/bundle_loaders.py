"""Dataloaders for bundles and their contents.

Paged children are loaded for every parent of a batch in one statement and
paged in memory, so a page of applications with bundles, definitions and
documents costs the same number of statements for 1 or 100 applications.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from functools import cached_property, partial
from typing import TYPE_CHECKING, Any

from strawberry.dataloader import DataLoader

from compass.domain.audience import Audience
from compass.domain.bundle.model import (
    APIDefinitionRow,
    BundleRow,
    DocumentRow,
    EventDefinitionRow,
)
from compass.domain.bundle.repository import (
    BundleRepository,
    ContentRepository,
    FetchRequestRepository,
)
from compass.domain.bundle_instance_auth.model import BundleInstanceAuthRow
from compass.domain.bundle_instance_auth.service import BundleInstanceAuthService
from compass.domain.pagination import PageRequest, page_of_rows
from compass.resolvers.bundle_instance_auth_convert import InstanceAuthConverter
from compass.resolvers.convert import (
    api_definition_to_type,
    bundle_to_type,
    document_to_type,
    event_definition_to_type,
    fetch_request_to_type,
    page_of,
)
from compass.resolvers.on_demand import LoaderMap
from compass.schema.bundle import (
    APIDefinition,
    APIDefinitionPage,
    Bundle,
    BundlePage,
    Document,
    DocumentPage,
    EventDefinition,
    EventDefinitionPage,
    FetchRequest,
)
from compass.schema.bundle_instance_auth import BundleInstanceAuth

if TYPE_CHECKING:
    from compass.resolvers.context import Context

__all__ = ["BundleLoaders", "bundle_instance_auth_service", "instance_auth_converter"]

# (parent id, group filter, page request)
PageKey = tuple[str, str | None, PageRequest]

_FETCH_OWNERS = {"api": APIDefinitionRow, "event": EventDefinitionRow, "document": DocumentRow}
# The paged contents of a bundle, by the field that asks for them.
CONTENTS: dict[str, type] = {
    "apiDefinitions": APIDefinitionRow,
    "eventDefinitions": EventDefinitionRow,
    "documents": DocumentRow,
}
INSTANCE_AUTHS = "instanceAuths"
_PAGE_OF: dict[type, tuple[type, Callable[[Any], Any]]] = {
    APIDefinitionRow: (APIDefinitionPage, api_definition_to_type),
    EventDefinitionRow: (EventDefinitionPage, event_definition_to_type),
    DocumentRow: (DocumentPage, document_to_type),
}


def bundle_instance_auth_service(context: Context) -> partial[BundleInstanceAuthService]:
    """The service bound to the secret box; `Context.run` adds session and tenant."""
    return partial(BundleInstanceAuthService, box=context.state.secret_box)


async def instance_auth_converter(context: Context) -> InstanceAuthConverter:
    """Converts instance auths for the request's caller (credentials where it may see them)."""
    return InstanceAuthConverter(await context.principal(), context.state.secret_box)


class BundleLoaders:
    def __init__(self, context: Context) -> None:
        self._context = context
        # Per row type (bundles, API and event definitions, documents).
        self._pages: LoaderMap[type] = LoaderMap(self._paged)
        self._singles: LoaderMap[type] = LoaderMap(self._by_id)
        self._fetches: LoaderMap[str] = LoaderMap(
            lambda kind: self._fetch_requests(_FETCH_OWNERS[kind])
        )
        # Contents read together with their bundles (see `bundles`): per row
        # type, every row of each bundle loaded so far.
        self._wanted: set[type] = set()
        self._contents: dict[type, dict[str, list[Any]]] = {t: {} for t in CONTENTS.values()}
        # Instance auths read with their bundles, and for whom they are converted.
        self._auth_reader: tuple[Audience, InstanceAuthConverter] | None = None
        self._auth_rows: dict[str, list[BundleInstanceAuthRow]] = {}

    @cached_property
    def _instance_auths(self) -> DataLoader[str, list[BundleInstanceAuthRow]]:
        return DataLoader(self._load_instance_auths)

    @staticmethod
    def _repository(session: Any, tenant_id: str, row_type: type) -> Any:
        if row_type is BundleRow:
            return BundleRepository(session, tenant_id)
        return ContentRepository(session, tenant_id, row_type)

    def _paged(self, row_type: type) -> Callable[[Sequence[PageKey]], Awaitable[list[Any]]]:
        async def load(keys: Sequence[PageKey]) -> list[Any]:
            tenant_id = await self._context.tenant_id()
            by_group: dict[str | None, set[str]] = defaultdict(set)
            for parent_id, group, _request in keys:
                by_group[group].add(parent_id)
            found: dict[str | None, dict[str, list[Any]]] = {}
            async with self._context.db() as session:
                repository = self._repository(session, tenant_id, row_type)
                for group, parents in by_group.items():
                    found[group] = await repository.for_parents(sorted(parents), group)
                if row_type is BundleRow:
                    await self._load_contents(session, tenant_id, found[None])
            return [
                page_of_rows(found[group].get(parent, []), request)
                for parent, group, request in keys
            ]

        return load

    def _by_id(self, row_type: type) -> Callable[[Sequence[str]], Awaitable[list[Any]]]:
        async def load(ids: Sequence[str]) -> list[Any]:
            tenant_id = await self._context.tenant_id()
            async with self._context.db() as session:
                found = await self._repository(session, tenant_id, row_type).by_ids(ids)
            return [found.get(i) for i in ids]

        return load

    def _fetch_requests(self, owner_type: type) -> Callable[[Sequence[str]], Awaitable[list[Any]]]:
        async def load(owner_ids: Sequence[str]) -> list[Any]:
            tenant_id = await self._context.tenant_id()
            async with self._context.db() as session:
                found = await FetchRequestRepository(session, tenant_id).for_owners(
                    owner_type, owner_ids
                )
            return [found.get(i) for i in owner_ids]

        return load

    async def _load_instance_auths(
        self, bundle_ids: Sequence[str]
    ) -> list[list[BundleInstanceAuthRow]]:
        audience = await self._context.audience()
        found = await self._context.run(
            bundle_instance_auth_service(self._context),
            lambda service: service.for_bundles(list(bundle_ids), audience),
        )
        return [found.get(i, []) for i in bundle_ids]

    async def _page(
        self, row_type: type, parent_id: str, group: str | None, first: Any, after: Any
    ) -> Any:
        request = PageRequest.of(first, after)
        return await self._pages[row_type].load((parent_id, group, request))

    async def _child(
        self, row_type: type, parent_column: str, parent_id: str, child_id: str
    ) -> Any:
        row = await self._singles[row_type].load(child_id)
        return row if row is not None and getattr(row, parent_column) == parent_id else None

    async def bundles(
        self, application_id: str, first: Any, after: Any, contents: frozenset[str] = frozenset()
    ) -> BundlePage:
        """A page of the application's bundles. `contents` names the fields the
        query asks of each bundle: those of CONTENTS are read in the same batch,
        for every bundle at once, so that each bundle answers them at once
        rather than through a loader of its own."""
        self._wanted.update(CONTENTS[name] for name in contents if name in CONTENTS)
        if INSTANCE_AUTHS in contents and self._auth_reader is None:
            converter = await instance_auth_converter(self._context)
            self._auth_reader = (await self._context.audience(), converter)
        page = await self._page(BundleRow, application_id, None, first, after)
        return page_of(BundlePage, page, bundle_to_type)

    async def _load_contents(
        self, session: Any, tenant_id: str, bundles: dict[str, list[Any]]
    ) -> None:
        bundle_ids = sorted(row.id for rows in bundles.values() for row in rows)
        for row_type in sorted(self._wanted, key=lambda t: t.__tablename__):
            found = await ContentRepository(session, tenant_id, row_type).for_parents(bundle_ids)
            self._contents[row_type].update((i, found.get(i, [])) for i in bundle_ids)
        if self._auth_reader is not None:
            service = bundle_instance_auth_service(self._context)(session, tenant_id)
            auths = await service.for_bundles(bundle_ids, self._auth_reader[0])
            self._auth_rows.update((i, auths.get(i, [])) for i in bundle_ids)

    async def bundle(self, application_id: str, bundle_id: str) -> Bundle | None:
        row = await self._child(BundleRow, "app_id", application_id, bundle_id)
        return None if row is None else bundle_to_type(row)

    def api_definitions(
        self, bundle_id: str, group: Any, first: Any, after: Any
    ) -> APIDefinitionPage | Awaitable[APIDefinitionPage]:
        return self._content_page(APIDefinitionRow, bundle_id, group, PageRequest.of(first, after))

    def event_definitions(
        self, bundle_id: str, group: Any, first: Any, after: Any
    ) -> EventDefinitionPage | Awaitable[EventDefinitionPage]:
        return self._content_page(
            EventDefinitionRow, bundle_id, group, PageRequest.of(first, after)
        )

    def documents(
        self, bundle_id: str, first: Any, after: Any
    ) -> DocumentPage | Awaitable[DocumentPage]:
        return self._content_page(DocumentRow, bundle_id, None, PageRequest.of(first, after))

    def _content_page(
        self, row_type: type, bundle_id: str, group: str | None, request: PageRequest
    ) -> Any:
        """The page at once when the bundle's rows were read with it, else later."""
        rows = self._contents[row_type].get(bundle_id)
        if rows is None:
            return self._content_page_later(row_type, bundle_id, group, request)
        if group is not None:
            rows = [row for row in rows if row.group_name == group]
        page_type, convert = _PAGE_OF[row_type]
        return page_of(page_type, page_of_rows(rows, request), convert)

    async def _content_page_later(
        self, row_type: type, bundle_id: str, group: str | None, request: PageRequest
    ) -> Any:
        page = await self._pages[row_type].load((bundle_id, group, request))
        page_type, convert = _PAGE_OF[row_type]
        return page_of(page_type, page, convert)

    async def api_definition(self, bundle_id: str, api_id: str) -> APIDefinition | None:
        row = await self._child(APIDefinitionRow, "bundle_id", bundle_id, api_id)
        return None if row is None else api_definition_to_type(row)

    async def event_definition(self, bundle_id: str, event_id: str) -> EventDefinition | None:
        row = await self._child(EventDefinitionRow, "bundle_id", bundle_id, event_id)
        return None if row is None else event_definition_to_type(row)

    async def document(self, bundle_id: str, document_id: str) -> Document | None:
        row = await self._child(DocumentRow, "bundle_id", bundle_id, document_id)
        return None if row is None else document_to_type(row)

    async def fetch_request(self, owner_kind: str, owner_id: str) -> FetchRequest | None:
        row = await self._fetches[owner_kind].load(owner_id)
        return None if row is None else fetch_request_to_type(row)

    def instance_auths(
        self, bundle_id: str
    ) -> list[BundleInstanceAuth] | Awaitable[list[BundleInstanceAuth]]:
        rows = self._auth_rows.get(bundle_id)
        if rows is None or self._auth_reader is None:
            return self._instance_auths_later(bundle_id)
        convert = self._auth_reader[1]
        return [convert(row) for row in rows]

    async def _instance_auths_later(self, bundle_id: str) -> list[BundleInstanceAuth]:
        rows = await self._instance_auths.load(bundle_id)
        convert = await instance_auth_converter(self._context)
        return [convert(row) for row in rows]

    async def instance_auth(self, bundle_id: str, auth_id: str) -> BundleInstanceAuth | None:
        rows = await self._instance_auths.load(bundle_id)
        row = next((r for r in rows if r.id == auth_id), None)
        return None if row is None else (await instance_auth_converter(self._context))(row)
