"""All models, imported here so that Alembic and the app see one metadata."""

from asll.models.audit import AuditEvent
from asll.models.base import Base
from asll.models.cases import Measure, MeasureStatus, Request, RequestStatus
from asll.models.core import (
    Membership,
    Organisation,
    OrganisationKind,
    PluginActivation,
    Role,
    Tenant,
    User,
)
from asll.models.households import Household, HouseholdMember, HousingStatus

__all__ = [
    "AuditEvent",
    "Base",
    "Household",
    "HouseholdMember",
    "HousingStatus",
    "Measure",
    "MeasureStatus",
    "Membership",
    "Organisation",
    "OrganisationKind",
    "PluginActivation",
    "Request",
    "RequestStatus",
    "Role",
    "Tenant",
    "User",
]
