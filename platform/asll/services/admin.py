"""Administration use cases the web needs and the core services did not offer yet.

Département admin: create and edit organisations, add a user with a role, deactivate or
reactivate a membership. Commission secretariat: record who attended a session (it
goes into the minutes). Platform admin: create a département with its first admin.
Each validates its input (French messages), is audited and commits.
"""

from __future__ import annotations

import marshmallow as ma
import sqlalchemy as sa
from marshmallow import fields, validate

from asll.extensions import db
from asll.models import CommissionSession, Membership, Organisation, OrganisationKind, Role
from asll.plugins.contract import CommissionRole, OrganisationSpec
from asll.security import MIN_PASSWORD_LENGTH
from asll.services import audit, decisions, tenants, users
from asll.services.access import get_in_tenant
from asll.services.actor import Actor
from asll.services.errors import NotFound, PermissionDenied, ServiceError, ValidationFailed
from asll.services.schemas import REQUIRED, FrenchSchema, Id, nonempty, text
from asll.services.validation import load

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
    password = fields.String(required=True, load_only=True, error_messages=REQUIRED, validate=validate.Length(
        min=MIN_PASSWORD_LENGTH, error=f"Le mot de passe doit faire au moins {MIN_PASSWORD_LENGTH} caractères."))
    role = fields.Enum(Role, by_value=True, required=True, error_messages={**REQUIRED, "unknown": "Rôle inconnu."})
    organisation_id = Id(load_default=None)


class TenantSchema(FrenchSchema):
    code = nonempty(3)
    name = nonempty(120)
    admin_email = fields.Email(required=True, error_messages={**REQUIRED, "invalid": "Adresse électronique invalide."})
    admin_name = fields.String(required=True, error_messages=REQUIRED, validate=validate.Length(
        min=2, max=160, error="Le nom doit faire entre 2 et 160 caractères."))
    admin_password = fields.String(required=True, load_only=True, error_messages=REQUIRED, validate=validate.Length(
        min=MIN_PASSWORD_LENGTH, error=f"Le mot de passe doit faire au moins {MIN_PASSWORD_LENGTH} caractères."))


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
def add_member(actor: Actor, data: dict) -> Membership:
    """Create an account with a role in the current tenant (operator and prescriber need an organisation)."""
    _require_dept_admin(actor)
    loaded = load(MemberSchema(), data)
    if loaded["organisation_id"] is not None and get_in_tenant(Organisation, loaded["organisation_id"]) is None:
        raise ValidationFailed({"organisation_id": ["Organisme introuvable dans ce département."]})
    if loaded["role"] in (Role.OPERATOR_WORKER, Role.PRESCRIBER) and loaded["organisation_id"] is None:
        raise ValidationFailed({"organisation_id": ["Ce rôle doit être rattaché à un organisme."]})
    try:
        user = users.create_user(actor, {"email": loaded["email"], "full_name": loaded["full_name"],
                                         "password": loaded["password"]})
        membership = users.add_membership(actor, user, actor.tenant_id, loaded["role"], loaded["organisation_id"])
    except ServiceError:
        db.session.rollback()
        raise
    db.session.commit()
    return membership


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
    db.session.commit()
    return membership


# -- commission sessions ----------------------------------------------------------------
def record_attendance(actor: Actor, session_id: int, members_present: str) -> CommissionSession:
    """Who sat in the session (printed in its minutes); by its secretariat."""
    session = get_in_tenant(CommissionSession, session_id)
    if session is None:
        raise NotFound("Séance introuvable.")
    if not actor.has(Role.COMMISSION_SECRETARY, Role.DEPT_ADMIN):
        raise PermissionDenied("Seul le secrétariat de la commission enregistre les présences.")
    decisions.require_serves(actor, session.commission_code)
    value = (members_present or "").strip()
    if len(value) > 5000:
        raise ValidationFailed({"members_present": ["5000 caractères au plus."]})
    if value != session.members_present:
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
        user = users.create_user(actor, {"email": loaded["admin_email"], "full_name": loaded["admin_name"],
                                         "password": loaded["admin_password"]})
        users.add_membership(actor, user, tenant.id, Role.DEPT_ADMIN)
    except ValidationFailed as exc:
        db.session.rollback()
        fields_ = {{"email": "admin_email", "full_name": "admin_name", "password": "admin_password"}.get(k, k): v
                   for k, v in exc.fields.items()}
        raise ValidationFailed(fields_, exc.message) from exc
    except ServiceError:
        db.session.rollback()
        raise
    db.session.commit()
    return tenant
