"""Test data built through the services where they exist (tenants, plugins, users, organisations).

Households, requests and measures are inserted directly here only to give the access
tests objects to look for; the workflow tests create them through the workflow services.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from asll.extensions import db
from asll.models import (
    CommissionSession,
    Document,
    Household,
    HouseholdMember,
    Measure,
    MeasureStatus,
    Organisation,
    OrganisationKind,
    Request,
    RequestStatus,
    Role,
    Tenant,
    User,
)
from asll.plugins.contract import OrganisationSpec
from asll.services import documents, plugins, tenants, users
from asll.services.actor import Actor
from asll.tenancy import tenant_context

PASSWORD = "mot-de-passe-de-test-2026"
MINIMAL_PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


@dataclass
class TenantWorld:
    tenant: Tenant
    plugin: str
    orgs: dict[OrganisationKind, Organisation] = field(default_factory=dict)
    users: dict[Role, User] = field(default_factory=dict)
    household: Household | None = None
    request: Request | None = None
    measure: Measure | None = None
    document: Document | None = None
    session: CommissionSession | None = None
    export: object | None = None

    def add_export(self):
        """A pending export job of the tenant's département admin (for the access tests)."""
        from asll.services import exports

        with tenant_context(self.tenant.id):
            self.export = exports.request_export(self.actor(Role.DEPT_ADMIN), {"dataset": "measures"},
                                                 send_to_worker=False)
        return self.export

    def add_document(self) -> Document:
        """An attachment on the tenant's request (for the access tests)."""
        with tenant_context(self.tenant.id):
            self.document = documents.attach(self.actor(Role.PRESCRIBER), request_id=self.request.id,
                                             filename="diagnostic.pdf", stream=io.BytesIO(MINIMAL_PDF),
                                             content_type="application/pdf")
        return self.document

    def actor(self, role: Role) -> Actor:
        from asll.services.users import memberships_of

        user = self.users[role]
        return Actor.for_user(user, memberships_of(user.id), self.tenant.id)


@dataclass
class World:
    loire: TenantWorld
    orne: TenantWorld
    platform_admin: User
    password: str = PASSWORD


def make_user(email: str, name: str, *, platform_admin: bool = False) -> User:
    return users.create_user(Actor.system(), {"email": email, "full_name": name, "password": PASSWORD},
                             platform_admin=platform_admin)


def build_tenant(code: str, name: str, plugin: str) -> TenantWorld:
    system = Actor.system()
    tenant = tenants.create_tenant(system, code, name)
    db.session.commit()
    plugins.set_enabled(system, tenant.id, plugin, True)
    world = TenantWorld(tenant=tenant, plugin=plugin)
    tenant_actor = Actor.system(tenant.id)
    with tenant_context(tenant.id):
        for kind in OrganisationKind:
            world.orgs[kind] = tenants.create_organisation(
                tenant_actor, OrganisationSpec(name=f"{kind.label} {code}", kind=kind.value, sectors=("Centre",),
                                               capacity=10 if kind is OrganisationKind.OPERATOR else None))
        org_for_role = {
            Role.PRESCRIBER: OrganisationKind.PRESCRIBER,
            Role.OPERATOR_WORKER: OrganisationKind.OPERATOR,
            Role.COMMISSION_SECRETARY: OrganisationKind.COMMISSION_SECRETARIAT,
            Role.DEPT_AGENT: OrganisationKind.DEPT_SERVICE,
        }
        for role in Role:
            user = make_user(f"{role.value}.{code}@test.asll.fr", f"{role.label} {name}")
            kind = org_for_role.get(role)
            users.add_membership(tenant_actor, user, tenant.id, role, world.orgs[kind].id if kind else None)
            world.users[role] = user
        prescriber = world.users[Role.PRESCRIBER]
        household = Household(reference=f"M-{code}-0001", city="Ville", sector="Centre",
                              created_by_id=prescriber.id,
                              created_by_organisation_id=world.orgs[OrganisationKind.PRESCRIBER].id,
                              members=[HouseholdMember(last_name="Martin", first_name="Léa", is_reference=True,
                                                       birth_date=date(1990, 3, 14), tenant_id=tenant.id)])
        db.session.add(household)
        db.session.flush()
        request = Request(reference=f"D-{code}-0001", household_id=household.id, measure_type=f"{plugin}.acces",
                          status=RequestStatus.DECIDED, filed_by_id=prescriber.id,
                          prescriber_organisation_id=world.orgs[OrganisationKind.PRESCRIBER].id,
                          submitted_at=datetime(2026, 1, 5, tzinfo=UTC))
        db.session.add(request)
        db.session.flush()
        measure = Measure(reference=f"A-{code}-0001", household_id=household.id, request_id=request.id,
                          measure_type=f"{plugin}.acces", kind="acces", status=MeasureStatus.OPERATOR_ASSIGNED,
                          operator_id=world.orgs[OrganisationKind.OPERATOR].id, decision_date=date(2026, 1, 20),
                          granted_months=6)
        db.session.add(measure)
        session = CommissionSession(commission_code=f"{plugin}.x", session_date=date(2026, 2, 1),
                                    tenant_id=tenant.id)
        db.session.add(session)
        db.session.commit()
        world.household, world.request, world.measure = household, request, measure
        world.session = session
    return world


def build_world() -> World:
    admin = make_user("plateforme@test.asll.fr", "Admin Plateforme", platform_admin=True)
    db.session.commit()
    return World(loire=build_tenant("42", "Loire", "loire"), orne=build_tenant("61", "Orne", "orne"),
                 platform_admin=admin)
