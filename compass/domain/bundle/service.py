"""Rules for bundles and their contents.

Inline specifications must parse in their declared format. A specification
or document given as a fetch request is downloaded after the transaction
commits: the request is stored as INITIAL and an outbox row is written with
it, so the mutation never waits for the remote server.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from compass.db import utcnow
from compass.domain.application.repository import ApplicationRepository
from compass.domain.bundle.commands import (
    APIDefinitionCommand,
    BundleCommand,
    DocumentCommand,
    EventDefinitionCommand,
    FetchRequestCommand,
    SpecCommand,
)
from compass.domain.bundle.model import (
    APIDefinitionRow,
    BundleRow,
    DocumentRow,
    EventDefinitionRow,
    FetchRequestRow,
)
from compass.domain.bundle.repository import (
    BundleRepository,
    ContentRepository,
    FetchRequestRepository,
)
from compass.domain.bundle.specs import check_format, check_spec_data, check_spec_size
from compass.domain.limits import Limits, limits_of
from compass.errors import InvalidData, NotFound
from compass.notifications.outbox import enqueue

__all__ = ["BundleService", "ContentService", "FETCH_KIND"]

FETCH_KIND = "fetch_request"
_DEFINITION_KINDS = {APIDefinitionRow: "API definition", EventDefinitionRow: "event definition"}


def _unsupported(command: FetchRequestCommand) -> str | None:
    if command.mode != "SINGLE":
        return f"fetch mode {command.mode} is not supported"
    if command.filter:
        return "fetch filters are not supported"
    credential = (command.auth or {}).get("credential") or {}
    if command.auth and (set(command.auth) - {"credential"} or "oauth" in credential):
        return "only basic credentials are supported for fetching"
    return None


class _Fetches:
    """Fetch requests of definitions and documents, and their outbox rows."""

    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self.session = session
        self.tenant_id = tenant_id
        self.requests = FetchRequestRepository(session, tenant_id)

    async def attach(
        self, owner_type: type, owner_id: str, command: FetchRequestCommand | None
    ) -> None:
        if command is None:
            await self.requests.replace(owner_type, owner_id, None)
            return
        problem = _unsupported(command)
        row = FetchRequestRow(
            tenant_id=self.tenant_id,
            url=command.url,
            auth=command.auth,
            mode=command.mode,
            filter=command.filter,
            status_condition="FAILED" if problem else "INITIAL",
            status_message=problem,
            status_timestamp=utcnow(),
        )
        await self.requests.replace(owner_type, owner_id, row)
        if problem is None:
            await self.schedule(row)

    async def schedule(self, row: FetchRequestRow) -> None:
        await enqueue(
            self.session, FETCH_KIND, {"tenant_id": self.tenant_id, "fetch_request_id": row.id}
        )

    async def refetch(self, owner_type: type, owner_id: str) -> FetchRequestRow:
        row = (await self.requests.for_owners(owner_type, [owner_id])).get(owner_id)
        if row is None:
            raise InvalidData(f"{owner_id} has no fetch request to run again")
        if _unsupported(_command_of(row)) is None:
            row.status_condition, row.status_message = "INITIAL", None
            row.status_timestamp = utcnow()
            await self.requests.save(row)
            await self.schedule(row)
        return row


def _command_of(row: FetchRequestRow) -> FetchRequestCommand:
    return FetchRequestCommand(url=row.url, auth=row.auth, mode=row.mode, filter=row.filter)


def _check_spec(owner: str, spec: SpecCommand | None, limits: Limits) -> None:
    if spec is None:
        return
    check_format(owner, spec.type, spec.format)
    if spec.data is None and spec.fetch_request is None:
        raise InvalidData(f"{owner}: a specification needs data or a fetchRequest")
    if spec.data is not None:
        check_spec_size(owner, spec.data, limits.spec_bytes)
        check_spec_data(owner, spec.format, spec.data, limits.json_depth)


def _definition_values(command: APIDefinitionCommand | EventDefinitionCommand) -> dict[str, Any]:
    spec, version = command.spec, command.version
    values = {
        "name": command.name,
        "description": command.description,
        "group_name": command.group,
        "spec_data": spec.data if spec else None,
        "spec_type": spec.type if spec else None,
        "spec_format": spec.format if spec else None,
        "version_value": version.value if version else None,
        "version_deprecated": version.deprecated if version else None,
        "version_deprecated_since": version.deprecated_since if version else None,
        "version_for_removal": version.for_removal if version else None,
    }
    if isinstance(command, APIDefinitionCommand):
        values["target_url"] = command.target_url
    return values


class ContentService:
    """API definitions, event definitions and documents of a tenant's bundles."""

    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self.tenant_id = tenant_id
        self.bundles = BundleRepository(session, tenant_id)
        self.fetches = _Fetches(session, tenant_id)
        self._session = session

    def repository(self, row_type: type) -> ContentRepository[Any]:
        return ContentRepository(self._session, self.tenant_id, row_type)

    async def _existing_bundle(self, bundle_id: str) -> BundleRow:
        bundle = await self.bundles.get(bundle_id)
        if bundle is None:
            raise NotFound.of("bundle", bundle_id)
        return bundle

    async def existing(self, row_type: type, row_id: str) -> Any:
        row = await self.repository(row_type).get(row_id)
        if row is None:
            kind = _DEFINITION_KINDS.get(row_type, "document")
            raise NotFound.of(kind, row_id)
        return row

    async def add_definition(
        self, row_type: type, bundle_id: str, command: APIDefinitionCommand | EventDefinitionCommand
    ) -> Any:
        await self._existing_bundle(bundle_id)
        _check_spec(
            f"{_DEFINITION_KINDS[row_type]} {command.name!r}",
            command.spec,
            limits_of(self._session),
        )
        row = await self.repository(row_type).add(
            row_type(tenant_id=self.tenant_id, bundle_id=bundle_id, **_definition_values(command))
        )
        await self.fetches.attach(row_type, row.id, command.spec and command.spec.fetch_request)
        return row

    async def update_definition(
        self, row_type: type, row_id: str, command: APIDefinitionCommand | EventDefinitionCommand
    ) -> Any:
        row = await self.existing(row_type, row_id)
        _check_spec(
            f"{_DEFINITION_KINDS[row_type]} {command.name!r}",
            command.spec,
            limits_of(self._session),
        )
        for name, value in _definition_values(command).items():
            setattr(row, name, value)
        await self.repository(row_type).save(row)
        await self.fetches.attach(row_type, row.id, command.spec and command.spec.fetch_request)
        return row

    async def delete(self, row_type: type, row_id: str) -> Any:
        row = await self.existing(row_type, row_id)
        await self.repository(row_type).delete(row)
        return row

    async def refetch(self, row_type: type, row_id: str) -> tuple[Any, FetchRequestRow]:
        row = await self.existing(row_type, row_id)
        return row, await self.fetches.refetch(row_type, row_id)

    async def add_document(self, bundle_id: str, command: DocumentCommand) -> DocumentRow:
        await self._existing_bundle(bundle_id)
        if command.data is None and command.fetch_request is None:
            raise InvalidData(f"document {command.title!r} needs data or a fetchRequest")
        if command.data is not None:
            check_spec_size(
                f"document {command.title!r}", command.data, limits_of(self._session).spec_bytes
            )
        row = await self.repository(DocumentRow).add(
            DocumentRow(
                tenant_id=self.tenant_id,
                bundle_id=bundle_id,
                title=command.title,
                display_name=command.display_name,
                description=command.description,
                format=command.format,
                kind=command.kind,
                data=command.data,
            )
        )
        await self.fetches.attach(DocumentRow, row.id, command.fetch_request)
        return row


