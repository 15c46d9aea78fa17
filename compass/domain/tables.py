"""Every table model, imported once so that `SQLModel.metadata` is complete
(Alembic and the tests compare it with the migrations)."""

from compass.domain.application.model import ApplicationRow, WebhookRow
from compass.domain.application_template.model import ApplicationTemplateRow
from compass.domain.bundle.model import (
    APIDefinitionRow,
    BundleRow,
    DocumentRow,
    EventDefinitionRow,
    FetchRequestRow,
)
from compass.domain.bundle_instance_auth.model import BundleInstanceAuthRow
from compass.domain.eventing.model import DefaultEventingRow
from compass.domain.integration_system.model import IntegrationSystemRow, IntegrationSystemTenantRow
from compass.domain.label.model import LabelDefinitionRow, LabelRow
from compass.domain.runtime.model import RuntimeRow
from compass.domain.runtime_context.model import RuntimeContextRow
from compass.domain.scenario_assignment.model import ScenarioAssignmentRow, ScenarioGrantRow
from compass.domain.system_auth.model import CertificateRow, OneTimeTokenRow, SystemAuthRow
from compass.domain.tenant.model import TenantRow
from compass.notifications.model import OutboxRow, WebhookAttemptRow, WebhookDeliveryRow
from compass.provisioner.model import OperationRow, ProvisionedRuntimeRow

__all__ = [
    "APIDefinitionRow",
    "ApplicationRow",
    "ApplicationTemplateRow",
    "BundleInstanceAuthRow",
    "BundleRow",
    "CertificateRow",
    "DefaultEventingRow",
    "DocumentRow",
    "EventDefinitionRow",
    "FetchRequestRow",
    "IntegrationSystemRow",
    "IntegrationSystemTenantRow",
    "OneTimeTokenRow",
    "OperationRow",
    "OutboxRow",
    "ProvisionedRuntimeRow",
    "ScenarioAssignmentRow",
    "ScenarioGrantRow",
    "SystemAuthRow",
    "LabelDefinitionRow",
    "LabelRow",
    "RuntimeContextRow",
    "RuntimeRow",
    "TenantRow",
    "WebhookAttemptRow",
    "WebhookDeliveryRow",
    "WebhookRow",
]
