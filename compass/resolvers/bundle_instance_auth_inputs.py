"""Input conversion for bundle instance auths: JSON text parsed, answers checked for shape."""

from __future__ import annotations

from compass.domain.bundle_instance_auth.commands import RequestInstanceAuth, SetInstanceAuth
from compass.domain.bundle_instance_auth.service import FAILED, SUCCEEDED
from compass.domain.validation import check_max_length
from compass.errors import InvalidData
from compass.resolvers.auth_inputs import auth_to_dict
from compass.schema.bundle_instance_auth import (
    BundleInstanceAuthRequestInput,
    BundleInstanceAuthSetInput,
)
from compass.schema.scalars import parse_json_text

__all__ = ["request_instance_auth_command", "set_instance_auth_command"]


def request_instance_auth_command(
    source: BundleInstanceAuthRequestInput, runtime_id: str, runtime_context_id: str | None
) -> RequestInstanceAuth:
    return RequestInstanceAuth(
        runtime_id=runtime_id,
        runtime_context_id=runtime_context_id,
        context=parse_json_text("context", source.context),
        input_params=parse_json_text("inputParams", source.input_params),
    )


def set_instance_auth_command(source: BundleInstanceAuthSetInput) -> SetInstanceAuth:
    status = source.status
    if source.auth is None and status is None:
        raise InvalidData("give the credentials in auth, or a FAILED status")
    condition = status.condition.value if status is not None else SUCCEEDED
    if source.auth is not None and condition != SUCCEEDED:
        raise InvalidData(f"auth goes with the status SUCCEEDED, not {condition}")
    if source.auth is None and condition != FAILED:
        raise InvalidData("the status SUCCEEDED needs auth")
    message = status.message.strip() if status is not None else None
    reason = status.reason.strip() if status is not None else None
    if condition == FAILED and not (message and reason):
        raise InvalidData("a FAILED status needs a message and a reason")
    check_max_length("status message", message, 2000)
    check_max_length("status reason", reason, 128)
    return SetInstanceAuth(
        auth=auth_to_dict(source.auth), condition=condition, message=message, reason=reason
    )
