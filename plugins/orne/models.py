"""The Orne plugin's own tables: the evaluation data the seed (001) asks for.

"Contenu de l'évaluation": public typology, situation at entry (resources, socio-
professional status) and at exit, intervention domains worked on, housing result. One
record per measure and one row per domain, so the yearly percentages and the agreement's
consumption are plain SQL aggregates.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from asll.toolkit import Base, TenantScoped


class OrneMeasureRecord(TenantScoped, Base):
    """How a measure was organised and validated, and the household's situation at entry and exit."""

    __tablename__ = "orne_measure_record"
    __table_args__ = (sa.UniqueConstraint("measure_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    measure_id: Mapped[int] = mapped_column(sa.ForeignKey("measure.id", ondelete="CASCADE"))
    circonscription: Mapped[str] = mapped_column(sa.String(120), default="")
    organisation: Mapped[str] = mapped_column(sa.String(10))  # "interne" | "externe"
    origin: Mapped[str] = mapped_column(sa.String(40), default="")
    validated_by: Mapped[str] = mapped_column(sa.String(20), default="")  # "responsable" | "commission"
    entry_housing: Mapped[str] = mapped_column(sa.String(32), default="")
    entry_resources: Mapped[str] = mapped_column(sa.String(40), default="")
    entry_situation: Mapped[str] = mapped_column(sa.String(40), default="")
    exit_resources: Mapped[str] = mapped_column(sa.String(40), default="")
    exit_situation: Mapped[str] = mapped_column(sa.String(40), default="")
    housing_result: Mapped[str] = mapped_column(sa.String(40), default="")
    contact_date: Mapped[date | None]


class OrneMeasureDomain(TenantScoped, Base):
    """One intervention domain worked on during a measure (several per measure)."""

    __tablename__ = "orne_measure_domain"
    __table_args__ = (
        sa.UniqueConstraint("measure_id", "domain"),
        sa.Index("ix_orne_measure_domain_tenant_domain", "tenant_id", "domain"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    measure_id: Mapped[int] = mapped_column(sa.ForeignKey("measure.id", ondelete="CASCADE"), index=True)
    domain: Mapped[str] = mapped_column(sa.String(40))
