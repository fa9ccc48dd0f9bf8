"""Driving Loire cases through the services: households, requests, decisions, transitions."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import asll_loire.plugin as loire
from asll.extensions import db
from asll.models import OrganisationKind, Role
from asll.services import decisions, measures, requests, tenants
from asll.services.actor import Actor
from asll.tenancy import tenant_context
from tests.conftest import day
from tests.plugins.departement import measure_row, obligations  # noqa: F401  (imported by the tests)

DIAGNOSTIC = {
    "family_situation": "Couple, un enfant.",
    "administrative_situation": "Droits ouverts.",
    "financial_situation": "RSA ; dette de loyer de 600 €.",
    "housing_conditions": "Hébergés chez un parent.",
    "housing_path": "Expulsés en 2025.",
    "difficulties": "Budget logement.",
    "strengths": "Mobilisés.",
    "steps_taken": "Demande de logement social déposée.",
    "objectives": "Accéder à un logement et s'y maintenir.",
}
CLU_FORMS = {"imprime_42": True, "fiche_asll": True}
FORMS = {
    loire.ACCES: CLU_FORMS, loire.MAINTIEN: CLU_FORMS, loire.DIAGNOSTIC: CLU_FORMS,
    loire.BAIL_GLISSANT: {"instruction": "clt"},
    loire.ARIV: {"gens_du_voyage_sedentarisation": True},
    loire.ARALIS: {"resident_foyer_aralis": True, "capacite_logement_autonome": True},
}


@dataclass
class LoireEnv:
    tenant_id: int
    prescriber: Actor
    secretary: Actor
    agent: Actor
    orgs: dict[str, int] = field(default_factory=dict)
    landlord_id: int = 0
    prescriber_name: str = ""
    session_day: int = 0

    def org(self, name: str) -> int:
        return self.orgs[name]


def build_env(world):
    """The world's Loire tenant with the seed's organisations, inside its tenant context."""
    w = world.loire
    with tenant_context(w.tenant.id):
        system = Actor.system(w.tenant.id)
        orgs = {spec.name: tenants.create_organisation(system, spec).id for spec in loire.ORGANISATIONS}
        db.session.commit()
        yield LoireEnv(tenant_id=w.tenant.id, prescriber=w.actor(Role.PRESCRIBER),
                       secretary=w.actor(Role.COMMISSION_SECRETARY), agent=w.actor(Role.DEPT_AGENT),
                       orgs=orgs, landlord_id=orgs["Bailleur social (organisme HLM)"],
                       prescriber_name=w.orgs[OrganisationKind.PRESCRIBER].name)


def household(env: LoireEnv, sector: str = "Ondaine", *, landlord: bool = False, name: str = "Durand",
              **data) -> int:
    values = {"city": "Saint-Étienne", "postcode": "42000", "sector": sector, "housing_status": "public_tenant",
              "members": [{"last_name": name, "first_name": "Ana", "birth_date": "1985-05-01"}], **data}
    if landlord:
        values.update(landlord_id=env.landlord_id, landlord_consent=True)
    return requests.create_household(env.prescriber, values).id


def draft(env: LoireEnv, measure_type: str, household_id: int | None = None, extra: dict | None = None) -> int:
    household_id = household_id or household(env)
    return requests.save_draft(env.prescriber, {
        "household_id": household_id, "measure_type": measure_type, "origin": "service social",
        "diagnostic": DIAGNOSTIC, "consent_given_by": "Ana Durand", "consent_date": "2026-03-01",
        "extra": FORMS[measure_type] if extra is None else extra}).id


def submitted(env: LoireEnv, measure_type: str = loire.ACCES, household_id: int | None = None,
              extra: dict | None = None) -> int:
    return requests.submit(env.prescriber, draft(env, measure_type, household_id, extra)).id


def schedule(env: LoireEnv, request_id: int, on: str | None = None) -> int:
    """A session of the request's commission (one per call, on its own day) with the request on its agenda."""
    request = requests._visible_request(env.agent, request_id)
    env.session_day += 1
    session_date = on or (day("2026-03-02") + dt.timedelta(days=env.session_day)).isoformat()
    session = decisions.create_session(env.secretary, {"commission_code": request.commission_code,
                                                       "session_date": session_date})
    decisions.build_agenda(env.secretary, session.id, [request_id])
    return session.id


def decide(env: LoireEnv, request_id: int, decision: dict, on: str | None = None):
    """The request's commission decides in a session of its own (or the service alone, with no commission)."""
    request = requests._visible_request(env.agent, request_id)
    if request.commission_code is None:
        return decisions.decide_alone(env.agent, request_id, {"decision_date": on or "2026-03-10", **decision})
    session_id = schedule(env, request_id, on)
    return decisions.decide_in_session(env.secretary, session_id, {request_id: decision})[0]


def in_session(env: LoireEnv, session_id: int, request_id: int, decision: dict):
    return decisions.decide_in_session(env.secretary, session_id, {request_id: decision})[0]


def granted(env: LoireEnv, measure_type: str = loire.ACCES, operator: str | None = "AGASEF", *,
            household_id: int | None = None, on: str | None = None, **decision) -> int:
    data = {"outcome": "granted", **decision}
    if operator:
        data["operator_id"] = env.org(operator)
    return decide(env, submitted(env, measure_type, household_id), data, on).measure_id


def step(env: LoireEnv, measure_id: int, name: str, data: dict, actor: Actor | None = None):
    return measures.transition(actor or env.agent, measure_id, name, data)


def started(env: LoireEnv, measure_type: str = loire.ACCES, operator: str | None = "AGASEF",
            start: str = "2026-03-20", start_extra: dict | None = None, **kwargs) -> int:
    measure_id = granted(env, measure_type, operator, **kwargs)
    data = {"start_date": start, **({"extra": start_extra} if start_extra else {})}
    step(env, measure_id, "start", data)
    return measure_id

