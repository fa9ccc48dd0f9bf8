"""Requests (demandes) and measures: the case a département follows."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from asll.models.base import Base, TimestampMixin, str_enum
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
            "closed": "Clôturée",
        }[self.value]


class Request(TimestampMixin, TenantScoped, Base):
    """A request for a measure, filed by a prescriber with the prior social diagnostic."""

    __tablename__ = "request"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "reference"),
        sa.Index("ix_request_tenant_status", "tenant_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(sa.String(32))
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("household.id"), index=True)
    measure_type: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[RequestStatus] = mapped_column(
        str_enum(RequestStatus, 20), default=RequestStatus.DRAFT
    )
    origin: Mapped[str] = mapped_column(sa.String(64), default="")
    prescriber_organisation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisation.id"))
    filed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    diagnostic: Mapped[dict] = mapped_column(default=dict)
    consent_given_by: Mapped[str] = mapped_column(sa.String(200), default="")
    consent_date: Mapped[date | None]
    extra: Mapped[dict] = mapped_column(default=dict)
    submitted_at: Mapped[datetime | None]

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
    request_id: Mapped[int | None] = mapped_column(sa.ForeignKey("request.id"))
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
    extra: Mapped[dict] = mapped_column(default=dict)

    household: Mapped[Household] = relationship()
    request: Mapped[Request | None] = relationship()
    operator: Mapped[Organisation | None] = relationship()
    worker: Mapped[User | None] = relationship()
