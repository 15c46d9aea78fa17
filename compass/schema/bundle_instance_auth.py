"""Bundle instance auths: the credentials a runtime obtains to call a bundle's APIs."""

from __future__ import annotations

import enum

import strawberry

from compass.schema.auth import Auth, AuthInput
from compass.schema.scalars import JSON, Timestamp

__all__ = [
    "BundleInstanceAuth",
    "BundleInstanceAuthRequestInput",
    "BundleInstanceAuthSetInput",
    "BundleInstanceAuthSetStatusConditionInput",
    "BundleInstanceAuthStatus",
    "BundleInstanceAuthStatusCondition",
    "BundleInstanceAuthStatusInput",
]


@strawberry.enum(description="Where a runtime's request for credentials stands.")
class BundleInstanceAuthStatusCondition(enum.Enum):
    PENDING = strawberry.enum_value(
        "PENDING", description="Asked for; the application has not answered yet."
    )
    SUCCEEDED = strawberry.enum_value("SUCCEEDED", description="Credentials are available.")
    FAILED = strawberry.enum_value(
        "FAILED", description="The application declined to provide credentials."
    )
    UNUSED = strawberry.enum_value(
        "UNUSED",
        description="Given back by the runtime; the application revokes and deletes them.",
    )


@strawberry.enum(description="The answers an application can give to a pending request.")
class BundleInstanceAuthSetStatusConditionInput(enum.Enum):
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


@strawberry.type
class BundleInstanceAuthStatus:
    condition: BundleInstanceAuthStatusCondition
    timestamp: Timestamp
    message: str
    reason: str = strawberry.field(
        description="A short machine-readable cause, e.g. CredentialsProvided or PendingDeletion."
    )


@strawberry.type(description="Credentials one runtime holds for the APIs of one bundle.")
class BundleInstanceAuth:
    id: strawberry.ID
    context: JSON | None = strawberry.field(
        description="What the runtime said the credentials are for (JSON text)."
    )
    input_params: JSON | None = strawberry.field(
        description="The runtime's parameters, valid for the bundle's request schema."
    )
    auth: Auth | None = strawberry.field(
        description="The credentials; shown to the runtime holding them, the application "
        "owning the bundle and callers with the scope bundle.instance_auths:read."
    )
    status: BundleInstanceAuthStatus
    runtime_id: strawberry.ID | None = strawberry.field(
        name="runtimeID", description="The runtime holding the credentials."
    )
    runtime_context_id: strawberry.ID | None = strawberry.field(
        name="runtimeContextID", description="The runtime context they were asked for, if any."
    )


@strawberry.input(description="A runtime's request for credentials to a bundle's APIs.")
class BundleInstanceAuthRequestInput:
    context: JSON | None = strawberry.field(
        default=None, description="Free JSON text: what the credentials are for."
    )
    input_params: JSON | None = strawberry.field(
        default=None,
        description="JSON text checked against the bundle's instanceAuthRequestInputSchema.",
    )


@strawberry.input
class BundleInstanceAuthStatusInput:
    condition: BundleInstanceAuthSetStatusConditionInput = (
        BundleInstanceAuthSetStatusConditionInput.SUCCEEDED
    )
    message: str = strawberry.field(description="Required non-empty when the answer is FAILED.")
    reason: str = strawberry.field(description="Required non-empty when the answer is FAILED.")


@strawberry.input(
    description="An application's answer to a pending request: credentials, or a FAILED status."
)
class BundleInstanceAuthSetInput:
    auth: AuthInput | None = strawberry.field(
        default=None, description="The credentials; the status, if given, must be SUCCEEDED."
    )
    status: BundleInstanceAuthStatusInput | None = strawberry.field(
        default=None, description="Required without auth; FAILED only without auth."
    )
