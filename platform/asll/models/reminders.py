"""Tables of the reminders feature.

A :class:`Reminder` is the logical fact "this person is reminded of this obligation at this
step" (unique per obligation × due date × step × person, so a sweep that runs twice cannot
create it twice). The e-mail that carries it is an :class:`OutboxMessage`: one per reminder,
or one daily digest carrying several. The outbox row, not the broker, is the source of truth
for delivery: ``pending`` → ``sending`` (claimed, with a lease) → ``sent`` / ``failed`` /
``cancelled``; a message whose lease expired is claimed again by the next attempt.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from asll.models.base import Base, TimestampMixin, str_enum, utcnow
from asll.models.cases import Measure, Obligation
from asll.models.core import User
from asll.tenancy import TenantScoped


class OutboxState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return {
            "pending": "En attente d'envoi",
            "sending": "Envoi en cours",
            "sent": "Envoyé",
            "failed": "Échec définitif",
            "cancelled": "Annulé (obligation remplie ou échéance modifiée)",
        }[self.value]


class OutboxKind(StrEnum):
    REMINDER = "reminder"
    DIGEST = "digest"

    @property
    def label(self) -> str:
        return {"reminder": "Rappel", "digest": "Récapitulatif quotidien"}[self.value]


class OutboxMessage(TimestampMixin, TenantScoped, Base):
    """One e-mail to one user, sent exactly once from the user's view (see the module docstring)."""

    __tablename__ = "reminder_outbox"
    __table_args__ = (
        sa.Index("ix_reminder_outbox_tenant_state_lease", "tenant_id", "state", "lease_expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(160), unique=True)
    kind: Mapped[OutboxKind] = mapped_column(str_enum(OutboxKind, 16))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    recipient: Mapped[str] = mapped_column(sa.String(254))
    scheduled_for: Mapped[date]
    state: Mapped[OutboxState] = mapped_column(str_enum(OutboxState, 16), default=OutboxState.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    claim_token: Mapped[str] = mapped_column(sa.String(32), default="")
    lease_expires_at: Mapped[datetime | None]
    next_attempt_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    message_id: Mapped[str] = mapped_column(sa.String(255))
    subject: Mapped[str] = mapped_column(sa.String(300), default="")
    last_error: Mapped[str] = mapped_column(sa.Text, default="")

    user: Mapped[User] = relationship()
    reminders: Mapped[list[Reminder]] = relationship(back_populates="outbox", order_by="Reminder.id")


class Reminder(TenantScoped, Base):
    """A person reminded of an obligation at one step (days relative to its due date)."""

    __tablename__ = "reminder"
    __table_args__ = (sa.UniqueConstraint("obligation_id", "due_date", "step", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    obligation_id: Mapped[int] = mapped_column(sa.ForeignKey("obligation.id", ondelete="CASCADE"), index=True)
    measure_id: Mapped[int] = mapped_column(sa.ForeignKey("measure.id", ondelete="CASCADE"), index=True)
    due_date: Mapped[date]
    step: Mapped[int]
    step_date: Mapped[date]
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    role: Mapped[str] = mapped_column(sa.String(32))
    outbox_id: Mapped[int] = mapped_column(sa.ForeignKey("reminder_outbox.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    obligation: Mapped[Obligation] = relationship()
    measure: Mapped[Measure] = relationship()
    outbox: Mapped[OutboxMessage] = relationship(back_populates="reminders")


class ReminderSettings(TenantScoped, Base):
    """A département admin's override of the reminder steps (else the plugins' default)."""

    __tablename__ = "reminder_settings"
    __table_args__ = (sa.UniqueConstraint("tenant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    steps: Mapped[list] = mapped_column(default=list)
    changed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReminderPreference(TenantScoped, Base):
    """A user's reminder preferences in one tenant: the daily digest is opt-in."""

    __tablename__ = "reminder_preference"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    daily_digest: Mapped[bool] = mapped_column(default=False)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReminderSweep(TenantScoped, Base):
    """One row per tenant: the lock that keeps two sweeps of a tenant from overlapping."""

    __tablename__ = "reminder_sweep"
    __table_args__ = (sa.UniqueConstraint("tenant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    locked_until: Mapped[datetime | None]
    locked_by: Mapped[str] = mapped_column(sa.String(32), default="")
    last_sweep_on: Mapped[date | None]
    last_finished_at: Mapped[datetime | None]
