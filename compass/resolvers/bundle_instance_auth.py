"""Mutations on bundle instance auths: a runtime asks for credentials and gives
them back; the application owning the bundle answers and deletes them.

Who may act on which instance auth is the guard's (the ownership tables);
which bundles a runtime may ask for is the service's. Who sees the
credentials in the answers: see `bundle_instance_auth_convert`.
"""

from __future__ import annotations

from typing import Annotated

import strawberry

from compass.auth.principal import ConsumerType
from compass.errors import InvalidData
from compass.resolvers.bundle_instance_auth_inputs import (
    request_instance_auth_command,
    set_instance_auth_command,
)
from compass.resolvers.bundle_loaders import bundle_instance_auth_service, instance_auth_converter
from compass.resolvers.context import Context
from compass.schema.bundle_instance_auth import (
    BundleInstanceAuth,
    BundleInstanceAuthRequestInput,
    BundleInstanceAuthSetInput,
)

__all__ = ["BundleInstanceAuthMutation"]

Info = strawberry.Info[Context, None]
AuthID = Annotated[strawberry.ID, strawberry.argument(name="authID")]
RuntimeID = Annotated[
    strawberry.ID | None,
    strawberry.argument(
        name="runtimeID",
        description="The runtime asking; required unless a runtime calls for itself.",
    ),
]
RuntimeContextID = Annotated[
    strawberry.ID | None,
    strawberry.argument(
        name="runtimeContextID",
        description="A context of that runtime the credentials are for.",
    ),
]


@strawberry.type
class BundleInstanceAuthMutation:
    @strawberry.mutation(
        description="Asks for credentials to the bundle's APIs: given at once from the "
        "bundle's defaultInstanceAuth, else PENDING until the application, notified, answers."
    )
    async def request_bundle_instance_auth_creation(
        self,
        info: Info,
        bundle_id: Annotated[strawberry.ID, strawberry.argument(name="bundleID")],
        in_: Annotated[BundleInstanceAuthRequestInput, strawberry.argument(name="in")],
        runtime_id: RuntimeID = None,
        runtime_context_id: RuntimeContextID = None,
    ) -> BundleInstanceAuth:
        principal = await info.context.principal()
        # The guard has refused a runtime naming another runtime.
        own = principal.consumer_id if principal.consumer_type is ConsumerType.RUNTIME else None
        target = own or runtime_id
        if target is None:
            raise InvalidData("runtimeID is required to request a bundle instance auth")
        command = request_instance_auth_command(in_, target, runtime_context_id)
        audience = await info.context.audience()
        row = await info.context.run(
            bundle_instance_auth_service(info.context),
            lambda service: service.request_creation(bundle_id, command, audience),
        )
        return (await instance_auth_converter(info.context))(row)

    @strawberry.mutation(
        description="Gives the credentials back: UNUSED, and the application is told to revoke "
        "them; deleted at once when the application never issued any."
    )
    async def request_bundle_instance_auth_deletion(
        self, info: Info, auth_id: AuthID
    ) -> BundleInstanceAuth:
        row = await info.context.run(
            bundle_instance_auth_service(info.context),
            lambda service: service.request_deletion(auth_id),
        )
        return (await instance_auth_converter(info.context))(row)

    @strawberry.mutation(
        description="The application's answer to a PENDING request: credentials, or FAILED."
    )
    async def set_bundle_instance_auth(
        self,
        info: Info,
        auth_id: AuthID,
        in_: Annotated[BundleInstanceAuthSetInput, strawberry.argument(name="in")],
    ) -> BundleInstanceAuth:
        command = set_instance_auth_command(in_)
        row = await info.context.run(
            bundle_instance_auth_service(info.context),
            lambda service: service.set_auth(auth_id, command),
        )
        return (await instance_auth_converter(info.context))(row)

    @strawberry.mutation(description="Deletes the instance auth; answers its last state.")
    async def delete_bundle_instance_auth(self, info: Info, auth_id: AuthID) -> BundleInstanceAuth:
        row = await info.context.run(
            bundle_instance_auth_service(info.context),
            lambda service: service.delete(auth_id),
        )
        return (await instance_auth_converter(info.context))(row)
