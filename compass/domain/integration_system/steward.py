"""Who may change a global object (an integration system, an application template).

Global objects belong to no tenant, but one created by an administrator bound
to a tenant is that tenant's to change: other tenants' administrators must
not rename, delete or take over (by minting credentials) what it set up.
"""

from __future__ import annotations

from dataclasses import dataclass

from compass.errors import Unauthorized

__all__ = ["EVERY_TENANT", "Steward"]


@dataclass(frozen=True)
class Steward:
    """`tenant_id`: recorded as the creator of new objects. `tenants`: the
    creators whose objects it may change; None for an administrator of every
    tenant (a token without a tenant claim)."""

    tenant_id: str | None
    tenants: frozenset[str] | None

    @property
    def every_tenant(self) -> bool:
        return self.tenants is None

    def check_change(self, what: str, created_by: str | None) -> None:
        """Objects created by an administrator of every tenant stay open to all."""
        if created_by is not None:
            self._check(what, created_by)

    def check_credentials(self, what: str, created_by: str | None) -> None:
        """Credentials act wherever the object acts, so only its creating tenant
        (or an administrator of every tenant) may mint or delete them."""
        if not self.every_tenant:
            self._check(what, created_by)

    def _check(self, what: str, created_by: str | None) -> None:
        if self.tenants is not None and created_by not in self.tenants:
            raise Unauthorized(
                f"the {what} was not created by an administrator of this tenant: only "
                "they, or an administrator of every tenant, may change it"
            )


EVERY_TENANT = Steward(tenant_id=None, tenants=None)
