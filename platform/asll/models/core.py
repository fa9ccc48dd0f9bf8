"""Tenants, plugin activations, users, memberships and organisations."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from asll.models.base import Base, TimestampMixin, str_enum, utcnow
from asll.tenancy import TenantScoped


class Role(StrEnum):
    """Roles held through a membership (platform admin is a flag on the user)."""

    DEPT_ADMIN = "dept_admin"
    DEPT_AGENT = "dept_agent"
    COMMISSION_SECRETARY = "commission_secretary"
    COMMISSION_MEMBER = "commission_member"
    PRESCRIBER = "prescriber"
    OPERATOR_WORKER = "operator_worker"
    AUDITOR = "auditor"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.DEPT_ADMIN: "Administrateur départemental",
    Role.DEPT_AGENT: "Agent du Département",
    Role.COMMISSION_SECRETARY: "Secrétariat de commission",
    Role.COMMISSION_MEMBER: "Membre de commission",
    Role.PRESCRIBER: "Prescripteur",
    Role.OPERATOR_WORKER: "Travailleur social de l'opérateur",
    Role.AUDITOR: "Auditeur (lecture seule)",
}


class OrganisationKind(StrEnum):
    PRESCRIBER = "prescriber"
    OPERATOR = "operator"
    LANDLORD = "landlord"
    COMMISSION_SECRETARIAT = "commission_secretariat"
    DEPT_SERVICE = "dept_service"

    @property
    def label(self) -> str:
        return ORGANISATION_KIND_LABELS[self]


ORGANISATION_KIND_LABELS = {
    OrganisationKind.PRESCRIBER: "Service instructeur / prescripteur",
    OrganisationKind.OPERATOR: "Opérateur (association)",
    OrganisationKind.LANDLORD: "Bailleur",
    OrganisationKind.COMMISSION_SECRETARIAT: "Secrétariat de commission",
    OrganisationKind.DEPT_SERVICE: "Service du Département",
}


class Tenant(TimestampMixin, Base):
    """A département hosted on the platform."""

    __tablename__ = "tenant"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(3), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    active: Mapped[bool] = mapped_column(default=True)


class PluginActivation(TenantScoped, Base):
    """Whether a plugin is enabled for a tenant, with its settings and who changed it last."""

    __tablename__ = "plugin_activation"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "plugin"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plugin: Mapped[str] = mapped_column(sa.String(64))
    enabled: Mapped[bool] = mapped_column(default=False)
    settings: Mapped[dict] = mapped_column(default=dict)
    changed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


class User(TimestampMixin, Base):
    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    full_name: Mapped[str] = mapped_column(sa.String(160))
    # None until the person chooses a password through their invitation link.
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    active: Mapped[bool] = mapped_column(default=True)
    is_platform_admin: Mapped[bool] = mapped_column(default=False)
    last_login_at: Mapped[datetime | None]
    password_changed_at: Mapped[datetime | None]
    # Second factor (TOTP, RFC 6238): the base32 secret once enrolment is confirmed, and the
    # last time step accepted, so that a code cannot be used twice.
    totp_secret: Mapped[str | None] = mapped_column(sa.String(64))
    totp_enabled_at: Mapped[datetime | None]
    totp_last_step: Mapped[int | None]

    # Flask-Login protocol
    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)


class Membership(TenantScoped, Base):
    """A user's role in a tenant, possibly through an organisation."""

    __tablename__ = "membership"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "user_id", "role", "organisation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(str_enum(Role, 32))
    organisation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisation.id"))
    active: Mapped[bool] = mapped_column(default=True)

    user: Mapped[User] = relationship()
    organisation: Mapped[Organisation | None] = relationship(lazy="joined")
    tenant: Mapped[Tenant] = relationship(lazy="joined")


class Organisation(TimestampMixin, TenantScoped, Base):
    """A prescriber, operator, landlord, commission secretariat or département service."""

    __tablename__ = "organisation"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[OrganisationKind] = mapped_column(str_enum(OrganisationKind, 32))
    sectors: Mapped[list] = mapped_column(default=list)
    capacity: Mapped[int | None]
    capacity_unit: Mapped[str] = mapped_column(sa.String(10), default="month")
    reinforced_capacity: Mapped[int | None]
    address: Mapped[str] = mapped_column(sa.String(300), default="")
    phone: Mapped[str] = mapped_column(sa.String(40), default="")
    email: Mapped[str] = mapped_column(sa.String(254), default="")
    description: Mapped[str] = mapped_column(sa.Text, default="")
    active: Mapped[bool] = mapped_column(default=True)
    # A commission secretariat: the codes of the commissions it serves; empty means all of them.
    commission_codes: Mapped[list] = mapped_column(default=list, server_default="[]")
