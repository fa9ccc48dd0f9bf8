"""The Loire plugin's own table: dwellings counted for the aide à la médiation locative (AML).

The leaflet (seed 000) counts AML dwellings per year and per mode: *mandat de gestion*
(the association, holding an estate agent's card, mobilises private dwellings) and *bail
glissant* (leases that "slid" to the household in the year). One row per dwelling and
measure, so the yearly counts per association are plain SQL aggregates.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from asll.toolkit import Base, TenantScoped

AML_MANDAT_GESTION = "mandat_gestion"
AML_BAIL_GLISSANT = "bail_glissant"
AML_MODES = {
    AML_MANDAT_GESTION: "Mandat de gestion",
    AML_BAIL_GLISSANT: "Bail glissant",
}


class LoireAmlDwelling(TenantScoped, Base):
    """A dwelling an association mobilised (mandat de gestion) or whose lease slid (bail glissant)."""

    __tablename__ = "loire_aml_dwelling"
    __table_args__ = (
        sa.UniqueConstraint("measure_id", "mode"),
        sa.Index("ix_loire_aml_dwelling_tenant_year", "tenant_id", "year"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    operator_id: Mapped[int] = mapped_column(sa.ForeignKey("organisation.id"), index=True)
    measure_id: Mapped[int | None] = mapped_column(sa.ForeignKey("measure.id", ondelete="CASCADE"), index=True)
    mode: Mapped[str] = mapped_column(sa.String(20))
    year: Mapped[int]
    event_date: Mapped[date]
