"""Accounts, authentication and memberships."""

from __future__ import annotations

import marshmallow as ma
import sqlalchemy as sa

from asll.extensions import db
from asll.models import Membership, Organisation, Role, Tenant, User
from asll.models.base import utcnow
from asll.security import MIN_PASSWORD_LENGTH, hash_password, needs_rehash, verify_password
from asll.services import audit
from asll.services.access import get_in_tenant
from asll.services.actor import Actor
from asll.services.errors import NotFound, PermissionDenied, ServiceError, ValidationFailed
from asll.tenancy import tenant_context, unscoped


class UserSchema(ma.Schema):
    email = ma.fields.Email(required=True, error_messages={"invalid": "Adresse électronique invalide.",
                                                           "required": "L'adresse électronique est obligatoire."})
    full_name = ma.fields.String(required=True, validate=ma.validate.Length(min=2, max=160,
                                 error="Le nom doit faire entre 2 et 160 caractères."),
                                 error_messages={"required": "Le nom est obligatoire."})
    # Absent for an invited account: the person chooses it through their invitation link.
    password = ma.fields.String(load_default=None, load_only=True, validate=ma.validate.Length(
        min=MIN_PASSWORD_LENGTH, error=f"Le mot de passe doit faire au moins {MIN_PASSWORD_LENGTH} caractères."))


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_by_email(email: str) -> User | None:
    """The account with this email, whatever its tenants (accounts are platform-wide)."""
    return db.session.scalar(sa.select(User).where(User.email == normalise_email(email or "")))


def authenticate(email: str, password: str, ip: str = "") -> User | None:
    """Return the active user with these credentials, or None (audited).

    The login is recorded by :func:`record_login` once complete (after the second factor, if any).
    """
    email = normalise_email(email or "")
    user = db.session.scalar(sa.select(User).where(User.email == email))
    ok = verify_password(user.password_hash if user else None, password or "")
    if not ok or not user.active:
        audit.record(Actor(user_id=None, label=email[:254], ip=ip), "auth.login_failed",
                     object_type="user", object_id=user.id if user else None)
        db.session.commit()
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        db.session.commit()
    return user


def record_login(user: User, ip: str = "", *, second_factor: bool = False) -> None:
    """A login completed: its date on the account and an audit entry."""
    user = db.session.merge(user)
    user.last_login_at = utcnow()
    audit.record(Actor(user_id=user.id, label=user.email, ip=ip), "auth.login", object_type="user", object_id=user.id,
                 changes={"second_factor": second_factor} if second_factor else None)
    db.session.commit()


def login_failed(user: User, ip: str, action: str = "auth.second_factor_failed") -> None:
    """A wrong second-factor code (audited like a wrong password)."""
    audit.record(Actor(user_id=None, label=user.email, ip=ip), action, object_type="user", object_id=user.id)
    db.session.commit()


def memberships_of(user_id: int) -> list[Membership]:
    """A user's own active memberships in every tenant (for choosing a tenant)."""
    with unscoped():
        return list(
            db.session.scalars(
                sa.select(Membership)
                .join(Tenant, Tenant.id == Membership.tenant_id)
                .where(Membership.user_id == user_id, Membership.active, Tenant.active)
                .order_by(Tenant.code, Membership.role)
            )
        )


def tenants_of(user_id: int) -> list[Tenant]:
    seen: dict[int, Tenant] = {}
    for membership in memberships_of(user_id):
        seen.setdefault(membership.tenant_id, membership.tenant)
    return list(seen.values())


def create_user(actor: Actor, data: dict, *, platform_admin: bool = False) -> User:
    """Create an account. Platform admins may create any; a département admin creates users of its tenant."""
    from asll.models import Role as _Role

    if not (actor.is_platform_admin or actor.user_id is None or actor.has(_Role.DEPT_ADMIN)):
        raise PermissionDenied()
    if platform_admin and not (actor.is_platform_admin or actor.user_id is None):
        raise PermissionDenied("Seul un administrateur de la plateforme peut en nommer un autre.")
    try:
        loaded = UserSchema().load(data)
    except ma.ValidationError as exc:
        raise ValidationFailed(exc.messages) from exc
    email = normalise_email(loaded["email"])
    if db.session.scalar(sa.select(User.id).where(User.email == email)) is not None:
        raise ValidationFailed({"email": ["Un compte existe déjà avec cette adresse électronique."]})
    password = loaded["password"]
    user = User(email=email, full_name=loaded["full_name"], is_platform_admin=platform_admin,
                password_hash=hash_password(password) if password else None)
    db.session.add(user)
    db.session.flush()
    audit.record(actor, "user.create", object_type="user", object_id=user.id,
                 changes={"email": [None, email], "is_platform_admin": [None, platform_admin]})
    return user


def add_membership(actor: Actor, user: User, tenant_id: int, role: Role, organisation_id: int | None = None) -> Membership:
    """Give a user a role in a tenant, optionally through one of its organisations."""
    if not (actor.user_id is None or actor.is_platform_admin or (actor.tenant_id == tenant_id and actor.has(Role.DEPT_ADMIN))):
        raise PermissionDenied()
    if actor.is_platform_admin and actor.user_id is not None and role is not Role.DEPT_ADMIN:
        # Separation of duties: the platform admin appoints département admins only.
        raise PermissionDenied("L'administrateur de la plateforme ne nomme que les administrateurs départementaux.")
    with tenant_context(tenant_id):
        if organisation_id is not None and get_in_tenant(Organisation, organisation_id) is None:
            raise NotFound("Organisme introuvable dans ce département.")
        if role in (Role.OPERATOR_WORKER, Role.PRESCRIBER) and organisation_id is None:
            raise ServiceError("Ce rôle doit être rattaché à un organisme.", "organisme_requis")
        membership = Membership(user_id=user.id, tenant_id=tenant_id, role=role, organisation_id=organisation_id)
        db.session.add(membership)
        db.session.flush()
        audit.record(actor, "membership.create", object_type="membership", object_id=membership.id,
                     changes={"user_id": [None, user.id], "role": [None, role.value],
                              "organisation_id": [None, organisation_id]}, tenant_id=tenant_id)
    return membership


def set_account_active(actor: Actor, user_id: int, active: bool) -> User:
    """Suspend or restore a whole account (platform admin): a suspension ends its sessions and tokens at once."""
    if not (actor.is_platform_admin or actor.user_id is None):
        raise PermissionDenied("Seul un administrateur de la plateforme suspend un compte.")
    if actor.user_id == user_id and not active:
        raise ServiceError("Vous ne pouvez pas suspendre votre propre compte.", "auto_suspension")
    from asll.models.api import ApiToken
    from asll.services import sessions

    with unscoped():
        user = db.session.get(User, user_id, with_for_update=True)
        if user is None:
            raise NotFound("Compte introuvable.")
        if user.active != active:
            user.active = active
            audit.record(actor, "user.activate" if active else "user.suspend", object_type="user",
                         object_id=user.id, changes={"active": [not active, active]}, tenant_id=None)
        if not active:
            sessions.revoke_all(user.id, sessions.Reason.SUSPENSION)
            db.session.execute(sa.update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked.is_(False))
                               .values(revoked=True, revoked_at=utcnow()))
        db.session.commit()
    return user
