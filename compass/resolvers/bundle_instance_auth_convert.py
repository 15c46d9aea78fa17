"""Bundle instance auths as GraphQL types, and who sees their credentials.

The rule, the same as for webhook credentials (`application.webhooks:read`):
secrets are shown to the parties they belong to, and to other callers only
with the read scope named for them.

- the runtime holding the instance auth sees its credentials;
- the application owning the bundle sees them (it issued them);
- anyone else (users, integration systems) only with `bundle.instance_auths:read`,
  which an administrator token carries by default; without it `auth` is null.

Runtimes and applications only ever reach their own instance auths: the
services narrow lists to them and the guard refuses mutations on others', so
"sees it" implies "owns it" for those two kinds of caller.
"""

from __future__ import annotations

import json

import strawberry

from compass.auth.principal import ConsumerType, Principal
from compass.auth.scopes import INSTANCE_AUTH_CREDENTIALS_SCOPE
from compass.domain.bundle_instance_auth.model import BundleInstanceAuthRow
from compass.pki.secret_box import SecretBox
from compass.resolvers.convert import auth_from_dict
from compass.schema.bundle_instance_auth import (
    BundleInstanceAuth,
    BundleInstanceAuthStatus,
    BundleInstanceAuthStatusCondition,
)
from compass.schema.scalars import JSON, Timestamp

__all__ = ["INSTANCE_AUTH_SECRETS_SCOPE", "InstanceAuthConverter"]

INSTANCE_AUTH_SECRETS_SCOPE = INSTANCE_AUTH_CREDENTIALS_SCOPE
_PARTIES = (ConsumerType.RUNTIME, ConsumerType.APPLICATION)


def _json(value: object) -> JSON | None:
    return None if value is None else JSON(json.dumps(value))


class InstanceAuthConverter:
    """Converts rows for one caller, opening credentials only where it may see them."""

    def __init__(self, principal: Principal, box: SecretBox) -> None:
        self._box = box
        self._with_auth = (
            principal.consumer_type in _PARTIES or INSTANCE_AUTH_SECRETS_SCOPE in principal.scopes
        )

    def __call__(self, row: BundleInstanceAuthRow) -> BundleInstanceAuth:
        auth = auth_from_dict(self._box.open(row.auth)) if self._with_auth else None
        return BundleInstanceAuth(
            id=strawberry.ID(row.id),
            context=_json(row.context),
            input_params=_json(row.input_params),
            auth=auth,
            status=BundleInstanceAuthStatus(
                condition=BundleInstanceAuthStatusCondition(row.status_condition),
                timestamp=Timestamp(row.status_timestamp),
                message=row.status_message,
                reason=row.status_reason,
            ),
            runtime_id=strawberry.ID(row.runtime_id),
            runtime_context_id=(
                None if row.runtime_context_id is None else strawberry.ID(row.runtime_context_id)
            ),
        )
