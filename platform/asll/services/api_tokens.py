"""Personal API tokens: created and revoked by their user, checked on every API request.

A token is ``asll_`` followed by 43 random URL-safe characters. Only its SHA-256 is
stored, and it is shown once, when created, with its expiry (a year unless asked
shorter). A token is bound to one user and one tenant; it stops working when it expires,
when revoked, when the account is suspended (which revokes it), or when the user no longer
holds an active membership in that tenant.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import marshmallow as ma
import sqlalchemy as sa
from flask import current_app

from asll.extensions import db
from asll.models import User
from asll.models.api import ApiToken
from asll.models.base import utcnow
from asll.services import audit
from asll.services.actor import Actor
from asll.services.errors import NotFound, PermissionDenied, ValidationFailed
from asll.services.schemas import FrenchSchema
from asll.services.tenants import tenant_by_code
from asll.services.users import memberships_of, normalise_email
from asll.services.validation import load
from asll.tenancy import tenant_context, unscoped

TOKEN_PREFIX = "asll_"
DISPLAY_CHARS = 12  # "asll_" + 7 characters: enough to tell tokens apart, useless to guess one
MAX_SECRET_LENGTH = 200
# last_used_at is written at most once per interval, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class TokenSchema(FrenchSchema):
    expires_in_days = ma.fields.Integer(
        load_default=None, validate=ma.validate.Range(min=1, error="Au moins 1 jour."),
        error_messages={"invalid": "Nombre entier de jours attendu.", "null": "Nombre entier de jours attendu."})
    label = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=120, error="Le libellé doit faire entre 1 et 120 caractères."),
        error_messages={"required": "Le libellé est obligatoire.", "null": "Le libellé est obligatoire.",
                        "invalid": "Le libellé doit être un texte."},
    )


@dataclass(frozen=True)
class TokenIdentity:
    """Who a valid token speaks for."""

    token_id: int
    tenant_id: int
    actor: Actor


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _new_secret() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def max_days() -> int:
    return int(current_app.config.get("API_TOKEN_LIFETIME_DAYS", 365))


def _loaded(data) -> tuple[str, int]:
    """The label and the lifetime in days (at most API_TOKEN_LIFETIME_DAYS, which is the default)."""
    loaded = load(TokenSchema(), data)
    label = loaded["label"].strip()
    if not label or "\x00" in label:
        raise ValidationFailed({"label": ["Le libellé est obligatoire."]})
    days = loaded.get("expires_in_days") or max_days()
    if days > max_days():
        raise ValidationFailed({"expires_in_days": [f"Au plus {max_days()} jours."]})
    return label, days


def _label(data) -> str:
    return _loaded(data)[0]


def _issue(actor: Actor, user_id: int, tenant_id: int, label: str, days: int | None = None) -> tuple[ApiToken, str]:
    secret = _new_secret()
    now = utcnow()
    with tenant_context(tenant_id):
        token = ApiToken(user_id=user_id, tenant_id=tenant_id, token_hash=hash_secret(secret),
                         prefix=secret[:DISPLAY_CHARS], label=label, created_at=now,
                         expires_at=now + timedelta(days=days or max_days()))
        db.session.add(token)
        db.session.flush()
        audit.record(actor, "api_token.create", object_type="api_token", object_id=token.id,
                     changes={"user_id": [None, user_id], "label": [None, label], "prefix": [None, token.prefix],
                              "expires_at": [None, token.expires_at.isoformat()]},
                     tenant_id=tenant_id)
        db.session.commit()
    return token, secret


def create_token(actor: Actor, data: dict) -> tuple[ApiToken, str]:
    """A user creates a token for themself in the current tenant; the secret is returned once."""
    if actor.user_id is None or actor.tenant_id is None or not actor.roles:
        raise PermissionDenied("Seul un membre du département peut créer un jeton d'accès à l'API.")
    label, days = _loaded(data)
    return _issue(actor, actor.user_id, actor.tenant_id, label, days)


def issue_for_user(actor: Actor, email: str, tenant_code: str, label: str) -> tuple[ApiToken, str]:
    """The command line issues a token for a member of a tenant (system actor only)."""
    if actor.user_id is not None:
        raise PermissionDenied("Seul l'utilisateur lui-même peut créer ses jetons.")
    label = _label({"label": label})
    user = db.session.scalar(sa.select(User).where(User.email == normalise_email(email or "")))
    if user is None or not user.active:
        raise NotFound(f"Aucun compte actif pour « {email} ».", "utilisateur_inconnu")
    tenant = tenant_by_code((tenant_code or "").strip())
    if tenant is None or not tenant.active:
        raise NotFound(f"Département « {tenant_code} » introuvable.", "departement_inconnu")
    if not any(m.tenant_id == tenant.id for m in memberships_of(user.id)):
        raise PermissionDenied(f"{user.email} n'est membre d'aucun service du département {tenant.name}.",
                               "non_membre")
    return _issue(dataclasses.replace(actor, tenant_id=tenant.id), user.id, tenant.id, label)


def list_tokens(actor: Actor) -> list[ApiToken]:
    """The actor's own tokens in the current tenant, newest first."""
    if actor.user_id is None or actor.tenant_id is None:
        return []
    return list(db.session.scalars(sa.select(ApiToken).where(ApiToken.user_id == actor.user_id)
                                   .order_by(ApiToken.id.desc())))


