"""Requests (demandes) and measures: the case a département follows."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from asll.models.base import Base, TimestampMixin, str_enum, utcnow
from asll.models.core import Organisation, User
from asll.models.households import Household
from asll.tenancy import TenantScoped


class RequestStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    SCHEDULED = "scheduled"
    DECIDED = "decided"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return {
            "draft": "Brouillon",
            "submitted": "Déposée",
            "scheduled": "Inscrite à l'ordre du jour",
            "decided": "Décidée",
            "withdrawn": "Retirée",
        }[self.value]


class MeasureStatus(StrEnum):
    GRANTED = "granted"
    OPERATOR_ASSIGNED = "operator_assigned"
    STARTED = "started"
    RUNNING = "running"
    PROLONGATION_REQUESTED = "prolongation_requested"
    SUSPENDED = "suspended"
    ENDED = "ended"
    BILAN_RECEIVED = "bilan_received"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return {
            "granted": "Accordée",
            "operator_assigned": "Opérateur désigné",
            "started": "Démarrée (contrat signé)",
            "running": "En cours",
            "prolongation_requested": "Prolongation demandée",
            "suspended": "Suspendue",
            "ended": "Terminée",
            "bilan_received": "Bilan reçu",
            "closed": "Clôturée",
        }[self.value]


class Request(TimestampMixin, TenantScoped, Base):
    """A request for a measure, filed by a prescriber with the prior social diagnostic."""

    __tablename__ = "request"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "reference"),
        # The secretariat's queue: submitted requests of one commission (and counts per commission).
        sa.Index("ix_request_tenant_status_commission", "tenant_id", "status", "commission_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(sa.String(32))
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("household.id"), index=True)
    measure_type: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[RequestStatus] = mapped_column(
        str_enum(RequestStatus, 20), default=RequestStatus.DRAFT
    )
    origin: Mapped[str] = mapped_column(sa.String(64), default="")
    commission_code: Mapped[str | None] = mapped_column(sa.String(64))
    prescriber_organisation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisation.id"))
    filed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    diagnostic: Mapped[dict] = mapped_column(default=dict)
    consent_given_by: Mapped[str] = mapped_column(sa.String(200), default="")
    consent_date: Mapped[date | None]
    extra: Mapped[dict] = mapped_column(default=dict)
    submitted_at: Mapped[datetime | None]
    # Bumped by every change made through a service (services/concurrency.py: claim): a
    # form or request built on an older version loses the race and gets a 409.
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    household: Mapped[Household] = relationship()
    prescriber_organisation: Mapped[Organisation | None] = relationship()
    filed_by: Mapped[User | None] = relationship()


class Measure(TimestampMixin, TenantScoped, Base):
    """A granted measure and its life, typed by a plugin's measure-type code."""

    __tablename__ = "measure"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "reference"),
        sa.Index("ix_measure_tenant_status", "tenant_id", "status"),
        sa.Index("ix_measure_tenant_operator", "tenant_id", "operator_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(sa.String(32))
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("household.id"), index=True)
    request_id: Mapped[int | None] = mapped_column(sa.ForeignKey("request.id"), index=True)
    measure_type: Mapped[str] = mapped_column(sa.String(64))
    kind: Mapped[str] = mapped_column(sa.String(32))
    status: Mapped[MeasureStatus] = mapped_column(
        str_enum(MeasureStatus, 32), default=MeasureStatus.GRANTED
    )
    operator_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisation.id"))
    worker_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    decision_date: Mapped[date | None]
    granted_months: Mapped[int | None]
    start_date: Mapped[date | None]
    planned_end_date: Mapped[date | None]
    end_date: Mapped[date | None]
    end_reason: Mapped[str] = mapped_column(sa.String(64), default="")
    reinforced: Mapped[bool] = mapped_column(default=False)
    prolongation_count: Mapped[int] = mapped_column(default=0)
    prolonged_months: Mapped[int] = mapped_column(default=0)
    notified_date: Mapped[date | None]
    contract_sent_date: Mapped[date | None]
    action_plan_date: Mapped[date | None]
    suspended_from: Mapped[date | None]
    bilan_date: Mapped[date | None]
    hand_over_to: Mapped[str] = mapped_column(sa.String(200), default="")
    transferred_from_id: Mapped[int | None] = mapped_column(sa.ForeignKey("measure.id"))
    extra: Mapped[dict] = mapped_column(default=dict)
    # Bumped by every change made through a service (services/concurrency.py: claim): a
    # form or request built on an older version loses the race and gets a 409.
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    household: Mapped[Household] = relationship()
    request: Mapped[Request | None] = relationship()
    operator: Mapped[Organisation | None] = relationship()
    worker: Mapped[User | None] = relationship()


