"""Households (ménages) and their members: the personal data the platform protects."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from asll.models.base import Base, TimestampMixin, str_enum
from asll.tenancy import TenantScoped


class HousingStatus(StrEnum):
    PUBLIC_TENANT = "public_tenant"
    PRIVATE_TENANT = "private_tenant"
    SUBTENANT = "subtenant"
    OWNER = "owner"
    HOSTED = "hosted"
    ACCOMMODATION = "accommodation"
    HOMELESS = "homeless"

    @property
    def label(self) -> str:
        return HOUSING_STATUS_LABELS[self]


HOUSING_STATUS_LABELS = {
    HousingStatus.PUBLIC_TENANT: "Locataire du parc public",
    HousingStatus.PRIVATE_TENANT: "Locataire du parc privé",
    HousingStatus.SUBTENANT: "Sous-locataire",
    HousingStatus.OWNER: "Propriétaire",
    HousingStatus.HOSTED: "Hébergé par des tiers",
    HousingStatus.ACCOMMODATION: "En structure d'hébergement",
    HousingStatus.HOMELESS: "Sans logement",
}


class Household(TimestampMixin, TenantScoped, Base):
    __tablename__ = "household"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "reference"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(sa.String(32))
    address: Mapped[str] = mapped_column(sa.String(300), default="")
    postcode: Mapped[str] = mapped_column(sa.String(10), default="")
    city: Mapped[str] = mapped_column(sa.String(120), default="")
    sector: Mapped[str] = mapped_column(sa.String(120), default="")
    housing_status: Mapped[HousingStatus | None] = mapped_column(
        str_enum(HousingStatus, 32)
    )
    monthly_resources: Mapped[Decimal | None] = mapped_column(sa.Numeric(10, 2))
    resources_kind: Mapped[str] = mapped_column(sa.String(120), default="")
    family_situation: Mapped[str] = mapped_column(sa.String(120), default="")
    landlord_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisation.id"))
    landlord_consent: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    created_by_organisation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisation.id"))
    extra: Mapped[dict] = mapped_column(default=dict)

    members: Mapped[list[HouseholdMember]] = relationship(
        back_populates="household", cascade="all, delete-orphan", order_by="HouseholdMember.id"
    )

    @property
    def reference_person(self) -> HouseholdMember | None:
        for member in self.members:
            if member.is_reference:
                return member
        return self.members[0] if self.members else None

    @property
    def display_name(self) -> str:
        person = self.reference_person
        return f"{person.last_name.upper()} {person.first_name}" if person else self.reference


class HouseholdMember(TenantScoped, Base):
    __tablename__ = "household_member"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("household.id", ondelete="CASCADE"), index=True)
    last_name: Mapped[str] = mapped_column(sa.String(120))
    first_name: Mapped[str] = mapped_column(sa.String(120))
    birth_date: Mapped[date | None]
    relationship_to_reference: Mapped[str] = mapped_column(sa.String(40), default="")
    is_reference: Mapped[bool] = mapped_column(default=False)
    socio_professional_status: Mapped[str] = mapped_column(sa.String(120), default="")

    household: Mapped[Household] = relationship(back_populates="members")
