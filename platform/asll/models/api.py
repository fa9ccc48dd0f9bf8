"""Personal API tokens: a user's key to the JSON API for one tenant.

Only the SHA-256 of the secret is stored (the secret is shown once, at creation), so a
copy of the database does not give access to the API. A token belongs to one tenant:
requests made with it run in that tenant only. Idempotency keys (below) remember, per
token or per session user, the first answer to a state-changing call.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from asll.models.base import Base, str_enum, utcnow
from asll.models.core import User
from asll.tenancy import TenantScoped


class ApiToken(TenantScoped, Base):
    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    # sha256 hex of the whole secret; the secret itself is never stored.
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # The first characters of the secret, so that a user can tell their tokens apart.
    prefix: Mapped[str] = mapped_column(sa.String(16))
    label: Mapped[str] = mapped_column(sa.String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Past this instant the token is refused (a year after creation unless asked otherwise).
    expires_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked: Mapped[bool] = mapped_column(default=False)
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


class IdempotencyState(StrEnum):
    PENDING = "pending"  # claimed: the endpoint is running (or its process died; see services/idempotency.py)
    DONE = "done"  # the first answer is stored and replayed to every retry


class IdempotencyKey(TenantScoped, Base):
    """One ``Idempotency-Key`` of one API client: the first request's fingerprint and answer.

    The unique constraint on (tenant, owner, key) is what lets one request only, among
    simultaneous retries, run the endpoint (``services/idempotency.py``).
    """

    __tablename__ = "idempotency_key"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "owner", "client_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Whose key: "token:<api_token.id>" for a token, "user:<user.id>" for the site's session.
    owner: Mapped[str] = mapped_column(sa.String(32))
    client_key: Mapped[str] = mapped_column(sa.String(255))
    # sha256 hex of method, path and body: the same key for another request is refused.
    fingerprint: Mapped[str] = mapped_column(sa.String(64))
    state: Mapped[IdempotencyState] = mapped_column(str_enum(IdempotencyState, 16), default=IdempotencyState.PENDING)
    status_code: Mapped[int | None]
    response_body: Mapped[str | None] = mapped_column(sa.Text)
    # When the key was claimed: the expiry and the abandoned-claim lease count from here.
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
