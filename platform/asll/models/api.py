"""Personal API tokens: a user's key to the JSON API for one tenant.

Only the SHA-256 of the secret is stored (the secret is shown once, at creation), so a
copy of the database does not give access to the API. A token belongs to one tenant:
requests made with it run in that tenant only.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from asll.models.base import Base, utcnow
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
    last_used_at: Mapped[datetime | None]
    revoked: Mapped[bool] = mapped_column(default=False)
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()
