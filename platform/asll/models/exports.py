"""Tables of the exports feature: export and yearly-report jobs, and the per-tenant pseudonym secret."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from asll.models.base import Base, str_enum, utcnow
from asll.tenancy import TenantScoped


class ExportStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    EXPIRED = "expired"

    @property
    def label(self) -> str:
        return {
            "pending": "En attente",
            "running": "En cours",
            "done": "Prêt",
            "failed": "Échec",
            "expired": "Expiré",
        }[self.value]


class ExportKind(StrEnum):
    EXPORT = "export"
    ANNUAL_REPORT = "annual_report"

    @property
    def label(self) -> str:
        return {"export": "Export de données", "annual_report": "Rapport d'activité annuel"}[self.value]


class ExportJob(TenantScoped, Base):
    """An export or a yearly report, produced by a Celery worker for one user of one tenant.

    The worker rebuilds the requester's rights from ``user_id`` and the tenant's memberships:
    nothing stored here can widen what the export contains. ``scope`` keeps the roles and
    organisations the file was produced with, so a download after a loss of rights is refused.
    ``files`` maps a format (``csv``, ``xlsx``, ``pdf``) to its stored file.

    ``claim_token`` names the run that holds the job (and its file, ``<tenant>/<token>.<ext>``);
    the run renews ``lease_expires_at`` as it progresses; once the lease has expired the next
    message takes the job over from zero (``attempts`` counts the runs started). For a job
    still waiting, ``lease_expires_at`` is when the sweep sends its message again.
    """

    __tablename__ = "export_job"
    __table_args__ = (
        sa.Index("ix_export_job_tenant_user", "tenant_id", "user_id", "created_at"),
        sa.Index("ix_export_job_tenant_status_expires", "tenant_id", "status", "expires_at"),
        sa.Index("ix_export_job_tenant_status_lease", "tenant_id", "status", "lease_expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"))
    kind: Mapped[ExportKind] = mapped_column(str_enum(ExportKind, 20), default=ExportKind.EXPORT)
    dataset: Mapped[str] = mapped_column(sa.String(20), default="")
    file_format: Mapped[str] = mapped_column(sa.String(10), default="csv")
    pseudonymised: Mapped[bool] = mapped_column(default=False)
    columns: Mapped[list] = mapped_column(default=list)
    filters: Mapped[dict] = mapped_column(default=dict)
    year: Mapped[int | None]
    status: Mapped[ExportStatus] = mapped_column(str_enum(ExportStatus, 16), default=ExportStatus.PENDING)
    progress_done: Mapped[int] = mapped_column(default=0)
    progress_total: Mapped[int] = mapped_column(default=0)
    row_count: Mapped[int | None]
    error: Mapped[str] = mapped_column(sa.String(500), default="")
    scope: Mapped[dict] = mapped_column(default=dict)
    files: Mapped[dict] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    claim_token: Mapped[str] = mapped_column(sa.String(32), default="", server_default="")
    lease_expires_at: Mapped[datetime | None]


class ExportSecret(TenantScoped, Base):
    """The tenant's key for pseudonyms (HMAC): stable across exports, never exported itself."""

    __tablename__ = "export_secret"
    __table_args__ = (sa.UniqueConstraint("tenant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    secret: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
