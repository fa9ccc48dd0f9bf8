"""Driving Orne cases through the services: households, requests, validations, transitions."""

from __future__ import annotations

from dataclasses import dataclass, field

import asll_orne.plugin as orne
from asll.extensions import db
from asll.models import Role
from asll.services import decisions, measures, requests, tenants
from asll.services.actor import Actor
from asll.tenancy import tenant_context
from tests.conftest import day  # noqa: F401  (imported by the Orne tests)
from tests.plugins.departement import measure_row, obligations  # noqa: F401  (imported by the tests)

FORMS = {
    orne.INTERNE: {"origine": "travailleur_social"},
    orne.JEUNES_ALT: {"origine": "travailleur_social", "alt": True},
    orne.CHRS_SUITE: {"origine": "travailleur_social", "sortie_chrs_le": "2026-02-15"},
}
ENTRY = {"domaines": ["endettement", "appropriation"], "ressources_entree": "minima_sociaux",
         "situation_pro_entree": "recherche_emploi"}
EXIT = {"ressources_sortie": "revenus_activite", "situation_pro_sortie": "emploi", "resultat_logement": "maintien"}
CIRCONSCRIPTION = "Circonscription d'action sociale – {}"
AOLTJ = "AOLTJ – Association pour le logement temporaire des jeunes"
CHRS = "CHRS – service de suite"


@dataclass
class OrneEnv:
    tenant_id: int
    prescriber: Actor
    agent: Actor
    admin: Actor
    secretary: Actor
    orgs: dict[str, int] = field(default_factory=dict)

    def org(self, name: str) -> int:
        return self.orgs[name]

    def circ(self, name: str) -> int:
        return self.orgs[CIRCONSCRIPTION.format(name)]


def build_env(world):
    w = world.orne
    with tenant_context(w.tenant.id):
        system = Actor.system(w.tenant.id)
        orgs = {spec.name: tenants.create_organisation(system, spec).id for spec in orne.ORGANISATIONS}
        db.session.commit()
        yield OrneEnv(tenant_id=w.tenant.id, prescriber=w.actor(Role.PRESCRIBER),
                      agent=w.actor(Role.DEPT_AGENT), admin=w.actor(Role.DEPT_ADMIN),
                      secretary=w.actor(Role.COMMISSION_SECRETARY), orgs=orgs)


def household(env: OrneEnv, sector: str = "Flers", housing: str = "public_tenant", *, born: str = "1975-04-02",
              name: str = "Leroy", **data) -> int:
    return requests.create_household(env.prescriber, {
        "city": sector, "sector": sector, "housing_status": housing,
        "members": [{"last_name": name, "first_name": "Marie", "birth_date": born}], **data}).id


def draft(env: OrneEnv, measure_type: str = orne.INTERNE, household_id: int | None = None,
          extra: dict | None = None) -> int:
    return requests.save_draft(env.prescriber, {
        "household_id": household_id or household(env), "measure_type": measure_type,
        "consent_given_by": "Marie Leroy", "consent_date": "2026-03-01",
        "extra": FORMS[measure_type] if extra is None else extra}).id


def submitted(env: OrneEnv, measure_type: str = orne.INTERNE, household_id: int | None = None,
              extra: dict | None = None) -> int:
    return requests.submit(env.prescriber, draft(env, measure_type, household_id, extra)).id


def validate(env: OrneEnv, request_id: int, on: str = "2026-03-05", **decision):
    """The head of circonscription decides alone (the plugin's default for every circonscription)."""
    return decisions.decide_alone(env.agent, request_id, {"outcome": "granted", "decision_date": on, **decision})


def granted(env: OrneEnv, measure_type: str = orne.INTERNE, operator: int | None = None, *,
            household_id: int | None = None, on: str = "2026-03-05", **decision) -> int:
    if operator is not None:
        decision["operator_id"] = operator
    return validate(env, submitted(env, measure_type, household_id), on, **decision).measure_id


def step(env: OrneEnv, measure_id: int, name: str, data: dict):
    return measures.transition(env.agent, measure_id, name, data)


def started(env: OrneEnv, measure_type: str = orne.INTERNE, operator: int | None = None, *,
            start: str = "2026-03-10", entry: dict | None = None, **kwargs) -> int:
    measure_id = granted(env, measure_type, operator, **kwargs)
    step(env, measure_id, "start", {"start_date": start, "extra": entry or ENTRY})
    return measure_id

