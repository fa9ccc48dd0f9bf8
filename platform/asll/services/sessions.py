"""Server-side login sessions: what makes logout, a password change or a suspension final.

The signed Flask cookie only carries a random secret; the session is valid while its row
says so (not revoked, used within the idle timeout, younger than its absolute lifetime)
and the account is active. Every request checks it (``asll.app`` user loader), so a copied
cookie stops working on every device the moment its session is revoked. The secret is
replaced (``rotate``) at login and when the privileges of the session change, so that a
secret seen before then is worthless afterwards.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from asll.extensions import db
from asll.models import User, UserSession
from asll.models.base import utcnow
from asll.tenancy import unscoped

COOKIE_KEY = "asll_sid"  # where the (signed) Flask session cookie keeps the session's secret
# last_seen_at is written at most once per interval: the idle timeout is this much lenient.
LAST_SEEN_RESOLUTION = timedelta(minutes=1)


class Reason:
    LOGOUT = "deconnexion"
    PASSWORD = "mot_de_passe"
    SUSPENSION = "suspension"
    OTHER_SESSIONS = "autres_sessions"
    SECOND_FACTOR = "double_authentification"
    IDLE = "inactivite"
    LIFETIME = "duree_maximale"


ENDED_MESSAGES = {
    Reason.IDLE: "Votre session a expiré après une période d'inactivité. Reconnectez-vous.",
    Reason.LIFETIME: "Votre session a atteint sa durée maximale. Reconnectez-vous.",
}


@dataclass(frozen=True)
class Check:
    """The outcome of checking a session cookie: the user, or why there is none."""

    user: User | None
    session_id: int | None = None
    ended: str | None = None  # a Reason when the session just expired


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def naive_utc(value: datetime) -> datetime:
    """SQLite gives naive UTC back, PostgreSQL an aware value: compare them as naive UTC."""
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def idle_timeout() -> timedelta:
    return timedelta(minutes=float(current_app.config.get("SESSION_IDLE_MINUTES", 30)))


def lifetime() -> timedelta:
    return timedelta(hours=float(current_app.config.get("SESSION_LIFETIME_HOURS", 12)))


def open_session(user: User, ip: str = "", user_agent: str = "") -> str:
    """Record a new session for a user who just proved who they are; return the cookie's secret."""
    secret = secrets.token_urlsafe(32)
    now = utcnow()
    with unscoped():
        db.session.add(UserSession(user_id=user.id, token_hash=_hash(secret), created_at=now, last_seen_at=now,
                                   expires_at=now + lifetime(), ip=(ip or "")[:45],
                                   user_agent=(user_agent or "")[:200]))
        db.session.commit()
    return secret


def check(user_id: int, secret: str | None) -> Check:
    """The user of a session cookie if its session is still valid; an expired session is closed."""
    if not secret or len(secret) > 100:
        return Check(None)
    with unscoped():
        record = db.session.scalar(sa.select(UserSession).where(UserSession.token_hash == _hash(secret)))
        if record is None or record.user_id != user_id or record.revoked_at is not None:
            return Check(None)
        now = naive_utc(utcnow())
        ended = None
        if now >= naive_utc(record.expires_at):
            ended = Reason.LIFETIME
        elif now - naive_utc(record.last_seen_at) >= idle_timeout():
            ended = Reason.IDLE
        if ended:
            _revoke_where(UserSession.id == record.id, ended)
            db.session.commit()
            return Check(None, ended=ended)
        user = db.session.get(User, record.user_id)
        if user is None or not user.active:
            return Check(None)
        if now - naive_utc(record.last_seen_at) >= LAST_SEEN_RESOLUTION:
            # Conditional: a concurrent revocation is never undone by this write.
            db.session.execute(sa.update(UserSession).where(UserSession.id == record.id,
                                                            UserSession.revoked_at.is_(None))
                               .values(last_seen_at=utcnow()))
            db.session.commit()
        return Check(user, record.id)


def rotate(session_id: int) -> str | None:
    """A new secret for a valid session (privileges changed): the previous cookie no longer works."""
    secret = secrets.token_urlsafe(32)
    with unscoped():
        result = db.session.execute(sa.update(UserSession).where(UserSession.id == session_id,
                                                                 UserSession.revoked_at.is_(None))
                                    .values(token_hash=_hash(secret), last_seen_at=utcnow()))
        db.session.commit()
    return secret if result.rowcount == 1 else None


def _revoke_where(condition, reason: str) -> int:
    result = db.session.execute(sa.update(UserSession).where(condition, UserSession.revoked_at.is_(None))
                                .values(revoked_at=utcnow(), revoked_reason=reason))
    return result.rowcount


def revoke(session_id: int, reason: str = Reason.LOGOUT) -> None:
    """End one session (logout). The caller commits."""
    with unscoped():
        _revoke_where(UserSession.id == session_id, reason)


def revoke_all(user_id: int, reason: str, *, except_session_id: int | None = None) -> int:
    """End every session of a user, but perhaps the current one; the number ended. The caller commits."""
    condition = UserSession.user_id == user_id
    if except_session_id is not None:
        condition = sa.and_(condition, UserSession.id != except_session_id)
    with unscoped():
        return _revoke_where(condition, reason)


def active_sessions(user_id: int) -> list[UserSession]:
    """A user's sessions still running (expired ones excluded), most recent first."""
    now = utcnow()
    with unscoped():
        rows = db.session.scalars(sa.select(UserSession).where(
            UserSession.user_id == user_id, UserSession.revoked_at.is_(None), UserSession.expires_at > now)
            .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())).all()
    idle = idle_timeout()
    return [row for row in rows if naive_utc(now) - naive_utc(row.last_seen_at) < idle]