def revoke_token(actor: Actor, token_id: int) -> ApiToken:
    """A user revokes one of their own tokens (revoking twice changes nothing)."""
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.id == token_id,
                                                        ApiToken.user_id == actor.user_id))
    if token is None or actor.user_id is None:
        raise NotFound("Jeton introuvable.")
    if not token.revoked:
        token.revoked, token.revoked_at = True, utcnow()
        audit.record(actor, "api_token.revoke", object_type="api_token", object_id=token.id,
                     changes={"revoked": [False, True]})
        db.session.commit()
    return token


def _naive_utc(value: datetime) -> datetime:
    # SQLite gives naive UTC back, PostgreSQL an aware value.
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def naive_now() -> datetime:
    """Now as naive UTC, to compare with stored dates on either database (templates use it too)."""
    return _naive_utc(utcnow())


def is_expired(token: ApiToken) -> bool:
    return naive_now() >= _naive_utc(token.expires_at)


def authenticate(secret: str, ip: str = "") -> TokenIdentity | None:
    """The identity a bearer token gives, or None (unknown, revoked, user or membership gone).

    Failures are audited at platform level, like failed logins.
    """
    identity = None
    if secret.startswith(TOKEN_PREFIX) and len(secret) <= MAX_SECRET_LENGTH and "\x00" not in secret:
        with unscoped():
            token = db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == hash_secret(secret),
                                                                ApiToken.revoked.is_(False),
                                                                ApiToken.expires_at > utcnow()))
            user = db.session.get(User, token.user_id) if token is not None else None
        if token is not None and user is not None and user.active:
            memberships = [m for m in memberships_of(user.id) if m.tenant_id == token.tenant_id]
            if memberships:
                actor = Actor.for_user(user, memberships, token.tenant_id, ip=ip)
                actor = dataclasses.replace(actor, label=f"{user.email} (jeton {token.prefix}…)")
                identity = TokenIdentity(token_id=token.id, tenant_id=token.tenant_id, actor=actor)
                now = utcnow()
                if token.last_used_at is None or \
                        _naive_utc(now) - _naive_utc(token.last_used_at) >= LAST_USED_RESOLUTION:
                    with unscoped():
                        token.last_used_at = now
                        db.session.commit()
    if identity is None:
        audit.record(Actor(user_id=None, label="jeton d'API", ip=ip), "auth.token_failed",
                     object_type="api_token",
                     changes={"prefix": [None, re.sub(r"[^A-Za-z0-9_-]", "", secret[:DISPLAY_CHARS])]})
        db.session.commit()
    return identity
