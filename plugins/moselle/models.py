"""Moselle's own tables (prefixed ``moselle_``, migrations in ``migrations/versions``, branch "moselle").

The FSL aids and the first unpaid rents carry amounts that the yearly statistics sum by kind:
plain columns keep those aggregations simple SQL on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from asll.toolkit import Base, TenantScoped, TimestampMixin


class FslAid(TimestampMixin, TenantScoped, Base):
    """An FSL aid (action 11) granted with a measure: accès (1st rent, deposit...) or maintien (energy...)."""

    __tablename__ = "moselle_fsl_aid"
    __table_args__ = (sa.Index("ix_moselle_fsl_aid_tenant_granted", "tenant_id", "granted_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("household.id", ondelete="CASCADE"), index=True)
    measure_id: Mapped[int | None] = mapped_column(sa.ForeignKey("measure.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    nature: Mapped[str] = mapped_column(sa.String(32))
    amount: Mapped[Decimal] = mapped_column(sa.Numeric(10, 2))
    granted_on: Mapped[date]


class RentArrearsFollowUp(TimestampMixin, TenantScoped, Base):
    """A rent-arrears prevention follow-up (action 12), opened from the household's first unpaid rent."""

    __tablename__ = "moselle_rent_arrears_follow_up"
    __table_args__ = (sa.Index("ix_moselle_rent_arrears_follow_up_tenant_opened", "tenant_id", "opened_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("household.id", ondelete="CASCADE"), index=True)
    measure_id: Mapped[int] = mapped_column(sa.ForeignKey("measure.id", ondelete="CASCADE"), unique=True)
    first_unpaid_date: Mapped[date]
    first_unpaid_amount: Mapped[Decimal] = mapped_column(sa.Numeric(10, 2))
    reported_by: Mapped[str] = mapped_column(sa.String(32))
    opened_on: Mapped[date]
