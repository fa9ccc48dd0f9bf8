"""Administration use cases the web needs and the core services did not offer yet.

Département admin: create and edit organisations, give someone a role by email (an
invitation), deactivate or reactivate a membership. Commission secretariat: record who attended a session (it
goes into the minutes). Platform admin: create a département with its first admin.
Each validates its input (French messages), is audited and commits.
"""

from __future__ import annotations

from dataclasses import dataclass

import marshmallow as ma
import sqlalchemy as sa
from marshmallow import fields, validate

from asll.extensions import db
from asll.models import CommissionSession, Membership, Organisation, OrganisationKind, Role, Tenant, User
from asll.plugins.contract import CommissionRole, OrganisationSpec
from asll.services import account_links, audit, decisions, sessions, tenants, users
from asll.services.access import get_in_tenant
from asll.services.actor import Actor
from asll.services.concurrency import check_fresh, claim
from asll.services.errors import Conflict, NotFound, PermissionDenied, ServiceError, ValidationFailed
from asll.services.schemas import REQUIRED, FrenchSchema, Id, nonempty, text
from asll.services.validation import load
from asll.tenancy import unscoped

ORGANISATION_FIELDS = ("name", "kind", "sectors", "capacity", "capacity_unit", "reinforced_capacity", "address",
                       "phone", "email", "description", "active", "commission_codes")
CAPACITY_UNITS = ("month", "year")


