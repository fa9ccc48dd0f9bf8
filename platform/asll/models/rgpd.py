"""Tables of the RGPD feature: retention policy, legal texts, anonymised files and the intermediate archive.

The CNIL's référentiel for the social and medico-social sector (délibération n° 2023-095) keeps a
file in the active base for the time of the support and 2 years after the last contact, then in
an intermediate archive only where a legal duty requires it, then destroys or anonymises it.
:class:`RetentionPolicy` holds a département's choices (defaults when it has no row);
:class:`AnonymisedHousehold` marks a file the retention task anonymised and keeps what the yearly
statistics still need (the reference person's age bracket per year); :class:`ArchiveEntry` is the
intermediate archive (decisions and amounts the FSL accounts need, with the identity they justify),
destroyed at ``destroy_after``.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from asll.models.base import Base, utcnow
from asll.tenancy import TenantScoped

DEFAULT_ACTIVE_MONTHS = 24
DEFAULT_ARCHIVE_YEARS = 10
DEFAULT_AUDIT_MONTHS = 12
# Pseudonymised exports: a combination of quasi-identifiers shared by fewer rows is masked.
DEFAULT_EXPORT_K = 5


class RetentionPolicy(TenantScoped, Base):
    """A département's retention choices, edited by its admin (audited); no row means the defaults."""

    __tablename__ = "rgpd_retention_policy"
    __table_args__ = (sa.UniqueConstraint("tenant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Months a file stays in the active base after its last contact.
    active_months: Mapped[int] = mapped_column(default=DEFAULT_ACTIVE_MONTHS)
    # Whether decisions and amounts move to the intermediate archive, and for how long.
    archive_enabled: Mapped[bool] = mapped_column(default=True)
    archive_years: Mapped[int] = mapped_column(default=DEFAULT_ARCHIVE_YEARS)
    # Months audit entries (access logs) are kept before being purged.
    audit_months: Mapped[int] = mapped_column(default=DEFAULT_AUDIT_MONTHS)
    # k of the pseudonymised exports' k-anonymity (services/rgpd/kanonymity.py).
    export_k: Mapped[int] = mapped_column(default=DEFAULT_EXPORT_K, server_default=str(DEFAULT_EXPORT_K))
    changed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(default=1, server_default="1")


class LegalNotice(TenantScoped, Base):
    """The département's legal pages and record of processing, as the admin wrote them (over the defaults)."""

    __tablename__ = "rgpd_legal_notice"
    __table_args__ = (sa.UniqueConstraint("tenant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    content: Mapped[dict] = mapped_column(default=dict)
    changed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(default=1, server_default="1")


class AnonymisedHousehold(TenantScoped, Base):
    """A file the retention anonymised: when, from which last contact, and the age brackets kept.

    ``age_brackets`` maps a year (``"2026"``) to the reference person's age bracket that year, for
    the years the statistics can count the household: the birth date itself is gone.
    """

    __tablename__ = "rgpd_anonymised_household"
    __table_args__ = (sa.UniqueConstraint("household_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("household.id", ondelete="CASCADE"))
    last_contact: Mapped[date]
    anonymised_at: Mapped[datetime] = mapped_column(default=utcnow)
    age_brackets: Mapped[dict] = mapped_column(default=dict)


class ArchiveEntry(TenantScoped, Base):
    """One archived item of a file (a decision, an aid paid): what the FSL accounts must justify.

    Kept out of the active base, readable by the DPO and the auditors only, destroyed by the
    retention task once ``destroy_after`` has passed.
    """

    __tablename__ = "rgpd_archive_entry"
    __table_args__ = (sa.Index("ix_rgpd_archive_entry_tenant_destroy", "tenant_id", "destroy_after"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int | None] = mapped_column(sa.ForeignKey("household.id", ondelete="SET NULL"),
                                                     index=True)
    household_reference: Mapped[str] = mapped_column(sa.String(32))
    # The reference person as the accounts name them (« DUPONT Marie »): the identity the archive justifies.
    identity: Mapped[str] = mapped_column(sa.String(260), default="")
    source: Mapped[str] = mapped_column(sa.String(64))  # "decision" or a plugin's table name
    label: Mapped[str] = mapped_column(sa.String(200))
    content: Mapped[dict] = mapped_column(default=dict)
    archived_at: Mapped[datetime] = mapped_column(default=utcnow)
    destroy_after: Mapped[date]


class RetentionRun(TenantScoped, Base):
    """One row per tenant: the lock that keeps two retention runs of a tenant from overlapping."""

    __tablename__ = "rgpd_retention_run"
    __table_args__ = (sa.UniqueConstraint("tenant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    locked_until: Mapped[datetime | None]
    locked_by: Mapped[str] = mapped_column(sa.String(32), default="")
    last_run_on: Mapped[date | None]
    last_finished_at: Mapped[datetime | None]
    last_summary: Mapped[dict] = mapped_column(default=dict)
