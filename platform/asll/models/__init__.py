"""All models, imported here so that Alembic and the app see one metadata."""

from asll.models import api, exports, reminders  # noqa: F401  (their tables join the metadata)
from asll.models.accounts import AccountLink, LinkPurpose, UserSession
from asll.models.api import IdempotencyKey, IdempotencyState
from asll.models.audit import AuditEvent
from asll.models.base import Base
from asll.models.cases import (
    AgendaItem,
    CommissionSession,
    Decision,
    DecisionOutcome,
    Document,
    Measure,
    MeasureEvent,
    MeasureStatus,
    Obligation,
    ObligationState,
    ReferenceCounter,
    Request,
    RequestStatus,
    SessionStatus,
    SupportMeasure,
)
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
    "AccountLink",
    "AgendaItem",
    "AuditEvent",
    "CommissionSession",
    "Decision",
    "DecisionOutcome",
    "Document",
    "MeasureEvent",
    "ReferenceCounter",
    "Obligation",
    "ObligationState",
    "SessionStatus",
    "SupportMeasure",
    "Base",
    "Household",
    "LinkPurpose",
    "HouseholdMember",
    "IdempotencyKey",
    "IdempotencyState",
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
    "UserSession",
]

# RGPD (models/rgpd.py): retention policy, legal texts, anonymised files, intermediate archive.
from asll.models.rgpd import (  # noqa: E402
    AnonymisedHousehold,
    ArchiveEntry,
    LegalNotice,
    RetentionPolicy,
    RetentionRun,
)

__all__ += ["AnonymisedHousehold", "ArchiveEntry", "LegalNotice", "RetentionPolicy", "RetentionRun"]
