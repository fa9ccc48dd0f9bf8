"""Helpers of the Seine-Maritime and Moselle tests: a département built through the services, the
plugins' migration branches, a fixed clock, and shortcuts that drive a case through the services."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from asll.extensions import db
from asll.models import Measure, Obligation, Role
from asll.plugins.contract import OrganisationSpec
from asll.services import plugins as plugin_service
from asll.services import tenants, users
from asll.services.actor import Actor
from asll.tenancy import tenant_context

PARIS = ZoneInfo("Europe/Paris")
PASSWORD = "mot-de-passe-de-test-2026"
ROOT = Path(__file__).resolve().parents[3]
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


def day(value: str) -> dt.date:
    return dt.date.fromisoformat(value)


def apply_plugin_migrations(app) -> None:
    """Apply the plugins' Alembic branches too.

    Workaround: ``migrations/env.py`` sets ``version_locations`` when the environment runs, after
    Alembic has read the revisions, so ``upgrade heads`` never sees ``plugins/*/migrations/versions``.
    Setting them on the config first makes the plugins' tables exist; a no-op once the core is fixed.
    """
    from alembic import command

    with app.app_context():
        extension = app.extensions["migrate"]
        config = extension.migrate.get_config(str(ROOT / "migrations"))
        locations = [ROOT / "migrations" / "versions", *sorted(ROOT.glob("plugins/*/migrations/versions"))]
        config.set_main_option("path_separator", "space")  # as env.py joins them
        config.set_main_option("version_locations", " ".join(str(p) for p in locations if p.is_dir()))
        command.upgrade(config, "heads")
        db.session.remove()


class Clock:
    """The fixed clock: time only moves when a test says so."""

    def __init__(self, traveller):
        self._traveller = traveller

    def to(self, value: str, hour: int = 10) -> None:
        self._traveller.move_to(dt.datetime.combine(day(value), dt.time(hour), tzinfo=PARIS))


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


def measure_row(measure_id: int) -> Measure:
    db.session.expire_all()
    return db.session.scalar(sa.select(Measure).where(Measure.id == measure_id))


def obligation_states(measure_id: int) -> dict[str, tuple[str, dt.date]]:
    db.session.expire_all()
    rows = db.session.scalars(sa.select(Obligation).where(Obligation.measure_id == measure_id))
    return {o.kind: (o.state.value, o.due_date) for o in rows}


def codes(violations) -> list[str]:
    return [v.code for v in violations]


def messages(violations) -> list[str]:
    return [v.message for v in violations]
