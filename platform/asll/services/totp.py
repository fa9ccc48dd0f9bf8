"""Second factor: time-based one-time codes (TOTP, RFC 6238) from an authenticator app.

Optional for everyone; required of département and platform administrators when
``TOTP_REQUIRED_FOR_ADMINS`` is set (they enrol at their next login, before reaching any
page). A code is accepted once only (the last accepted time step is stored), within one
step (30 s) of clock drift either way.
"""

from __future__ import annotations

import base64
import time

import pyotp
import segno
import sqlalchemy as sa
from flask import current_app

from asll.extensions import db
from asll.models import Role, User
from asll.models.base import utcnow
from asll.services import audit, sessions
from asll.services.actor import Actor
from asll.services.errors import PermissionDenied, ServiceError, ValidationFailed
from asll.tenancy import unscoped

ISSUER = "Plateforme ASLL"
STEP = 30
WRONG_CODE = "Code incorrect ou expiré : saisissez les 6 chiffres affichés par votre application."


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def qr_data_uri(uri: str) -> str:
    """The otpauth:// URI as an SVG QR code in a data: URI (allowed by the site's CSP)."""
    svg = segno.make(uri, error="m").svg_inline(scale=5, border=2, dark="#000000", light="#ffffff")
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def grouped(secret: str) -> str:
    """The key as typed by hand: groups of four."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def required_for(user: User) -> bool:
    """Whether this account must have a second factor (setting on, and it administers something)."""
    if not current_app.config.get("TOTP_REQUIRED_FOR_ADMINS"):
        return False
    if user.is_platform_admin:
        return True
    from asll.models import Membership

    with unscoped():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Membership).where(
            Membership.user_id == user.id, Membership.role == Role.DEPT_ADMIN, Membership.active)) > 0


def _matching_step(secret: str, code: str) -> int | None:
    code = (code or "").replace(" ", "").strip()
    if not (len(code) == 6 and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret, interval=STEP)
    now = time.time()
    for offset in (0, -1, 1):
        at = now + offset * STEP
        if pyotp.utils.strings_equal(totp.at(at), code):
            return int(at // STEP)
    return None


def _accept(user: User, secret: str, code: str) -> bool:
    """Check a code and spend its time step (conditional UPDATE: a replayed code is refused)."""
    step = _matching_step(secret, code)
    if step is None:
        return False
    with unscoped():
        spent = db.session.execute(sa.update(User).where(
            User.id == user.id, sa.or_(User.totp_last_step.is_(None), User.totp_last_step < step))
            .values(totp_last_step=step)).rowcount
    return spent == 1


def verify(user: User, code: str) -> bool:
    """The login's second step: a fresh code of the user's enrolled secret (commits the spent step)."""
    if not user.totp_secret:
        return False
    ok = _accept(user, user.totp_secret, code)
    db.session.commit()
    return ok


def enable(actor: Actor, user: User, secret: str, code: str, *, session_id: int | None) -> None:
    """Confirm enrolment with a first code; the account's other sessions end (they lacked the factor)."""
    if user.totp_secret:
        raise ServiceError("La double authentification est déjà activée.", "deja_active")
    if not secret or not _accept(user, secret, code):
        db.session.rollback()
        raise ValidationFailed({"code": [WRONG_CODE]})
    with unscoped():
        user = db.session.get(User, user.id)
        user.totp_secret, user.totp_enabled_at = secret, utcnow()
        audit.record(actor, "user.totp_enable", object_type="user", object_id=user.id,
                     changes={"totp": [False, True]}, tenant_id=None)
        sessions.revoke_all(user.id, sessions.Reason.SECOND_FACTOR, except_session_id=session_id)
        db.session.commit()


def disable(actor: Actor, user: User, code: str) -> None:
    """Turn the second factor off (with a current code), unless the account is required to keep it."""
    if required_for(user):
        raise PermissionDenied("La double authentification est obligatoire pour les administrateurs.",
                               "totp_obligatoire")
    if not user.totp_secret or not _accept(user, user.totp_secret, code):
        db.session.rollback()
        raise ValidationFailed({"code": [WRONG_CODE]})
    with unscoped():
        user = db.session.get(User, user.id)
        user.totp_secret, user.totp_enabled_at = None, None
        audit.record(actor, "user.totp_disable", object_type="user", object_id=user.id,
                     changes={"totp": [True, False]}, tenant_id=None)
        db.session.commit()


def reset(actor: Actor, email: str) -> User:
    """The command line removes a lost second factor (the person enrols again at next login if required)."""
    if actor.user_id is not None:
        raise PermissionDenied()
    from asll.services.users import find_by_email

    user = find_by_email(email)
    if user is None:
        raise ServiceError(f"Aucun compte pour « {email} ».", "utilisateur_inconnu")
    user.totp_secret, user.totp_enabled_at, user.totp_last_step = None, None, None
    audit.record(actor, "user.totp_reset", object_type="user", object_id=user.id, changes={"totp": "retiré"})
    sessions.revoke_all(user.id, sessions.Reason.SECOND_FACTOR)
    db.session.commit()
    return user