class OrganisationSchema(FrenchSchema):
    name = nonempty(200)
    kind = fields.Enum(OrganisationKind, by_value=True, required=True,
                       error_messages={**REQUIRED, "unknown": "Nature d'organisme inconnue."})
    sectors = fields.List(fields.String(validate=validate.Length(
        min=1, max=120, error="Chaque secteur fait entre 1 et 120 caractères.")), load_default=list)
    capacity = fields.Integer(load_default=None, validate=validate.Range(min=0, error="Capacité négative."),
                              error_messages={"invalid": "Nombre entier attendu."})
    capacity_unit = fields.String(load_default="month", validate=validate.OneOf(
        CAPACITY_UNITS, error="Unité de capacité inconnue."))
    reinforced_capacity = fields.Integer(load_default=None, validate=validate.Range(min=0, error="Capacité négative."),
                                         error_messages={"invalid": "Nombre entier attendu."})
    address = text(max_length=300, load_default="")
    phone = text(max_length=40, load_default="")
    email = fields.String(load_default="", validate=validate.Regexp(
        r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$", error="Adresse électronique invalide."))
    description = text(load_default="")
    active = fields.Boolean(load_default=True)

    @ma.validates_schema
    def _served_commissions(self, data, **kwargs):
        if data.get("commission_codes") and data.get("kind") is not OrganisationKind.COMMISSION_SECRETARIAT:
            raise ma.ValidationError("Seul un secrétariat de commission sert des commissions.", "commission_codes")

    @ma.validates_schema
    def _reinforced(self, data, **kwargs):
        if data.get("reinforced_capacity") and (data.get("capacity") or 0) < data["reinforced_capacity"]:
            raise ma.ValidationError("Les suivis renforcés font partie de la capacité : au plus la capacité.",
                                     "reinforced_capacity")


def organisation_schema(actor: Actor) -> OrganisationSchema:
    """The organisation schema with the tenant's commissions as the choices a secretariat serves."""
    from asll.services import plugins as plugin_service

    commissions = {code: c for code, c in plugin_service.commissions(actor.tenant_id).items()
                   if c.role is not CommissionRole.SINGLE_DECIDER}  # a single decider has no sessions
    served = fields.List(fields.String(validate=validate.OneOf(
        list(commissions), labels=[c.label for c in commissions.values()],
        error="Commission inconnue dans ce département, ou qui décide seule, sans séance.")),
        load_default=list)
    schema_class = type("TenantOrganisationSchema", (OrganisationSchema,), {"commission_codes": served})
    return schema_class()


class MemberSchema(FrenchSchema):
    email = fields.Email(required=True, error_messages={**REQUIRED, "invalid": "Adresse électronique invalide."})
    full_name = fields.String(required=True, error_messages=REQUIRED, validate=validate.Length(
        min=2, max=160, error="Le nom doit faire entre 2 et 160 caractères."))
    role = fields.Enum(Role, by_value=True, required=True, error_messages={**REQUIRED, "unknown": "Rôle inconnu."})
    organisation_id = Id(load_default=None)


class TenantSchema(FrenchSchema):
    code = nonempty(3)
    name = nonempty(120)
    admin_email = fields.Email(required=True, error_messages={**REQUIRED, "invalid": "Adresse électronique invalide."})
    admin_name = fields.String(required=True, error_messages=REQUIRED, validate=validate.Length(
        min=2, max=160, error="Le nom doit faire entre 2 et 160 caractères."))


def _require_dept_admin(actor: Actor) -> None:
    if not actor.has(Role.DEPT_ADMIN) or actor.tenant_id is None:
        raise PermissionDenied("Réservé à l'administration départementale.")


def _name_taken(name: str, except_id: int | None = None) -> bool:
    query = sa.select(Organisation.id).where(sa.func.lower(Organisation.name) == name.strip().lower())
    if except_id is not None:
        query = query.where(Organisation.id != except_id)
    return db.session.scalar(query) is not None


# -- organisations ----------------------------------------------------------------------
def create_organisation(actor: Actor, data: dict) -> Organisation:
    _require_dept_admin(actor)
    loaded = load(organisation_schema(actor), data)
    if _name_taken(loaded["name"]):
        raise ValidationFailed({"name": ["Un organisme porte déjà ce nom dans ce département."]})
    active = loaded.pop("active")
    spec = OrganisationSpec(**{**{k: v for k, v in loaded.items() if k != "commission_codes"},
                               "kind": loaded["kind"].value, "sectors": tuple(loaded["sectors"]),
                               "commissions": tuple(loaded["commission_codes"])})
    organisation = tenants.create_organisation(actor, spec)
    organisation.active = active
    db.session.commit()
    return organisation


def update_organisation(actor: Actor, organisation_id: int, data: dict) -> Organisation:
    """Edit an organisation of the tenant (its name, sectors, capacity, contact, or deactivate it)."""
    organisation = get_in_tenant(Organisation, organisation_id)
    if organisation is None:
        raise NotFound("Organisme introuvable.")
    _require_dept_admin(actor)
    loaded = load(organisation_schema(actor), data)
    if _name_taken(loaded["name"], organisation.id):
        raise ValidationFailed({"name": ["Un organisme porte déjà ce nom dans ce département."]})
    before = audit.snapshot(organisation, ORGANISATION_FIELDS)
    for key, value in loaded.items():
        setattr(organisation, key, value)
    changes = audit.diff(before, audit.snapshot(organisation, ORGANISATION_FIELDS))
    if changes:
        audit.record(actor, "organisation.update", object_type="organisation", object_id=organisation.id,
                     changes=changes)
    db.session.commit()
    return organisation


# -- users and memberships ----------------------------------------------------------------
@dataclass(frozen=True)
class Invited:
    """A role given to someone by email: the membership, and whether the message went out."""

    membership: Membership
    sent: account_links.Sent


def _tenant_name(tenant_id: int) -> str:
    with unscoped():
        return db.session.get(Tenant, tenant_id).name


def _account_for(actor: Actor, email: str, full_name: str):
    """The account of this email, created without a password if there is none; (user, created).

    Who already has an account is never said: the caller answers both cases the same way.
    """
    existing = users.find_by_email(email)
    if existing is not None:
        return existing, False
    return users.create_user(actor, {"email": email, "full_name": full_name}), True


def add_member(actor: Actor, data: dict) -> Invited:
    """Give someone a role in the current tenant by email (operator and prescriber need an organisation).

    A new account receives an invitation link to choose its password; an existing account
    (of this or another département) is told of its new role. The admin gets the same answer.
    """
    _require_dept_admin(actor)
    loaded = load(MemberSchema(), data)
    if loaded["organisation_id"] is not None and get_in_tenant(Organisation, loaded["organisation_id"]) is None:
        raise ValidationFailed({"organisation_id": ["Organisme introuvable dans ce département."]})
    if loaded["role"] in (Role.OPERATOR_WORKER, Role.PRESCRIBER) and loaded["organisation_id"] is None:
        raise ValidationFailed({"organisation_id": ["Ce rôle doit être rattaché à un organisme."]})
    try:
        user, created = _account_for(actor, loaded["email"], loaded["full_name"])
        duplicate = db.session.scalar(sa.select(Membership.id).where(
            Membership.user_id == user.id, Membership.role == loaded["role"],
            Membership.organisation_id.is_(None) if loaded["organisation_id"] is None
            else Membership.organisation_id == loaded["organisation_id"]))
        if duplicate is not None:  # a member of this tenant: the admin sees them in the list anyway
            raise ValidationFailed({"email": ["Cette personne a déjà ce rôle dans le département."]})
        membership = users.add_membership(actor, user, actor.tenant_id, loaded["role"], loaded["organisation_id"])
        db.session.commit()
    except ServiceError:
        db.session.rollback()
        raise
    except sa.exc.IntegrityError as exc:  # the same email added at the same moment by someone else
        db.session.rollback()
        raise Conflict("Cette personne vient d'être ajoutée par quelqu'un d'autre ; rechargez la page.") from exc
    sent = account_links.welcome(actor, user, created, _tenant_name(actor.tenant_id),
                                 loaded["role"].label)
    return Invited(membership, sent)


def resend_invitation(actor: Actor, membership_id: int) -> account_links.Sent:
    """A new invitation link for a member who has not chosen a password yet (the previous link stops working)."""
    _require_dept_admin(actor)
    membership = get_in_tenant(Membership, membership_id)
    if membership is None:
        raise NotFound("Habilitation introuvable.")
    with unscoped():
        user = db.session.get(User, membership.user_id)
    if user.password_hash is not None:
        raise Conflict("Cette personne a déjà choisi son mot de passe : elle peut utiliser « Mot de passe oublié ».",
                       "deja_active")
    return account_links.invite(actor, user, _tenant_name(actor.tenant_id), membership.role.label)


def set_membership_active(actor: Actor, membership_id: int, active: bool) -> Membership:
    """Suspend or restore a user's role in the tenant (the account itself may serve other tenants)."""
    _require_dept_admin(actor)
    membership = get_in_tenant(Membership, membership_id)
    if membership is None:
        raise NotFound("Habilitation introuvable.")
    if membership.user_id == actor.user_id and membership.role is Role.DEPT_ADMIN and not active:
        raise ServiceError("Vous ne pouvez pas retirer votre propre rôle d'administrateur.", "auto_retrait")
    if membership.active != active:
        audit.record(actor, "membership.activate" if active else "membership.deactivate",
                     object_type="membership", object_id=membership.id,
                     changes={"active": [membership.active, active], "user_id": membership.user_id,
                              "role": membership.role.value})
        membership.active = active
    if not active:  # a suspended role ends the person's sessions at once, on every device
        sessions.revoke_all(membership.user_id, sessions.Reason.SUSPENSION)
    db.session.commit()
    return membership


# -- commission sessions ----------------------------------------------------------------
ATTENDANCE_CHANGED = ("La liste des présences de cette séance vient d'être modifiée par quelqu'un d'autre ; "
                      "rechargez la page.")


def record_attendance(actor: Actor, session_id: int, members_present: str,
                      expected: int | None = None) -> CommissionSession:
    """Who sat in the session (printed in its minutes); by its secretariat.

    ``expected``: the session's version the page showed; two secretaries typing the list at
    once would otherwise each overwrite the other's without knowing.
    """
    session = get_in_tenant(CommissionSession, session_id)
    if session is None:
        raise NotFound("Séance introuvable.")
    if not actor.has(Role.COMMISSION_SECRETARY, Role.DEPT_ADMIN):
        raise PermissionDenied("Seul le secrétariat de la commission enregistre les présences.")
    decisions.require_serves(actor, session.commission_code)
    value = (members_present or "").strip()
    if len(value) > 5000:
        raise ValidationFailed({"members_present": ["5000 caractères au plus."]})
    check_fresh(session, expected, ATTENDANCE_CHANGED)
    if value != session.members_present:
        claim(session, expected, ATTENDANCE_CHANGED)
        audit.record(actor, "session.attendance", object_type="commission_session", object_id=session.id,
                     changes={"members_present": [session.members_present or None, value or None]})
        session.members_present = value
    db.session.commit()
    return session


# -- platform ----------------------------------------------------------------------------
def create_tenant_with_admin(actor: Actor, data: dict):
    """A new département and its first administrator, in one transaction (platform admin)."""
    if not actor.is_platform_admin:
        raise PermissionDenied("Seul un administrateur de la plateforme peut créer un département.")
    loaded = load(TenantSchema(), data)
    try:
        tenant = tenants.create_tenant(actor, loaded["code"], loaded["name"])
        user, created = _account_for(actor, loaded["admin_email"], loaded["admin_name"])
        users.add_membership(actor, user, tenant.id, Role.DEPT_ADMIN)
        db.session.commit()
    except ValidationFailed as exc:
        db.session.rollback()
        fields_ = {{"email": "admin_email", "full_name": "admin_name"}.get(k, k): v for k, v in exc.fields.items()}
        raise ValidationFailed(fields_, exc.message) from exc
    except ServiceError:
        db.session.rollback()
        raise
    except sa.exc.IntegrityError as exc:
        db.session.rollback()
        raise Conflict("Ce département ou ce compte vient d'être créé par quelqu'un d'autre ; rechargez la page.") \
            from exc
    sent = account_links.welcome(actor, user, created, tenant.name, Role.DEPT_ADMIN.label)
    return tenant, sent
