from __future__ import annotations

from typing import Annotated

import strawberry

from compass.domain.bundle.model import APIDefinitionRow, DocumentRow, EventDefinitionRow
from compass.domain.bundle.service import BundleService, ContentService
from compass.resolvers.bundle_inputs import (
    api_definition_command,
    bundle_command,
    bundle_update_command,
    document_command,
    event_definition_command,
)
from compass.resolvers.context import Context
from compass.resolvers.convert import (
    api_definition_to_type,
    bundle_to_type,
    document_to_type,
    event_definition_to_type,
)
from compass.schema.bundle import (
    APIDefinition,
    APIDefinitionInput,
    APISpec,
    Bundle,
    BundleCreateInput,
    BundleUpdateInput,
    Document,
    DocumentInput,
    EventDefinition,
    EventDefinitionInput,
    EventSpec,
)

Info = strawberry.Info[Context, None]
BundleID = Annotated[strawberry.ID, strawberry.argument(name="bundleID")]


@strawberry.type
class BundleMutation:
    @strawberry.mutation
    async def add_bundle(
        self,
        info: Info,
        application_id: Annotated[strawberry.ID, strawberry.argument(name="applicationID")],
        in_: Annotated[BundleCreateInput, strawberry.argument(name="in")],
    ) -> Bundle:
        command = bundle_command(in_)
        row = await info.context.run(
            BundleService, lambda service: service.add(application_id, command)
        )
        return bundle_to_type(row)

    @strawberry.mutation
    async def update_bundle(
        self,
        info: Info,
        id: strawberry.ID,
        in_: Annotated[BundleUpdateInput, strawberry.argument(name="in")],
    ) -> Bundle:
        command = bundle_update_command(in_)
        row = await info.context.run(BundleService, lambda service: service.update(id, command))
        return bundle_to_type(row)

    @strawberry.mutation(description="Deletes the bundle with its definitions and documents.")
    async def delete_bundle(self, info: Info, id: strawberry.ID) -> Bundle:
        row = await info.context.run(BundleService, lambda service: service.delete(id))
        return bundle_to_type(row)

    @strawberry.mutation(name="addAPIDefinitionToBundle")
    async def add_api_definition_to_bundle(
        self,
        info: Info,
        bundle_id: BundleID,
        in_: Annotated[APIDefinitionInput, strawberry.argument(name="in")],
    ) -> APIDefinition:
        command = api_definition_command(in_)
        row = await info.context.run(
            ContentService,
            lambda service: service.add_definition(APIDefinitionRow, bundle_id, command),
        )
        return api_definition_to_type(row)

    @strawberry.mutation(name="updateAPIDefinition")
    async def update_api_definition(
        self,
        info: Info,
        id: strawberry.ID,
        in_: Annotated[APIDefinitionInput, strawberry.argument(name="in")],
    ) -> APIDefinition:
        command = api_definition_command(in_)
        row = await info.context.run(
            ContentService, lambda service: service.update_definition(APIDefinitionRow, id, command)
        )
        return api_definition_to_type(row)

    @strawberry.mutation(name="deleteAPIDefinition")
    async def delete_api_definition(self, info: Info, id: strawberry.ID) -> APIDefinition:
        row = await info.context.run(
            ContentService, lambda service: service.delete(APIDefinitionRow, id)
        )
        return api_definition_to_type(row)

    @strawberry.mutation(name="refetchAPISpec", description="Downloads the specification again.")
    async def refetch_api_spec(
        self, info: Info, api_id: Annotated[strawberry.ID, strawberry.argument(name="apiID")]
    ) -> APISpec:
        row, _ = await info.context.run(
            ContentService, lambda service: service.refetch(APIDefinitionRow, api_id)
        )
        spec = api_definition_to_type(row).spec
        assert spec is not None  # a definition with a fetch request has a spec
        return spec

    @strawberry.mutation
    async def add_event_definition_to_bundle(
        self,
        info: Info,
        bundle_id: BundleID,
        in_: Annotated[EventDefinitionInput, strawberry.argument(name="in")],
    ) -> EventDefinition:
        command = event_definition_command(in_)
        row = await info.context.run(
            ContentService,
            lambda service: service.add_definition(EventDefinitionRow, bundle_id, command),
        )
        return event_definition_to_type(row)

    @strawberry.mutation
    async def update_event_definition(
        self,
        info: Info,
        id: strawberry.ID,
        in_: Annotated[EventDefinitionInput, strawberry.argument(name="in")],
    ) -> EventDefinition:
        command = event_definition_command(in_)
        row = await info.context.run(
            ContentService,
            lambda service: service.update_definition(EventDefinitionRow, id, command),
        )
        return event_definition_to_type(row)

    @strawberry.mutation
    async def delete_event_definition(self, info: Info, id: strawberry.ID) -> EventDefinition:
        row = await info.context.run(
            ContentService, lambda service: service.delete(EventDefinitionRow, id)
        )
        return event_definition_to_type(row)

    @strawberry.mutation(description="Downloads the specification again.")
    async def refetch_event_definition_spec(
        self, info: Info, event_id: Annotated[strawberry.ID, strawberry.argument(name="eventID")]
    ) -> EventSpec:
        row, _ = await info.context.run(
            ContentService, lambda service: service.refetch(EventDefinitionRow, event_id)
        )
        spec = event_definition_to_type(row).spec
        assert spec is not None  # a definition with a fetch request has a spec
        return spec

    @strawberry.mutation
    async def add_document_to_bundle(
        self,
        info: Info,
        bundle_id: BundleID,
        in_: Annotated[DocumentInput, strawberry.argument(name="in")],
    ) -> Document:
        command = document_command(in_)
        row = await info.context.run(
            ContentService, lambda service: service.add_document(bundle_id, command)
        )
        return document_to_type(row)

    @strawberry.mutation
    async def delete_document(self, info: Info, id: strawberry.ID) -> Document:
        row = await info.context.run(
            ContentService, lambda service: service.delete(DocumentRow, id)
        )
        return document_to_type(row)