class SupportMeasure(TimestampMixin, TenantScoped, Base):
    """Another support measure the household has (MASP, AEMO...), for the non-cumulation rules."""

    __tablename__ = "support_measure"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("household.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(sa.String(32))
    start_date: Mapped[date]
    end_date: Mapped[date | None]
    notes: Mapped[str] = mapped_column(sa.Text, default="")

    def active_between(self, start: date, end: date | None) -> bool:
        """Whether this measure overlaps [start, end] (an open end means "still running")."""
        ends_after_start = self.end_date is None or self.end_date >= start
        starts_before_end = end is None or self.start_date <= end
        return ends_after_start and starts_before_end


class SessionStatus(StrEnum):
    PLANNED = "planned"
    HELD = "held"

    @property
    def label(self) -> str:
        return {"planned": "Programmée", "held": "Tenue"}[self.value]


class CommissionSession(TimestampMixin, TenantScoped, Base):
    """A dated sitting of a commission (defined by a plugin) with its agenda."""

    __tablename__ = "commission_session"
    __table_args__ = (sa.Index("ix_commission_session_tenant_date", "tenant_id", "session_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    commission_code: Mapped[str] = mapped_column(sa.String(64))
    session_date: Mapped[date]
    location: Mapped[str] = mapped_column(sa.String(200), default="")
    status: Mapped[SessionStatus] = mapped_column(str_enum(SessionStatus, 16), default=SessionStatus.PLANNED)
    members_present: Mapped[str] = mapped_column(sa.Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    # Bumped by every change made through a service (services/concurrency.py: claim): a
    # form or request built on an older version loses the race and gets a 409.
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    items: Mapped[list[AgendaItem]] = relationship(back_populates="session", order_by="AgendaItem.position",
                                                   cascade="all, delete-orphan")


class AgendaItem(TenantScoped, Base):
    __tablename__ = "agenda_item"
    __table_args__ = (sa.UniqueConstraint("session_id", "request_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("commission_session.id", ondelete="CASCADE"), index=True)
    request_id: Mapped[int] = mapped_column(sa.ForeignKey("request.id"), index=True)
    position: Mapped[int] = mapped_column(default=0)

    session: Mapped[CommissionSession] = relationship(back_populates="items")
    request: Mapped[Request] = relationship()


class DecisionOutcome(StrEnum):
    GRANTED = "granted"
    REFUSED = "refused"
    ADJOURNED = "adjourned"
    REDIRECTED = "redirected"

    @property
    def label(self) -> str:
        return {"granted": "Accordée", "refused": "Refusée", "adjourned": "Ajournée",
                "redirected": "Réorientée"}[self.value]


class Decision(TimestampMixin, TenantScoped, Base):
    """The outcome for one request, in a commission session or by a single decider."""

    __tablename__ = "decision"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(sa.ForeignKey("request.id"), index=True)
    session_id: Mapped[int | None] = mapped_column(sa.ForeignKey("commission_session.id"), index=True)
    outcome: Mapped[DecisionOutcome] = mapped_column(str_enum(DecisionOutcome, 16))
    decision_date: Mapped[date]
    measure_type: Mapped[str | None] = mapped_column(sa.String(64))
    duration_months: Mapped[int | None]
    operator_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisation.id"))
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    redirected_to: Mapped[str] = mapped_column(sa.String(200), default="")
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    measure_id: Mapped[int | None] = mapped_column(sa.ForeignKey("measure.id"))

    request: Mapped[Request] = relationship()
    session: Mapped[CommissionSession | None] = relationship()
    operator: Mapped[Organisation | None] = relationship()

    # Non-blocking rule warnings of a grant (capacity, sector...), for the user; not stored.
    warnings: tuple = ()


class MeasureEvent(TenantScoped, Base):
    """One transition of a measure: the timeline shown on its page."""

    __tablename__ = "measure_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    measure_id: Mapped[int] = mapped_column(sa.ForeignKey("measure.id", ondelete="CASCADE"), index=True)
    transition: Mapped[str] = mapped_column(sa.String(40))
    from_status: Mapped[str] = mapped_column(sa.String(32))
    to_status: Mapped[str] = mapped_column(sa.String(32))
    effective_date: Mapped[date | None]
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    data: Mapped[dict] = mapped_column(default=dict)


class ObligationState(StrEnum):
    OPEN = "open"
    DONE = "done"
    WAIVED = "waived"
    OVERDUE = "overdue"

    @property
    def label(self) -> str:
        return {"open": "À faire", "done": "Fait", "waived": "Sans objet", "overdue": "En retard"}[self.value]


class Obligation(TenantScoped, Base):
    """A dated obligation of a measure, recomputed by the plugins on every transition."""

    __tablename__ = "obligation"
    __table_args__ = (
        sa.UniqueConstraint("measure_id", "kind"),
        sa.Index("ix_obligation_tenant_state_due", "tenant_id", "state", "due_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    measure_id: Mapped[int] = mapped_column(sa.ForeignKey("measure.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(64))
    label: Mapped[str] = mapped_column(sa.String(200))
    due_date: Mapped[date]
    responsible_role: Mapped[str] = mapped_column(sa.String(32))
    state: Mapped[ObligationState] = mapped_column(str_enum(ObligationState, 16), default=ObligationState.OPEN)
    closed_at: Mapped[datetime | None]


class Document(TenantScoped, Base):
    """A generated PDF or an uploaded file, stored outside the web root."""

    __tablename__ = "document"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(48))
    title: Mapped[str] = mapped_column(sa.String(200))
    request_id: Mapped[int | None] = mapped_column(sa.ForeignKey("request.id"), index=True)
    measure_id: Mapped[int | None] = mapped_column(sa.ForeignKey("measure.id"), index=True)
    session_id: Mapped[int | None] = mapped_column(sa.ForeignKey("commission_session.id"), index=True)
    decision_id: Mapped[int | None] = mapped_column(sa.ForeignKey("decision.id"), index=True)
    recipient: Mapped[str] = mapped_column(sa.String(32), default="")
    filename: Mapped[str] = mapped_column(sa.String(200))
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    storage_key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReferenceCounter(TenantScoped, Base):
    """The last number given to a reference stem (``D-42-2026-``): one row per tenant, prefix and year.

    Bumped with ``UPDATE … RETURNING``, which holds the row (PostgreSQL) or the database's
    writer lock (SQLite) until commit, so concurrent creations never compute the same number.
    """

    __tablename__ = "reference_counter"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "stem"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stem: Mapped[str] = mapped_column(sa.String(32))
    last: Mapped[int] = mapped_column(default=0)
