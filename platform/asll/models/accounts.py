"""Server-side login sessions and one-time account links (invitation, password reset).

Neither belongs to a tenant: an account, its sessions and its links are platform-wide.
Only SHA-256 digests of the secrets are stored, so a copy of the database opens no
session and redeems no link.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from asll.models.base import Base, str_enum, utcnow


class UserSession(Base):
    """One login on one device: valid until logout, revocation, idle timeout or its absolute end."""

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    # sha256 hex of the secret held in the (signed) session cookie; replaced when the id is rotated.
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    # Why it ended: logout, password, suspension, other_sessions, idle, lifetime.
    revoked_reason: Mapped[str | None] = mapped_column(sa.String(32))
    ip: Mapped[str] = mapped_column(sa.String(45), default="")
    user_agent: Mapped[str] = mapped_column(sa.String(200), default="")


class LinkPurpose(StrEnum):
    INVITATION = "invitation"
    RESET = "reset"


class AccountLink(Base):
    """A signed, expiring, single-use link sent by email: first password or forgotten password."""

    __tablename__ = "account_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[LinkPurpose] = mapped_column(str_enum(LinkPurpose, 16))
    # sha256 hex of the random part of the link; the signature alone never redeems a link.
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
