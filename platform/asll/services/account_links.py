"""Invitations and password resets: signed, expiring, single-use links sent by email.

A link is ``<base URL>/invitation/<token>`` or ``/mot-de-passe-oublie/<token>``; the token is
signed with the app's secret key (itsdangerous: a forged or altered link is refused before
any lookup) and names a row holding the SHA-256 of its random part, its expiry and when it
was used. Redeeming it is a conditional UPDATE on "not used yet", so two clicks on the same
link set one password and the other gets a French 409. Issuing a new link of the same kind
retires the previous ones.

A département admin who adds someone whose email already has an account (in another
département, say) gets exactly the answer a new account gives: the person is told of their
new role by email instead of receiving an invitation, and nothing tells the admin which
case it was.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app, render_template
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from asll.extensions import db
from asll.models import AccountLink, LinkPurpose, User
from asll.models.base import utcnow
from asll.services import audit, mail, passwords, sessions
from asll.services.actor import Actor
from asll.services.errors import Conflict, ServiceError
from asll.services.users import find_by_email
from asll.tenancy import unscoped

log = logging.getLogger(__name__)

PATHS = {LinkPurpose.INVITATION: "/invitation/", LinkPurpose.RESET: "/mot-de-passe-oublie/"}
INVALID = "Ce lien n'est pas valide : vérifiez qu'il a été copié en entier, ou demandez-en un nouveau."
EXPIRED = "Ce lien a expiré. Demandez-en un nouveau."
USED = "Ce lien a déjà été utilisé : il ne sert qu'une fois. Demandez-en un nouveau si besoin."
MAIL_FAILED = ("Le message n'a pas pu être envoyé ({detail}). Vérifiez l'adresse électronique, "
               "puis renvoyez l'invitation depuis la liste des utilisateurs.")


class LinkRefused(ServiceError):
    """A link that does not (or no longer) work: nothing was changed."""

    status = 410

    def __init__(self, message: str, code: str = "lien_invalide"):
        super().__init__(message, code)


@dataclass(frozen=True)
class Sent:
    """What became of a message about an account: sent, or why not (French)."""

    ok: bool
    problem: str = ""


def _hash(nonce: str) -> str:
    return hashlib.sha256(nonce.encode("utf-8")).hexdigest()


def _serializer(purpose: LinkPurpose) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=f"asll.account-link.{purpose.value}")


def lifetime(purpose: LinkPurpose) -> timedelta:
    config = current_app.config
    if purpose is LinkPurpose.INVITATION:
        return timedelta(hours=float(config.get("INVITATION_LINK_HOURS", 72)))
    return timedelta(minutes=float(config.get("RESET_LINK_MINUTES", 60)))


def _url(purpose: LinkPurpose, token: str) -> str:
    return current_app.config.get("BASE_URL", "").rstrip("/") + PATHS[purpose] + token


def issue(actor: Actor, user: User, purpose: LinkPurpose) -> tuple[AccountLink, str]:
    """A new link for a user (previous unused ones of the same kind retired); the URL. The caller commits."""
    now = utcnow()
    nonce = secrets.token_urlsafe(32)
    with unscoped():
        db.session.execute(sa.update(AccountLink).where(AccountLink.user_id == user.id,
                                                        AccountLink.purpose == purpose,
                                                        AccountLink.used_at.is_(None)).values(used_at=now))
        link = AccountLink(user_id=user.id, purpose=purpose, token_hash=_hash(nonce), created_at=now,
                           expires_at=now + lifetime(purpose), created_by_id=actor.user_id)
        db.session.add(link)
        db.session.flush()
    audit.record(actor, f"account_link.{purpose.value}", object_type="user", object_id=user.id,
                 changes={"link_id": [None, link.id]}, tenant_id=None)
    return link, _url(purpose, _serializer(purpose).dumps({"l": link.id, "n": nonce}))


def find(token: str, purpose: LinkPurpose) -> tuple[AccountLink, User]:
    """The link a token names and its user, if it can still be used; else a French LinkRefused."""
    try:
        payload = _serializer(purpose).loads(token or "", max_age=int(lifetime(purpose).total_seconds()) + 1)
    except SignatureExpired as exc:
        raise LinkRefused(EXPIRED, "lien_expire") from exc
    except BadSignature as exc:
        raise LinkRefused(INVALID) from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("l"), int) or not isinstance(payload.get("n"), str):
        raise LinkRefused(INVALID)
    with unscoped():
        link = db.session.get(AccountLink, payload["l"])
        user = db.session.get(User, link.user_id) if link is not None else None
    if link is None or link.purpose is not purpose or not secrets.compare_digest(link.token_hash,
                                                                                 _hash(payload["n"])):
        raise LinkRefused(INVALID)
    if link.used_at is not None:
        raise LinkRefused(USED, "lien_utilise")
    if sessions.naive_utc(utcnow()) >= sessions.naive_utc(link.expires_at):
        raise LinkRefused(EXPIRED, "lien_expire")
    if user is None or not user.active:
        raise LinkRefused(INVALID)
    return link, user


def redeem(token: str, purpose: LinkPurpose, password: str, confirmation: str, ip: str = "") -> User:
    """Set the password a link lets its holder choose; the link is then spent, every session ended."""
    link, user = find(token, purpose)
    passwords.require_acceptable(password, confirmation, email=user.email, full_name=user.full_name)
    now = utcnow()
    with unscoped():
        claimed = db.session.execute(sa.update(AccountLink).where(AccountLink.id == link.id,
                                                                  AccountLink.used_at.is_(None),
                                                                  AccountLink.expires_at > now)
                                     .values(used_at=now)
                                     .execution_options(synchronize_session=False)).rowcount
        if claimed != 1:
            db.session.rollback()
            raise Conflict(USED, "lien_utilise")
        user = db.session.get(User, user.id)
        actor = Actor(user_id=user.id, label=user.email, ip=ip)
        action = "user.password_set" if purpose is LinkPurpose.INVITATION else "user.password_reset"
        passwords.set_password(actor, user, password, action=action)
        sessions.revoke_all(user.id, sessions.Reason.PASSWORD)
        db.session.commit()
    from asll import rate_limits

    rate_limits.forget_login_failures(user.email)  # the owner proved it: no wait left for them
    return user


# -- messages ------------------------------------------------------------------------------
def _send(user: User, key: str, subject: str, template: str, **context) -> Sent:
    context.setdefault("tenant_name", "accompagnement social lié au logement")
    message = mail.OutgoingMail(
        to=user.email, subject=subject, text=render_template(f"mail/{template}.txt", user=user, **context),
        html=render_template(f"mail/{template}.html", user=user, **context),
        message_id=mail.make_message_id(key, secrets.token_hex(6)))
    try:
        mail.send(message)
    except mail.MailError as exc:
        log.warning("account mail to user %s not sent: %s", user.id, exc.message)
        return Sent(False, MAIL_FAILED.format(detail=exc.message))
    return Sent(True)


def invite(actor: Actor, user: User, tenant_name: str, role_label: str) -> Sent:
    """Send a new account its invitation: a link to choose a first password (commits the link)."""
    link, url = issue(actor, user, LinkPurpose.INVITATION)
    db.session.commit()
    return _send(user, f"account.invitation.{link.id}", f"Votre compte sur la plateforme ASLL – {tenant_name}",
                 "account_invitation", url=url, tenant_name=tenant_name, role_label=role_label,
                 invited_by=actor.label, expires_at=link.expires_at, hours=round(lifetime(link.purpose).total_seconds()
                                                                                     / 3600))


def notify_role(actor: Actor, user: User, tenant_name: str, role_label: str) -> Sent:
    """Tell an existing account of a new role (it already has a way to log in)."""
    login_url = current_app.config.get("BASE_URL", "").rstrip("/") + "/connexion"
    return _send(user, f"account.role.{user.id}", f"Nouveau rôle sur la plateforme ASLL – {tenant_name}",
                 "account_role", url=login_url, tenant_name=tenant_name, role_label=role_label,
                 invited_by=actor.label, reset_url=current_app.config.get("BASE_URL", "").rstrip("/")
                 + PATHS[LinkPurpose.RESET].rstrip("/"))


def welcome(actor: Actor, user: User, created: bool, tenant_name: str, role_label: str) -> Sent:
    """The one message an admin's "add this person" sends, whether the account is new or not."""
    if created:
        return invite(actor, user, tenant_name, role_label)
    return notify_role(actor, user, tenant_name, role_label)


def request_reset(email: str, ip: str = "") -> None:
    """« Mot de passe oublié » : a reset link to an active account; nothing tells whether one exists."""
    user = find_by_email(email)
    actor = Actor(user_id=None, label=(email or "")[:254], ip=ip)
    if user is None or not user.active:
        audit.record(actor, "auth.reset_unknown", object_type="user", object_id=None, tenant_id=None)
        db.session.commit()
        return
    link, url = issue(actor, user, LinkPurpose.RESET)
    db.session.commit()
    minutes = round(lifetime(LinkPurpose.RESET).total_seconds() / 60)
    _send(user, f"account.reset.{link.id}", "Réinitialisation de votre mot de passe – plateforme ASLL",
          "password_reset", url=url, minutes=minutes)
