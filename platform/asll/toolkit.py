"""The only module a département plugin imports from the core.

Keeping plugins behind this facade (CKAN's ``toolkit`` idea) lets the core change
its internals without breaking them.
"""

from asll.domain.calendar import add_months, months_between
from asll.plugins.contract import (
    CommissionDef,
    CommissionRole,
    MeasureKind,
    MeasureTypeDef,
    ObligationDef,
    OrganisationSpec,
    PluginInfo,
    SupportMeasureDef,
    TenantInfo,
    Violation,
)
from asll.plugins.hookspecs import hookimpl

__all__ = [
    "CommissionDef",
    "CommissionRole",
    "MeasureKind",
    "MeasureTypeDef",
    "ObligationDef",
    "OrganisationSpec",
    "PluginInfo",
    "SupportMeasureDef",
    "TenantInfo",
    "Violation",
    "add_months",
    "hookimpl",
    "months_between",
]
