"""Tenants (départements) and their organisations."""

from __future__ import annotations

import sqlalchemy as sa

from asll.extensions import db
from asll.models import Organisation, OrganisationKind, Tenant
from asll.plugins.contract import OrganisationSpec
from asll.services import audit
from asll.services.actor import Actor
from asll.services.errors import PermissionDenied, ValidationFailed
from asll.tenancy import tenant_context, unscoped


def create_tenant(actor: Actor, code: str, name: str) -> Tenant:
    if not (actor.is_platform_admin or actor.user_id is None):
        raise PermissionDenied("Seul un administrateur de la plateforme peut créer un département.")
    code, name = code.strip(), name.strip()
    errors = {}
    if not (code.isdigit() and 2 <= len(code) <= 3) and code not in ("2A", "2B"):
        errors["code"] = ["Le code INSEE du département doit compter 2 ou 3 chiffres (ou 2A / 2B)."]
    if not name:
        errors["name"] = ["Le nom du département est obligatoire."]
    with unscoped():
        if not errors and db.session.scalar(sa.select(Tenant.id).where(Tenant.code == code)):
            errors["code"] = ["Ce département existe déjà."]
    if errors:
        raise ValidationFailed(errors)
    tenant = Tenant(code=code, name=name)
    db.session.add(tenant)
    db.session.flush()
    audit.record(actor, "tenant.create", object_type="tenant", object_id=tenant.id,
                 changes={"code": [None, code], "name": [None, name]}, tenant_id=tenant.id)
    return tenant


def tenant_by_code(code: str) -> Tenant | None:
    with unscoped():
        return db.session.scalar(sa.select(Tenant).where(Tenant.code == code))


def create_organisation(actor: Actor, spec: OrganisationSpec) -> Organisation:
    """Create an organisation in the actor's tenant (département admin or system)."""
    from asll.models import Role

    if not (actor.user_id is None or actor.has(Role.DEPT_ADMIN)):
        raise PermissionDenied()
    with tenant_context(actor.tenant_id):
        organisation = Organisation(
            name=spec.name, kind=OrganisationKind(spec.kind), sectors=list(spec.sectors), capacity=spec.capacity,
            capacity_unit=spec.capacity_unit, reinforced_capacity=spec.reinforced_capacity, address=spec.address,
            phone=spec.phone, email=spec.email, description=spec.description,
            commission_codes=list(spec.commissions),
        )
        db.session.add(organisation)
        db.session.flush()
        audit.record(actor, "organisation.create", object_type="organisation", object_id=organisation.id,
                     changes={"name": [None, spec.name], "kind": [None, spec.kind]})
    return organisation


def organisations(actor: Actor, kind: OrganisationKind | None = None) -> list[Organisation]:
    query = sa.select(Organisation).order_by(Organisation.name)
    if kind is not None:
        query = query.where(Organisation.kind == kind)
    return list(db.session.scalars(query))


def get_organisation(organisation_id: int) -> Organisation | None:
    """Organisations are not personal data: any member of the tenant may see them."""
    return db.session.scalar(sa.select(Organisation).where(Organisation.id == organisation_id))


def all_tenants() -> list[Tenant]:
    with unscoped():
        return list(db.session.scalars(sa.select(Tenant).order_by(Tenant.code)))
