"""The append-only audit trail, hash-chained per tenant and signed with a key kept out of the database."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from asll.models.base import Base, utcnow


class AuditEvent(Base):
    """One audited action. ``tenant_id`` is null for platform-level actions.

    Not a :class:`TenantScoped` model because platform events have no tenant, but it is
    scoped all the same: see :func:`asll.tenancy.install_tenant_scoping` (and, on PostgreSQL,
    row-level security). ``hash`` is an HMAC-SHA256 with the audit key named by ``key_id``
    (``asll.services.audit``); entries written before keys existed have an empty ``key_id``
    and a plain SHA-256.
    """

    __tablename__ = "audit_event"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "seq"),
        sa.Index("ix_audit_event_tenant_object", "tenant_id", "object_type", "object_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tenant.id", ondelete="RESTRICT"), index=True)
    seq: Mapped[int]
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    actor_label: Mapped[str] = mapped_column(sa.String(254), default="")
    action: Mapped[str] = mapped_column(sa.String(64))
    object_type: Mapped[str] = mapped_column(sa.String(64), default="")
    object_id: Mapped[int | None]
    changes: Mapped[dict] = mapped_column(default=dict)
    ip: Mapped[str] = mapped_column(sa.String(64), default="")
    prev_hash: Mapped[str] = mapped_column(sa.String(64), default="")
    hash: Mapped[str] = mapped_column(sa.String(64))
    key_id: Mapped[str] = mapped_column(sa.String(16), default="", server_default="")
    # The web request (X-Request-ID) or task that wrote the entry, to find its log lines; signed
    # when present (services/audit.py). Null on entries written before migration 0013 or by a command.
    request_id: Mapped[str | None] = mapped_column(sa.String(128))