class BundleService:
    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self.tenant_id = tenant_id
        self.bundles = BundleRepository(session, tenant_id)
        self.applications = ApplicationRepository(session, tenant_id)
        self.contents = ContentService(session, tenant_id)

    async def add(self, application_id: str, command: BundleCommand) -> BundleRow:
        if await self.applications.get(application_id) is None:
            raise NotFound.of("application", application_id)
        return await self.create_in(application_id, command)

    async def create_in(self, application_id: str, command: BundleCommand) -> BundleRow:
        """Creates the bundle with everything it holds (the application exists)."""
        row = await self.bundles.add(
            BundleRow(
                tenant_id=self.tenant_id,
                app_id=application_id,
                name=command.name,
                description=command.description,
                instance_auth_request_input_schema=command.instance_auth_request_input_schema,
                default_instance_auth=command.default_instance_auth,
            )
        )
        for api in command.api_definitions:
            await self.contents.add_definition(APIDefinitionRow, row.id, api)
        for event in command.event_definitions:
            await self.contents.add_definition(EventDefinitionRow, row.id, event)
        for document in command.documents:
            await self.contents.add_document(row.id, document)
        return row

    async def update(self, bundle_id: str, command: BundleCommand) -> BundleRow:
        row = await self.get_existing(bundle_id)
        row.name = command.name
        row.description = command.description
        row.instance_auth_request_input_schema = command.instance_auth_request_input_schema
        row.default_instance_auth = command.default_instance_auth
        await self.bundles.save(row)
        return row

    async def delete(self, bundle_id: str) -> BundleRow:
        row = await self.get_existing(bundle_id)
        await self.bundles.delete(row)
        return row

    async def get(self, bundle_id: str) -> BundleRow | None:
        return await self.bundles.get(bundle_id)

    async def get_existing(self, bundle_id: str) -> BundleRow:
        row = await self.bundles.get(bundle_id)
        if row is None:
            raise NotFound.of("bundle", bundle_id)
        return row
