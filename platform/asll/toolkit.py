"""The only module a département plugin imports from the core.

Keeping plugins behind this facade (CKAN's ``toolkit`` idea) lets the core change
its internals without breaking them.
"""

from asll.domain.calendar import add_months, months_between, today
from asll.plugins.contract import (
    CommissionDef,
    CommissionRole,
    DemoCase,
    DemoStep,
    ExportColumn,
    MeasureKind,
    MeasureTypeDef,
    ObligationDef,
    OrganisationSpec,
    PluginInfo,
    StatTable,
    SupportMeasureDef,
    TenantInfo,
    Violation,
)
from asll.plugins.hookspecs import hookimpl

# For plugins that own tables (prefixed with the plugin's name, migrations in
# plugins/<dept>/migrations/versions as an Alembic branch depending on a core revision).
from asll.extensions import db  # noqa: E402
from asll.models.base import Base, TimestampMixin, str_enum  # noqa: E402
from asll.tenancy import TenantScoped, current_tenant_id  # noqa: E402

__all__ = [
    "Base",
    "TenantScoped",
    "TimestampMixin",
    "current_tenant_id",
    "db",
    "str_enum",
    "CommissionDef",
    "CommissionRole",
    "DemoCase",
    "DemoStep",
    "ExportColumn",
    "MeasureKind",
    "MeasureTypeDef",
    "ObligationDef",
    "OrganisationSpec",
    "PluginInfo",
    "StatTable",
    "SupportMeasureDef",
    "TenantInfo",
    "Violation",
    "add_months",
    "hookimpl",
    "months_between",
    "today",
]
