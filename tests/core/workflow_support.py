"""Helpers of the workflow tests: a fake département plugin, a fixed clock, actors and
shortcuts that drive a case through the services, and a whole-database snapshot that
proves a refused action changed nothing."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import marshmallow as ma
import pytest
import sqlalchemy as sa

from asll.domain.calendar import add_months
from asll.domain.machine import NO_BILAN_REASONS
from asll.extensions import db
from asll.models import Measure, MeasureStatus, Obligation, Role
from asll.plugins.contract import OrganisationSpec
from asll.services import decisions, measures, requests, tenants, users
from asll.services import plugins as plugin_service
from asll.models import OrganisationKind
from asll.services.actor import Actor
from asll.tenancy import tenant_context, unscoped
from asll.toolkit import (
    CommissionDef,
    CommissionRole,
    MeasureKind,
    MeasureTypeDef,
    ObligationDef,
    PluginInfo,
    Violation,
    hookimpl,
)
from tests.conftest import Clock, day  # noqa: F401  (day is re-exported to the workflow tests)

WF = "wf"
SHORT = "wf.court"  # a measure type without commission, decided by a single decider
# The core's tests use a fake département, so that no real département's rules (which
# evolve with their plugins) decide what the core's own tests see.
ACCES = "wf.acces"
CLU = "wf.clu"
REQUIRED = ["Ce champ est obligatoire."]
DIAGNOSTIC = {
    "family_situation": "Mère isolée, deux enfants de 4 et 7 ans.",
    "administrative_situation": "Titre de séjour valide, droits CAF ouverts.",
    "financial_situation": "RSA et prestations familiales ; dette de loyer de 1 200 €.",
    "housing_conditions": "Hébergée chez sa sœur dans un T2.",
    "housing_path": "Expulsée de son logement du parc privé en 2025.",
    "difficulties": "Gestion du budget, démarches administratives.",
    "strengths": "Motivée, suivie par le CCAS.",
    "steps_taken": "Demande de logement social déposée en janvier.",
    "objectives": "Accéder à un logement autonome et s'y maintenir.",
}


class WorkflowPlugin:
    """A fake département plugin: a measure type, request fields, rules and obligations on demand."""

    def __init__(self):
        self.violations: dict[str, list[Violation]] = {}
        self.extra_obligations: list[ObligationDef] = []
        self.seen: list[tuple[str, str, dict]] = []  # (transition, status before, data)

    @hookimpl
    def asll_plugin_info(self):
        return PluginInfo(name=WF, label="Circuit de test", departement_code="99", departement_name="Test")

    @hookimpl
    def asll_commissions(self, tenant):
        return [CommissionDef(code=CLU, label="Commission Logement Unique (CLU)", role=CommissionRole.DECIDES,
                              examines=(ACCES,), rhythm="mensuelle")]

    @hookimpl
    def asll_measure_types(self, tenant):
        return [MeasureTypeDef(code=ACCES, label="ASLL accès (recherche, installation dans le logement)",
                               kind=MeasureKind.ACCES, default_months=6, max_months=6, max_prolongations=1,
                               prolongation_months=6, max_total_months=12, commission=CLU,
                               incompatible_with=("TPF", "PROTECTION_MAJEUR", "SUIVI_RSA", "AEMO")),
                MeasureTypeDef(code=SHORT, label="Mesure courte de test", kind=MeasureKind.MAINTIEN,
                               default_months=4, max_months=4, max_prolongations=2, prolongation_months=3,
                               max_total_months=8, commission=None, incompatible_with=("MASP",))]

    @hookimpl
    def asll_request_fields(self, tenant, measure_type):
        if measure_type != SHORT:
            return {}
        return {
            "numero_allocataire": ma.fields.String(
                required=True, error_messages={"required": "Le numéro d'allocataire est obligatoire."}),
            "date_impaye": ma.fields.Date(load_default=None, error_messages={"invalid": "Date d'impayé invalide."}),
        }

    @hookimpl
    def asll_validate_transition(self, tenant, measure, transition, data):
        self.seen.append((transition, measure.status.value, dict(data)))
        return list(self.violations.get(transition, ()))

    @hookimpl
    def asll_obligations(self, tenant, measure):
        found = []
        if measure.decision_date:
            found.append(ObligationDef("demarrage", "Démarrer la mesure", add_months(measure.decision_date, 1),
                                       "operator_worker", done=measure.start_date is not None))
        if measure.start_date:
            found.append(ObligationDef("contrat", "Envoyer le contrat signé", add_months(measure.start_date, 1),
                                       "operator_worker", done=measure.contract_sent_date is not None))
            found.append(ObligationDef("plan", "Établir le plan d'action", add_months(measure.start_date, 2),
                                       "operator_worker", done=measure.action_plan_date is not None))
        if measure.status is MeasureStatus.SUSPENDED:
            found.append(ObligationDef("reprise", "Statuer sur la reprise", add_months(measure.suspended_from, 1),
                                       "dept_agent"))
        if measure.end_date and measure.end_reason not in NO_BILAN_REASONS:
            found.append(ObligationDef("bilan", "Recevoir le bilan", add_months(measure.end_date, 1),
                                       "operator_worker", done=measure.bilan_date is not None))
        return found + list(self.extra_obligations)


@dataclass
class Env:
    """Actors of the Loire (and one of the Orne), the fake plugin and the clock."""

    world: object
    wf: WorkflowPlugin
    clock: Clock
    tenant_id: int
    operator_org_id: int
    prescriber: Actor
    secretary: Actor
    agent: Actor
    operator: Actor
    auditor: Actor
    admin: Actor
    member: Actor
    extra: dict = field(default_factory=dict)

    def second_operator(self, name: str = "Seconde association") -> tuple[int, Actor]:
        """A second operator organisation of the Loire with one social worker."""
        if name not in self.extra:
            system = Actor.system(self.tenant_id)
            org = tenants.create_organisation(system, OrganisationSpec(name=name, kind="operator",
                                                                       sectors=("Ondaine",), capacity=5))
            user = users.create_user(Actor.system(), {"email": f"ts.{org.id}@test.asll.fr",
                                                      "full_name": f"Travailleuse sociale {name}",
                                                      "password": "mot-de-passe-de-test-2026"})
            users.add_membership(system, user, self.tenant_id, Role.OPERATOR_WORKER, org.id)
            db.session.commit()
            self.extra[name] = (org.id, Actor.for_user(user, users.memberships_of(user.id), self.tenant_id))
        return self.extra[name]


# -- "nothing changed" --------------------------------------------------------------
def database_state() -> dict:
    """Every row of every table. Commits first: a refusal must leave nothing a later commit would write."""
    db.session.commit()
    with unscoped():
        return {
            table.name: [tuple(row) for row in db.session.execute(
                sa.select(table).order_by(*table.primary_key.columns))]
            for table in db.metadata.sorted_tables
        }


def refused(error: type, call, *args, **kwargs):
    """Run a call that must be refused with exactly ``error``; assert the database is unchanged."""
    before = database_state()
    with pytest.raises(error) as info:
        call(*args, **kwargs)
    assert type(info.value) is error, f"{type(info.value).__name__} instead of {error.__name__}: {info.value}"
    after = database_state()
    changed = [name for name in before if before[name] != after[name]]
    assert not changed, f"a refused action changed the tables {changed}"
    return info.value


# -- driving a case through the services ----------------------------------------------
def new_household(env: Env, name: str = "Durand") -> int:
    household = requests.create_household(env.prescriber, {
        "city": "Saint-Étienne", "postcode": "42000", "sector": "Centre", "housing_status": "hosted",
        "members": [{"last_name": name, "first_name": "Ana", "birth_date": "1988-05-01"}]})
    return household.id


def submitted_request(env: Env, household_id: int | None = None, measure_type: str = ACCES, **data) -> int:
    household_id = household_id or new_household(env)
    draft = requests.save_draft(env.prescriber, {
        "household_id": household_id, "measure_type": measure_type, "origin": "prescripteur",
        "diagnostic": DIAGNOSTIC, "consent_given_by": "Ana Durand", "consent_date": "2026-03-01", **data})
    return requests.submit(env.prescriber, draft.id).id


def scheduled(env: Env, request_ids: list[int], session_date: str = "2026-03-10") -> int:
    session = decisions.create_session(env.secretary, {"commission_code": CLU, "session_date": session_date})
    decisions.build_agenda(env.secretary, session.id, request_ids)
    return session.id


def granted_measure(env: Env, *, operator: bool = True, months: int = 6, session_date: str = "2026-03-10",
                    household_id: int | None = None) -> int:
    request_id = submitted_request(env, household_id)
    session_id = scheduled(env, [request_id], session_date)
    decision = {"outcome": "granted", "duration_months": months}
    if operator:
        decision["operator_id"] = env.operator_org_id
    [recorded] = decisions.decide_in_session(env.secretary, session_id, {request_id: decision})
    return recorded.measure_id


def started_measure(env: Env, start: str = "2026-03-16", **kwargs) -> int:
    measure_id = granted_measure(env, **kwargs)
    measures.transition(env.operator, measure_id, "start", {"start_date": start})
    return measure_id


def running_measure(env: Env, start: str = "2026-03-16", plan: str = "2026-04-01", **kwargs) -> int:
    measure_id = started_measure(env, start, **kwargs)
    measures.transition(env.operator, measure_id, "record_action_plan", {"plan_date": plan})
    return measure_id


def measure_row(measure_id: int) -> Measure:
    db.session.expire_all()
    return db.session.get(Measure, measure_id)


def obligation_states(measure_id: int) -> dict[str, tuple[str, dt.date]]:
    db.session.expire_all()
    rows = db.session.scalars(sa.select(Obligation).where(Obligation.measure_id == measure_id))
    return {o.kind: (o.state.value, o.due_date) for o in rows}



# Input each transition accepts on a measure set up by the helpers above (start on 16/03/2026).
VALID_INPUT = {
    "assign_operator": lambda env: {"operator_id": env.operator_org_id},
    "start": lambda env: {"start_date": "2026-03-16"},
    "record_contract_sent": lambda env: {"sent_date": "2026-03-20"},
    "record_action_plan": lambda env: {"plan_date": "2026-03-20"},
    "request_prolongation": lambda env: {"request_date": "2026-03-20", "months": 3, "reason": "Motif."},
    "grant_prolongation": lambda env: {"decision_date": "2026-03-20"},
    "refuse_prolongation": lambda env: {"decision_date": "2026-03-20", "reason": "Motif."},
    "suspend": lambda env: {"from_date": "2026-03-20", "reason": "Motif."},
    "resume": lambda env: {"resume_date": "2026-03-25"},
    "transfer": lambda env: {"operator_id": env.second_operator()[0], "transfer_date": "2026-03-20",
                             "reason": "move"},
    "end": lambda env: {"end_date": "2026-03-20", "reason": "term"},
    "record_bilan": lambda env: {"bilan_date": "2026-03-20", "summary": "Bilan."},
    "close": lambda env: {"close_date": "2026-03-20"},
}


def install_workflow_plugin(app, tenant_id: int) -> WorkflowPlugin:
    """Register the fake département for ``tenant_id`` and disable the real one there."""
    plugin = WorkflowPlugin()
    app.extensions["asll_plugins"].register(plugin, WF)
    plugin_service.set_enabled(Actor.system(), tenant_id, WF, True)
    plugin_service.set_enabled(Actor.system(), tenant_id, "loire", False)
    return plugin


def remove_workflow_plugin(app) -> None:
    app.extensions["asll_plugins"].unregister(WF)
    plugin_service._forget_cache()


@pytest.fixture
def wf(app, app_ctx, world):
    """The fake département, enabled for the Loire of ``world`` for one test."""
    try:
        yield install_workflow_plugin(app, world.loire.tenant.id)
    finally:
        remove_workflow_plugin(app)


@pytest.fixture
def env(clock, world, app_ctx, wf):
    """The Loire's actors on the fake département, in its tenant context, on the fixed clock."""
    loire = world.loire
    with tenant_context(loire.tenant.id):
        yield Env(world=world, wf=wf, clock=clock, tenant_id=loire.tenant.id,
                  operator_org_id=loire.orgs[OrganisationKind.OPERATOR].id,
                  prescriber=loire.actor(Role.PRESCRIBER), secretary=loire.actor(Role.COMMISSION_SECRETARY),
                  agent=loire.actor(Role.DEPT_AGENT), operator=loire.actor(Role.OPERATOR_WORKER),
                  auditor=loire.actor(Role.AUDITOR), admin=loire.actor(Role.DEPT_ADMIN),
                  member=loire.actor(Role.COMMISSION_MEMBER))
