"""Helpers of the Seine-Maritime and Moselle tests: a département built through the services, a
fixed clock, and the shortcuts both drivers share to act through the services. Its readers of a
measure and of its obligations serve the Loire and Orne tests too."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pytest
import sqlalchemy as sa
import time_machine

from asll.extensions import db
from asll.models import Measure, Obligation, Role
from asll.plugins.contract import OrganisationSpec
from asll.services import plugins as plugin_service
from asll.services import measures, tenants, users
from asll.services.actor import Actor
from asll.tenancy import tenant_context
from tests.conftest import PARIS, Clock, day  # noqa: F401  (day is imported by the départements' tests)

PASSWORD = "mot-de-passe-de-test-2026"
DIAGNOSTIC = {
    "family_situation": "Couple avec deux enfants.",
    "administrative_situation": "Droits CAF ouverts.",
    "financial_situation": "Salaire et prestations ; dette de loyer de 900 €.",
    "housing_conditions": "Hébergés chez un parent.",
    "housing_path": "Expulsés du parc privé en 2025.",
    "difficulties": "Gestion du budget.",
    "strengths": "Mobilisés.",
    "steps_taken": "Demande de logement social.",
    "objectives": "Accéder à un logement et s'y maintenir.",
}


@pytest.fixture
def clock():
    """5 January 2026, 9:00 in Paris; imported by the départements' conftest files."""
    with time_machine.travel(dt.datetime(2026, 1, 5, 9, 0, tzinfo=PARIS), tick=False) as traveller:
        yield Clock(traveller)


@dataclass
class Departement:
    """A tenant with its plugin enabled, its organisations and one actor per named member."""

    tenant_id: int
    orgs: dict[str, int] = field(default_factory=dict)
    actors: dict[str, Actor] = field(default_factory=dict)


def build_departement(code: str, name: str, plugin: str, organisations: dict[str, OrganisationSpec],
                      members: dict[str, tuple[Role, str | None]]) -> Departement:
    """Create the tenant, enable ``plugin``, create ``organisations`` and a user per member (role, org key)."""
    system = Actor.system()
    tenant = tenants.create_tenant(system, code, name)
    db.session.commit()
    plugin_service.set_enabled(system, tenant.id, plugin, True)
    built = Departement(tenant_id=tenant.id)
    tenant_actor = Actor.system(tenant.id)
    with tenant_context(tenant.id):
        for key, spec in organisations.items():
            built.orgs[key] = tenants.create_organisation(tenant_actor, spec).id
        created = {}
        for key, (role, org_key) in members.items():
            user = users.create_user(system, {"email": f"{key}.{code}@test.asll.fr", "full_name": f"{key} {name}",
                                              "password": PASSWORD})
            users.add_membership(tenant_actor, user, tenant.id, role, built.orgs[org_key] if org_key else None)
            created[key] = user
        db.session.commit()
        for key, user in created.items():
            built.actors[key] = Actor.for_user(user, users.memberships_of(user.id), tenant.id)
    return built


@dataclass
class Driver:
    """Who acts in a département, and the shortcuts common to every département's driver."""

    dept: Departement
    clock: Clock

    def actor(self, key: str) -> Actor:
        return self.dept.actors[key]

    def org(self, key: str) -> int:
        return self.dept.orgs[key]

    def act(self, who: str, measure_id: int, name: str, **data):
        """Apply a transition as ``who``; return the warnings."""
        return measures.transition(self.actor(who), measure_id, name, data)[1]


def measure_row(measure_id: int) -> Measure:
    db.session.expire_all()
    return db.session.scalar(sa.select(Measure).where(Measure.id == measure_id))


def obligation_states(measure_id: int) -> dict[str, tuple[str, dt.date]]:
    return {kind: (state, due) for kind, (state, due, _label) in obligations(measure_id).items()}


def obligations(measure_id: int) -> dict[str, tuple[str, dt.date, str]]:
    """The measure's stored obligations: kind → (state, due date, label)."""
    db.session.expire_all()
    rows = db.session.scalars(sa.select(Obligation).where(Obligation.measure_id == measure_id))
    return {o.kind: (o.state.value, o.due_date, o.label) for o in rows}


def codes(violations) -> list[str]:
    return [v.code for v in violations]


def messages(violations) -> list[str]:
    return [v.message for v in violations]
