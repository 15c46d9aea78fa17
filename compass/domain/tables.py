"""Every table model, imported once so that `SQLModel.metadata` is complete
(Alembic and the tests compare it with the migrations)."""

from compass.domain.application.model import ApplicationRow, WebhookRow
from compass.domain.label.model import LabelDefinitionRow, LabelRow
from compass.domain.runtime.model import RuntimeRow
from compass.domain.runtime_context.model import RuntimeContextRow
from compass.domain.tenant.model import TenantRow

__all__ = [
    "ApplicationRow",
    "LabelDefinitionRow",
    "LabelRow",
    "RuntimeContextRow",
    "RuntimeRow",
    "TenantRow",
    "WebhookRow",
]
