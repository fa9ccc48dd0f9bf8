"""The case workflow end to end through the services, with a fixed clock.

A complete life (request → session → decision → start → prolongation → suspension →
transfer → end → bilan → closure), then every refusal path: wrong role, illegal
transition, rule violation (plugin and core), cumulation, bad input. Every refusal
asserts that not a single row of the database changed.
"""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from asll.domain import machine
from asll.domain.calendar import add_months
from asll.extensions import db
from asll.models import (
    AgendaItem,
    AuditEvent,
    CommissionSession,
    Decision,
    DecisionOutcome,
    Measure,
    MeasureStatus,
    Obligation,
    ObligationState,
    Organisation,
    OrganisationKind,
    Request,
    RequestStatus,
    Role,
    SessionStatus,
)
from asll.services import decisions, measures, requests
from asll.services import plugins as plugin_service
from asll.services.errors import Conflict, NotFound, PermissionDenied, ServiceError, ValidationFailed
from asll.services.measures import RuleViolation
from asll.tenancy import tenant_context, unscoped
from asll.toolkit import ObligationDef, Violation
from tests.core.workflow_support import (  # noqa: F401  (env and wf are fixtures)
    ACCES,
    CLU,
    DIAGNOSTIC,
    REQUIRED,
    SHORT,
    Env,
    day,
    granted_measure,
    measure_row,
    new_household,
    obligation_states,
    refused,
    running_measure,
    scheduled,
    started_measure,
    submitted_request,
    VALID_INPUT,
    env,
    wf,
)


def _trail(object_type: str, object_id: int) -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.object_type == object_type, AuditEvent.object_id == object_id).order_by(AuditEvent.seq)))


def _utc(value: dt.datetime) -> dt.datetime:
    """A stored instant as naive UTC (SQLite gives naive UTC back, PostgreSQL an aware value)."""
    return value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value


def _last_audit() -> AuditEvent:
    return db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.seq.desc())).first()


# =====================================================================================
# 1. A complete life
# =====================================================================================
def test_complete_life_of_a_measure_through_the_services(env, app):
    clock, wf = env.clock, env.wf

    # -- the prescriber files the household and a draft, incomplete then complete ------
    household = requests.create_household(env.prescriber, {
        "address": "12 rue des Lilas", "postcode": "42000", "city": "Saint-Étienne", "sector": "Centre",
        "housing_status": "hosted", "members": [{"last_name": "Durand", "first_name": "Ana",
                                                 "birth_date": "1988-05-01"}]})
    assert household.reference == "M-42-2026-00001"
    assert household.reference_person.first_name == "Ana" and household.reference_person.is_reference
    assert [e.action for e in _trail("household", household.id)] == ["household.create"]

    draft = requests.save_draft(env.prescriber, {"household_id": household.id, "measure_type": ACCES,
                                                 "origin": "prescripteur",
                                                 "diagnostic": {"family_situation": DIAGNOSTIC["family_situation"]}})
    assert (draft.reference, draft.status, draft.commission_code) == ("D-42-2026-00001", RequestStatus.DRAFT, None)
    refused(ValidationFailed, requests.submit, env.prescriber, draft.id)  # incomplete: see the refusal tests

    requests.save_draft(env.prescriber, {"diagnostic": DIAGNOSTIC, "consent_given_by": "Ana Durand",
                                         "consent_date": "2026-03-01"}, request_id=draft.id)
    update = _last_audit()
    assert update.action == "request.update"
    assert update.changes["consent_date"] == [None, "2026-03-01"]
    assert update.changes["diagnostic"][0] == {"family_situation": DIAGNOSTIC["family_situation"]}
    assert update.changes["diagnostic"][1] == DIAGNOSTIC

    submitted = requests.submit(env.prescriber, draft.id)
    assert (submitted.status, submitted.commission_code) == (RequestStatus.SUBMITTED, CLU)
    assert _utc(submitted.submitted_at) == dt.datetime(2026, 3, 2, 8, 0)  # 9:00 in Paris
    assert _last_audit().changes == {"status": ["draft", "submitted"], "commission_code": [None, CLU]}

    # -- the secretariat programmes a CLU session and builds its agenda -----------------
    session = decisions.create_session(env.secretary, {"commission_code": CLU, "session_date": "2026-03-10",
                                                       "location": "Hôtel du Département"})
    assert [r.id for r in decisions.pending_requests(env.secretary, CLU)] == [draft.id]
    decisions.build_agenda(env.secretary, session.id)
    assert [(i.request_id, i.position) for i in session.items] == [(draft.id, 1)]
    assert db.session.get(Request, draft.id).status is RequestStatus.SCHEDULED
    assert decisions.pending_requests(env.secretary, CLU) == []
    assert [e.action for e in _trail("commission_session", session.id)] == ["session.create", "session.agenda"]

    # -- the commission grants 6 months to the operator ---------------------------------
    clock.to("2026-03-10", 16)
    operator_1 = env.operator_org_id
    [decision] = decisions.decide_in_session(env.secretary, session.id, {
        draft.id: {"outcome": "granted", "duration_months": 6, "operator_id": operator_1}})
    assert (decision.outcome, decision.decision_date, decision.duration_months, decision.operator_id) == (
        DecisionOutcome.GRANTED, day("2026-03-10"), 6, operator_1)
    assert db.session.get(CommissionSession, session.id).status is SessionStatus.HELD
    assert db.session.get(Request, draft.id).status is RequestStatus.DECIDED
    measure_id = decision.measure_id
    m = measure_row(measure_id)
    assert (m.reference, m.status, m.measure_type, m.kind) == ("A-42-2026-00001", MeasureStatus.OPERATOR_ASSIGNED,
                                                                ACCES, "acces")
    assert (m.decision_date, m.notified_date, m.granted_months, m.operator_id) == (
        day("2026-03-10"), day("2026-03-10"), 6, operator_1)
    assert _last_audit().action == "request.decide"
    assert _last_audit().changes == {"outcome": [None, "granted"], "decision_date": [None, "2026-03-10"],
                                     "measure_id": [None, measure_id], "reason": [None, None]}
    assert obligation_states(measure_id) == {"demarrage": ("open", day("2026-04-10"))}
    assert ("grant", "granted") in [(t, s) for t, s, _ in wf.seen]

    assert _trail("measure", measure_id) == []  # the grant is audited on the request

    def step(actor, name, data, *, status, audit_changes, obligations, when):
        clock.to(when)
        measure, warnings = measures.transition(actor, measure_id, name, data)
        assert warnings == []
        row = measure_row(measure_id)
        assert row.status is status, name
        event = _trail("measure", measure_id)[-1]
        assert (event.action, event.actor_id) == (f"measure.{name}", actor.user_id)
        assert event.changes == audit_changes, name
        assert obligation_states(measure_id) == obligations, name
        return row

    o = day  # shorthand for due dates
    # -- start: the contract's signature date is the start date --------------------------
    m = step(env.operator, "start", {"start_date": "2026-03-18"}, when="2026-03-18", status=MeasureStatus.STARTED,
             audit_changes={"planned_end_date": [None, "2026-09-18"], "start_date": [None, "2026-03-18"],
                            "status": ["operator_assigned", "started"]},
             obligations={"demarrage": ("done", o("2026-04-10")), "contrat": ("open", o("2026-04-18")),
                          "plan": ("open", o("2026-05-18"))})
    assert m.planned_end_date == add_months(day("2026-03-18"), 6) == day("2026-09-18")

    step(env.operator, "record_contract_sent", {"sent_date": "2026-03-25"}, when="2026-03-25",
         status=MeasureStatus.STARTED, audit_changes={"contract_sent_date": [None, "2026-03-25"]},
         obligations={"demarrage": ("done", o("2026-04-10")), "contrat": ("done", o("2026-04-18")),
                      "plan": ("open", o("2026-05-18"))})

    step(env.operator, "record_action_plan", {"plan_date": "2026-04-10", "objectives": "Trouver un T3."},
         when="2026-04-10", status=MeasureStatus.RUNNING,
         audit_changes={"action_plan_date": [None, "2026-04-10"], "status": ["started", "running"]},
         obligations={"demarrage": ("done", o("2026-04-10")), "contrat": ("done", o("2026-04-18")),
                      "plan": ("done", o("2026-05-18"))})
    all_done = {"demarrage": ("done", o("2026-04-10")), "contrat": ("done", o("2026-04-18")),
                "plan": ("done", o("2026-05-18"))}

    # -- prolongation requested by the operator, granted by the département ---------------
    pending = {"months": 6, "request_date": "2026-08-20", "reason": "Relogement en cours."}
    step(env.operator, "request_prolongation", {"request_date": "2026-08-20", "months": 6,
                                                "reason": "Relogement en cours."},
         when="2026-08-20", status=MeasureStatus.PROLONGATION_REQUESTED,
         audit_changes={"extra": [{}, {"status_before_prolongation": "running", "pending_prolongation": pending}],
                        "status": ["running", "prolongation_requested"]}, obligations=all_done)
    m = step(env.agent, "grant_prolongation", {"decision_date": "2026-09-01", "opinion": "Avis favorable."},
             when="2026-09-01", status=MeasureStatus.RUNNING,
             audit_changes={"extra": [{"status_before_prolongation": "running", "pending_prolongation": pending},
                                      {}],
                            "planned_end_date": ["2026-09-18", "2027-03-18"], "prolongation_count": [0, 1],
                            "prolonged_months": [0, 6], "status": ["prolongation_requested", "running"]},
             obligations=all_done)
    assert (m.prolongation_count, m.prolonged_months) == (1, 6)
    assert m.planned_end_date == add_months(day("2026-03-18"), 6 + 6)

    # -- suspension (département) and resumption (operator): the end moves by 20 days -----
    step(env.agent, "suspend", {"from_date": "2026-10-01", "reason": "Hospitalisation de Mme Durand."},
         when="2026-10-01", status=MeasureStatus.SUSPENDED,
         audit_changes={"extra": [{}, {"status_before_suspension": "running"}],
                        "status": ["running", "suspended"], "suspended_from": [None, "2026-10-01"]},
         obligations={**all_done, "reprise": ("open", o("2026-11-01"))})
    m = step(env.operator, "resume", {"resume_date": "2026-10-21"}, when="2026-10-21", status=MeasureStatus.RUNNING,
             audit_changes={"extra": [{"status_before_suspension": "running"}, {"suspended_days": 20}],
                            "planned_end_date": ["2027-03-18", "2027-04-07"], "status": ["suspended", "running"],
                            "suspended_from": ["2026-10-01", None]},
             obligations={**all_done, "reprise": ("waived", o("2026-11-01"))})
    assert m.planned_end_date == add_months(day("2026-03-18"), 12) + dt.timedelta(days=20)

    # -- transfer to a second operator: the first one loses sight of the measure ---------
    operator_2, worker_2 = env.second_operator()
    step(env.agent, "transfer", {"operator_id": operator_2, "transfer_date": "2026-11-02", "reason": "move",
                                 "opinion": "Déménagement à Firminy."},
         when="2026-11-02", status=MeasureStatus.RUNNING, audit_changes={"operator_id": [operator_1, operator_2]},
         obligations={**all_done, "reprise": ("waived", o("2026-11-01"))})
    with pytest.raises(NotFound):
        measures.visible_measure(env.operator, measure_id)
    assert measures.visible_measure(worker_2, measure_id).operator_id == operator_2

    # -- end at term by the new operator, bilan, closure by the département --------------
    after_end = {**all_done, "reprise": ("waived", o("2026-11-01")), "bilan": ("open", o("2027-05-07"))}
    m = step(worker_2, "end", {"end_date": "2027-04-07", "reason": "term", "hand_over_to": "CCAS de Firminy"},
             when="2027-04-07", status=MeasureStatus.ENDED,
             audit_changes={"end_date": [None, "2027-04-07"], "end_reason": ["", "term"],
                            "hand_over_to": ["", "CCAS de Firminy"], "status": ["running", "ended"]},
             obligations=after_end)
    assert m.end_date == m.planned_end_date
    step(worker_2, "record_bilan", {"bilan_date": "2027-04-28", "summary": "Relogée en T3, loyer payé.",
                                    "signed_by_household": True},
         when="2027-04-30", status=MeasureStatus.BILAN_RECEIVED,
         audit_changes={"bilan_date": [None, "2027-04-28"], "status": ["ended", "bilan_received"]},
         obligations={**after_end, "bilan": ("done", o("2027-05-07"))})
    step(env.agent, "close", {"close_date": "2027-05-03"}, when="2027-05-03", status=MeasureStatus.CLOSED,
         audit_changes={"status": ["bilan_received", "closed"]},
         obligations={**after_end, "bilan": ("done", o("2027-05-07"))})
    assert machine.available(MeasureStatus.CLOSED) == []

    # -- the timeline tells the whole story ----------------------------------------------
    timeline = [(e.transition, e.from_status, e.to_status, e.effective_date and e.effective_date.isoformat(),
                 e.actor_id) for e in measures.timeline(env.auditor, measure_id)]
    secretary, agent, op1, op2 = (env.secretary.user_id, env.agent.user_id, env.operator.user_id,
                                  worker_2.user_id)
    assert timeline == [
        ("grant", "", "granted", "2026-03-10", secretary),
        ("assign_operator", "granted", "operator_assigned", "2026-03-10", secretary),
        ("start", "operator_assigned", "started", "2026-03-18", op1),
        ("record_contract_sent", "started", "started", "2026-03-25", op1),
        ("record_action_plan", "started", "running", "2026-04-10", op1),
        ("request_prolongation", "running", "prolongation_requested", "2026-08-20", op1),
        ("grant_prolongation", "prolongation_requested", "running", "2026-09-01", agent),
        ("suspend", "running", "suspended", "2026-10-01", agent),
        ("resume", "suspended", "running", "2026-10-21", op1),
        ("transfer", "running", "running", "2026-11-02", agent),
        ("end", "running", "ended", "2027-04-07", op2),
        ("record_bilan", "ended", "bilan_received", "2027-04-28", op2),
        ("close", "bilan_received", "closed", "2027-05-03", agent),
    ]
    events = measures.timeline(env.auditor, measure_id)
    assert events[9].data["reason"] == "move" and events[4].data["objectives"] == "Trouver un T3."

    # -- the audit trail: every write, in order, and the chain verifies ------------------
    assert [e.action for e in _trail("request", draft.id)] == [
        "request.create", "request.update", "request.submit", "request.decide"]
    assert [e.action for e in _trail("measure", measure_id)] == [f"measure.{t[0]}" for t in timeline[2:]]
    closing = db.session.get(Obligation, db.session.scalar(
        sa.select(Obligation.id).where(Obligation.measure_id == measure_id, Obligation.kind == "reprise")))
    assert _utc(closing.closed_at) == dt.datetime(2026, 10, 21, 8, 0)  # 10:00 in Paris (CEST)
    result = app.test_cli_runner().invoke(args=["asll", "audit-verify"])
    assert result.exit_code == 0, result.output
    assert "Journal d'audit intègre" in result.output


# =====================================================================================
# 2. Refusal paths: each one changes nothing
# =====================================================================================


def test_wrong_roles_are_refused_and_change_nothing(env):
    measure_id = granted_measure(env)

    exc = refused(PermissionDenied, measures.transition, env.prescriber, measure_id, "start",
                  {"start_date": "2026-03-16"})
    assert exc.message == "Votre rôle ne permet pas l'action « Démarrer la mesure (contrat signé) »."
    assert exc.code == "interdit" and exc.status == 403
    refused(PermissionDenied, measures.transition, env.secretary, measure_id, "start", {"start_date": "2026-03-16"})

    # the auditor reads everything and may do nothing, whatever the state
    for name in [t.name for t in machine.available(MeasureStatus.OPERATOR_ASSIGNED)]:
        refused(PermissionDenied, measures.transition, env.auditor, measure_id, name, VALID_INPUT[name](env))
    assert measures.allowed_transitions(env.auditor, measure_row(measure_id)) == []
    measures.transition(env.operator, measure_id, "start", {"start_date": "2026-03-16"})
    for name in [t.name for t in machine.available(MeasureStatus.STARTED)]:
        refused(PermissionDenied, measures.transition, env.auditor, measure_id, name, VALID_INPUT[name](env))

    # the operator suspends nothing (the département does), the secretary ends nothing
    exc = refused(PermissionDenied, measures.transition, env.operator, measure_id, "suspend",
                  VALID_INPUT["suspend"](env))
    assert exc.message == "Votre rôle ne permet pas l'action « Suspendre la mesure »."
    refused(PermissionDenied, measures.transition, env.secretary, measure_id, "end", VALID_INPUT["end"](env))

    # a worker of another operator does not even see the measure
    _other_org, other_worker = env.second_operator()
    exc = refused(NotFound, measures.transition, other_worker, measure_id, "end", VALID_INPUT["end"](env))
    assert exc.message == "Mesure introuvable." and exc.status == 404
    # a commission member sees no measure either
    refused(NotFound, measures.transition, env.member, measure_id, "end", VALID_INPUT["end"](env))

    # the request side: the auditor files, schedules and decides nothing
    household_id = new_household(env)
    request_id = submitted_request(env, household_id)
    session = decisions.create_session(env.secretary, {"commission_code": CLU, "session_date": "2026-03-24"})
    for call, args in [
        (requests.create_household, ({"members": [{"last_name": "X", "first_name": "Y"}]},)),
        (requests.save_draft, ({"household_id": household_id, "measure_type": ACCES},)),
        (requests.submit, (request_id,)),
        (requests.add_support_measure, (household_id, {"code": "TPF", "start_date": "2026-01-01"})),
        (decisions.create_session, ({"commission_code": CLU, "session_date": "2026-04-01"},)),
        (decisions.build_agenda, (session.id,)),
        (decisions.decide_in_session, (session.id, {request_id: {"outcome": "refused", "reason": "Non."}})),
        (decisions.decide_alone, (request_id, {"outcome": "refused", "reason": "Non."})),
    ]:
        refused(PermissionDenied, call, env.auditor, *args)
    # the prescriber neither schedules nor decides; the secretary does not decide alone
    refused(PermissionDenied, decisions.build_agenda, env.prescriber, session.id)
    refused(PermissionDenied, decisions.decide_in_session, env.prescriber, session.id,
            {request_id: {"outcome": "refused", "reason": "Non."}})
    refused(PermissionDenied, decisions.decide_alone, env.secretary, request_id,
            {"outcome": "refused", "reason": "Non."})


def test_illegal_transitions_are_refused_and_change_nothing(env):
    measure_id = granted_measure(env, operator=False)
    assert measure_row(measure_id).status is MeasureStatus.GRANTED

    exc = refused(Conflict, measures.transition, env.agent, measure_id, "end",
                  {"end_date": "2026-03-20", "reason": "term"})
    assert exc.code == "transition_interdite"
    assert exc.message == "« Mettre fin à la mesure » est impossible pour une mesure à l'état « Accordée »."
    exc = refused(Conflict, measures.transition, env.agent, measure_id, "start", {"start_date": "2026-03-16"})
    assert exc.code == "transition_interdite"
    exc = refused(ServiceError, measures.transition, env.agent, measure_id, "fly_away", {})
    assert (exc.code, exc.message) == ("transition_inconnue", "Action « fly_away » inconnue.")

    measures.transition(env.secretary, measure_id, "assign_operator",
                        {"operator_id": env.operator_org_id, "notified_date": "2026-03-12"})
    measures.transition(env.operator, measure_id, "start", {"start_date": "2026-03-16"})
    measures.transition(env.operator, measure_id, "record_action_plan", {"plan_date": "2026-04-01"})
    exc = refused(Conflict, measures.transition, env.agent, measure_id, "grant_prolongation",
                  {"decision_date": "2026-04-02"})
    assert exc.code == "transition_interdite"
    assert exc.message == "« Accorder la prolongation » est impossible pour une mesure à l'état « En cours »."
    for name in ("record_bilan", "close", "resume", "start"):
        assert refused(Conflict, measures.transition, env.agent, measure_id, name,
                       VALID_INPUT[name](env)).code == "transition_interdite"


def test_a_blocking_plugin_rule_refuses_and_a_warning_lets_the_transition_happen(env):
    measure_id = granted_measure(env)
    blocking = Violation("contrat_non_signe", "Le contrat n'a pas été signé par le ménage.", "start_date")
    env.wf.violations["start"] = [blocking, Violation("rdv_tardif", "Premier rendez-vous tardif.", blocking=False)]
    exc = refused(RuleViolation, measures.transition, env.operator, measure_id, "start", {"start_date": "2026-03-16"})
    assert (exc.code, exc.message, exc.status) == ("contrat_non_signe", "Le contrat n'a pas été signé par le ménage.",
                                                   409)
    assert exc.violations == [blocking]
    # the hook saw the measure as it was, and the validated input
    assert env.wf.seen[-1] == ("start", "operator_assigned", {"start_date": day("2026-03-16"), "extra": {}})

    warning = Violation("rdv_tardif", "Premier rendez-vous plus de 15 jours après la notification.", blocking=False)
    env.wf.violations["start"] = [warning]
    measure, warnings = measures.transition(env.operator, measure_id, "start", {"start_date": "2026-03-16"})
    assert warnings == [warning]
    assert measure_row(measure_id).status is MeasureStatus.STARTED

    # a plugin rule on the grant refuses the decision too
    env.wf.violations["grant"] = [Violation("hors_secteur", "Le ménage réside hors du secteur de l'opérateur.")]
    request_id = submitted_request(env)
    session_id = scheduled(env, [request_id], "2026-03-24")
    exc = refused(ValidationFailed, decisions.decide_in_session, env.secretary, session_id,
                  {request_id: {"outcome": "granted", "operator_id": env.operator_org_id}})
    reference = db.session.get(Request, request_id).reference
    assert exc.fields == {reference: ["Le ménage réside hors du secteur de l'opérateur."]}
    assert [v.code for v in exc.violations] == ["hors_secteur"]


def test_core_rules_refuse_incoherent_dates_and_durations(env):
    clock = env.clock
    measure_id = granted_measure(env)  # decided on 2026-03-10
    exc = refused(RuleViolation, measures.transition, env.operator, measure_id, "start", {"start_date": "2026-03-09"})
    assert (exc.code, exc.message) == ("date_incoherente", "La mesure ne peut démarrer avant la décision.")
    assert exc.violations[0].field == "start_date"

    measures.transition(env.operator, measure_id, "start", {"start_date": "2026-03-16"})
    for name, data in [("end", {"end_date": "2026-03-15", "reason": "term"}),
                       ("record_action_plan", {"plan_date": "2026-03-01"}),
                       ("suspend", {"from_date": "2026-03-15", "reason": "Motif."})]:
        exc = refused(RuleViolation, measures.transition, env.agent, measure_id, name, data)
        assert (exc.code, exc.message) == ("date_incoherente", "Cette date précède le début de la mesure."), name
    measures.transition(env.agent, measure_id, "suspend", {"from_date": "2026-04-01", "reason": "Motif."})
    exc = refused(RuleViolation, measures.transition, env.agent, measure_id, "resume", {"resume_date": "2026-03-31"})
    assert (exc.code, exc.message) == ("date_incoherente", "La reprise ne peut précéder la suspension.")
    measures.transition(env.agent, measure_id, "resume", {"resume_date": "2026-04-01"})
    assert measure_row(measure_id).status is MeasureStatus.STARTED  # back to where it was suspended

    # Loire: 6 months, one prolongation of 6 months at most, 12 months in all
    exc = refused(RuleViolation, measures.transition, env.operator, measure_id, "request_prolongation",
                  {"request_date": "2026-08-01", "months": 7, "reason": "Motif."})
    assert [v.code for v in exc.violations] == ["prolongation_trop_longue", "duree_totale_depassee"]
    assert exc.code == "prolongation_trop_longue"
    assert exc.message == ("Une prolongation dure au plus 6 mois. La durée totale ne peut dépasser 12 mois "
                           "(elle serait de 13 mois).")
    measures.transition(env.operator, measure_id, "request_prolongation",
                        {"request_date": "2026-08-01", "months": 6, "reason": "Motif."})
    measures.transition(env.agent, measure_id, "grant_prolongation", {"decision_date": "2026-08-10"})
    exc = refused(RuleViolation, measures.transition, env.operator, measure_id, "request_prolongation",
                  {"request_date": "2027-01-01", "months": 1, "reason": "Motif."})
    assert [v.code for v in exc.violations] == ["prolongations_epuisees", "duree_totale_depassee"]
    assert exc.message == ("Ce type de mesure ne peut être prolongé que 1 fois. La durée totale ne peut dépasser "
                           "12 mois (elle serait de 13 mois).")

    # a type allowing two prolongations of 3 months but 8 months in all (4 granted)
    clock.to("2026-03-12")
    household_id = new_household(env, "Petit")
    request_id = submitted_request(env, household_id, SHORT, extra={"numero_allocataire": "4200123"})
    decision = decisions.decide_alone(env.agent, request_id, {"outcome": "granted", "decision_date": "2026-03-12",
                                                              "operator_id": env.operator_org_id})
    short = decision.measure_id
    assert (measure_row(short).granted_months, measure_row(short).status) == (4, MeasureStatus.OPERATOR_ASSIGNED)
    measures.transition(env.operator, short, "start", {"start_date": "2026-03-12"})
    measures.transition(env.operator, short, "request_prolongation",
                        {"request_date": "2026-06-01", "months": 3, "reason": "Motif."})
    measures.transition(env.agent, short, "grant_prolongation", {"decision_date": "2026-06-05"})
    exc = refused(RuleViolation, measures.transition, env.operator, short, "request_prolongation",
                  {"request_date": "2026-09-01", "months": 3, "reason": "Motif."})
    assert [v.code for v in exc.violations] == ["duree_totale_depassee"]
    assert exc.message == "La durée totale ne peut dépasser 8 mois (elle serait de 10 mois)."
    measures.transition(env.operator, short, "request_prolongation",
                        {"request_date": "2026-09-01", "months": 1, "reason": "Motif."})
    measures.transition(env.agent, short, "refuse_prolongation", {"decision_date": "2026-09-05", "reason": "Non."})
    row = measure_row(short)
    # no action plan was recorded: the measure goes back to "started", not "running"
    assert (row.status, row.prolongation_count, row.prolonged_months, row.extra) == (MeasureStatus.STARTED, 1, 3, {})

    # a grant longer than the type allows
    request_id = submitted_request(env)
    session_id = scheduled(env, [request_id], "2026-03-24")
    exc = refused(ValidationFailed, decisions.decide_in_session, env.secretary, session_id,
                  {request_id: {"outcome": "granted", "duration_months": 7}})
    reference = db.session.get(Request, request_id).reference
    assert exc.fields == {reference: {"duration_months": [
        "« ASLL accès (recherche, installation dans le logement) » dure au plus 6 mois."]}}

    # closing needs the bilan, unless the household broke off
    measures.transition(env.operator, measure_id, "end", {"end_date": "2027-03-16", "reason": "term"})
    exc = refused(RuleViolation, measures.transition, env.agent, measure_id, "close", {"close_date": "2027-03-20"})
    assert (exc.code, exc.message) == ("bilan_manquant", "Le bilan doit être reçu avant de clôturer la mesure.")
    measures.transition(env.operator, short, "end", {"end_date": "2026-09-10", "reason": "broke_off"})
    measures.transition(env.agent, short, "close", {"close_date": "2026-09-11"})
    assert measure_row(short).status is MeasureStatus.CLOSED


def test_a_planned_end_counts_calendar_months_from_the_start_across_a_prolongation(env):
    # 31 March + 6 months is 30 September; + 6 more months is 31 March, not 30 March
    measure_id = running_measure(env, start="2026-03-31", plan="2026-04-15")
    assert measure_row(measure_id).planned_end_date == day("2026-09-30")
    measures.transition(env.operator, measure_id, "request_prolongation",
                        {"request_date": "2026-09-01", "months": 6, "reason": "Motif."})
    measures.transition(env.agent, measure_id, "grant_prolongation", {"decision_date": "2026-09-10"})
    assert measure_row(measure_id).planned_end_date == day("2027-03-31") == add_months(day("2026-03-31"), 12)


def test_cumulation_with_another_support_measure_refuses_the_grant(env):
    blocked = new_household(env, "Bloqué")
    requests.add_support_measure(env.prescriber, blocked, {"code": "TPF", "start_date": "2025-06-01"})
    assert _last_audit().changes == {"support_measure": [None, "TPF depuis 2025-06-01"]}
    ended = new_household(env, "Libre")
    requests.add_support_measure(env.prescriber, ended, {"code": "TPF", "start_date": "2024-01-01",
                                                         "end_date": "2026-03-09"})
    # a MASP does not block a Loire measure (not in the charter's list)
    requests.add_support_measure(env.prescriber, ended, {"code": "MASP", "start_date": "2025-01-01"})
    later = new_household(env, "Futur")
    requests.add_support_measure(env.prescriber, later,
                                 {"code": "AEMO", "start_date": "2026-06-01"})  # starts within the 6 months

    r_blocked, r_ended, r_later = (submitted_request(env, h) for h in (blocked, ended, later))
    session_id = scheduled(env, [r_blocked, r_ended, r_later], "2026-03-10")
    grant = {"outcome": "granted", "duration_months": 6, "operator_id": env.operator_org_id}
    exc = refused(ValidationFailed, decisions.decide_in_session, env.secretary, session_id,
                  {r_blocked: grant, r_ended: grant, r_later: grant})
    ref = {r: db.session.get(Request, r).reference for r in (r_blocked, r_ended, r_later)}
    label = "ASLL accès (recherche, installation dans le logement)"
    assert exc.fields == {
        ref[r_blocked]: [f"Cumul interdit : le ménage bénéficie de « Tutelle aux prestations familiales » "
                         f"(depuis le 01/06/2025), incompatible avec « {label} »."],
        ref[r_later]: [f"Cumul interdit : le ménage bénéficie de « Action éducative en milieu ouvert "
                       f"administrative (AEMO) » (depuis le 01/06/2026), incompatible avec « {label} »."],
    }
    assert [v.code for v in exc.violations] == ["cumul_interdit", "cumul_interdit"]
    assert {db.session.get(Request, r).status for r in ref} == {RequestStatus.SCHEDULED}

    # the household whose TPF ended before the decision gets its measure
    [decision] = decisions.decide_in_session(env.secretary, session_id, {r_ended: grant})
    assert decision.outcome is DecisionOutcome.GRANTED and decision.measure_id
    # refusing the blocked one is of course possible
    decisions.decide_in_session(env.secretary, session_id, {r_blocked: {"outcome": "refused",
                                                                        "reason": "Cumul avec une TPF."}})

    # a single decider gets the rule violation itself, with its code
    masp = new_household(env, "Masp")
    requests.add_support_measure(env.prescriber, masp, {"code": "MASP", "start_date": "2026-01-01"})
    request_id = submitted_request(env, masp, SHORT, extra={"numero_allocataire": "4200999"})
    exc = refused(RuleViolation, decisions.decide_alone, env.agent, request_id,
                  {"outcome": "granted", "decision_date": "2026-03-12"})
    assert exc.code == "cumul_interdit"
    assert exc.message == ("Cumul interdit : le ménage bénéficie de « Mesure d'accompagnement social personnalisé "
                           "(MASP) » (depuis le 01/01/2026), incompatible avec « Mesure courte de test ».")


def test_bad_input_is_refused_with_french_field_messages(env):
    measure_id = granted_measure(env)
    t = measures.transition
    assert refused(ValidationFailed, t, env.operator, measure_id, "start", {}).fields == {"start_date": REQUIRED}
    assert refused(ValidationFailed, t, env.operator, measure_id, "start", {"start_date": "16/03/2026"}).fields == {
        "start_date": ["Date invalide (format attendu : AAAA-MM-JJ)."]}
    assert refused(ValidationFailed, t, env.operator, measure_id, "start",
                   {"start_date": "2026-03-16", "signature": "oui"}).fields == {"signature": ["Champ inconnu."]}
    exc = refused(ValidationFailed, t, env.operator, measure_id, "start", {"start_date": None})
    assert (exc.fields, exc.code, exc.status, exc.message) == (
        {"start_date": REQUIRED}, "validation", 422, "Le formulaire contient des erreurs.")

    measures.transition(env.operator, measure_id, "start", {"start_date": "2026-03-16"})
    assert refused(ValidationFailed, t, env.operator, measure_id, "end",
                   {"end_date": "2026-05-01", "reason": "lassitude"}).fields == {"reason": ["Motif de fin inconnu."]}
    assert refused(ValidationFailed, t, env.operator, measure_id, "request_prolongation",
                   {"request_date": "2026-08-01", "months": "six", "reason": ""}).fields == {
        "months": ["Nombre entier attendu."], "reason": ["Ce champ est obligatoire."]}
    assert refused(ValidationFailed, t, env.operator, measure_id, "request_prolongation",
                   {"request_date": "2026-08-01", "months": 13, "reason": "x"}).fields == {
        "months": ["Durée entre 1 et 12 mois."]}
    transfer = {"transfer_date": "2026-04-01", "reason": "move"}
    assert refused(ValidationFailed, t, env.agent, measure_id, "transfer",
                   {**transfer, "operator_id": env.operator_org_id}).fields == {
        "operator_id": ["Choisissez un autre opérateur que l'actuel."]}
    prescriber_org = env.world.loire.orgs[OrganisationKind.PRESCRIBER].id
    assert refused(ValidationFailed, t, env.agent, measure_id, "transfer",
                   {**transfer, "operator_id": prescriber_org}).fields == {
        "operator_id": ["Opérateur introuvable dans ce département."]}
    assert refused(ValidationFailed, t, env.agent, measure_id, "transfer",
                   {**transfer, "operator_id": env.second_operator()[0], "reason": "caprice"}).fields == {
        "reason": ["Motif de transfert inconnu."]}

    # households, requests, support measures, sessions and decisions
    assert refused(ValidationFailed, requests.create_household, env.prescriber,
                   {"postcode": "4200", "members": []}).fields == {
        "postcode": ["Code postal invalide."], "members": ["Au moins un membre du ménage est nécessaire."]}
    household_id = new_household(env)
    assert refused(ValidationFailed, requests.save_draft, env.prescriber,
                   {"household_id": household_id, "measure_type": ACCES, "consent_date": "demain",
                    "priorite": "haute"}).fields == {
        "consent_date": ["Date invalide (format attendu : AAAA-MM-JJ)."], "priorite": ["Champ inconnu."]}
    assert refused(ValidationFailed, requests.save_draft, env.prescriber,
                   {"household_id": household_id, "measure_type": "loire.inconnu"}).fields == {
        "measure_type": ["Type de mesure inconnu dans ce département."]}
    assert refused(ValidationFailed, requests.save_draft, env.prescriber,
                   {"household_id": env.world.orne.household.id, "measure_type": ACCES}).fields == {
        "household_id": ["Ménage introuvable."]}
    assert refused(ValidationFailed, requests.save_draft, env.prescriber,
                   {"household_id": household_id, "measure_type": SHORT,
                    "extra": {"date_impaye": "hier", "inconnu": 1}}).fields == {
        "extra": {"date_impaye": ["Date d'impayé invalide."], "inconnu": ["Champ inconnu."]}}
    # Where no plugin declares a field, "extra" holds nothing: it is not a free store for personal data.
    assert refused(ValidationFailed, requests.save_draft, env.prescriber,
                   {"household_id": household_id, "measure_type": ACCES, "extra": {"inconnu": 1}}).fields == {
        "extra": {"inconnu": ["Champ inconnu."]}}
    assert refused(ValidationFailed, requests.create_household, env.prescriber,
                   {"members": [{"last_name": "X", "first_name": "Y"}], "extra": {"inconnu": 1}}).fields == {
        "extra": {"inconnu": ["Champ inconnu."]}}
    assert refused(ValidationFailed, requests.add_support_measure, env.prescriber, household_id,
                   {"code": "XYZ", "start_date": "2026-01-01"}).fields == {
        "code": ["Mesure d'accompagnement inconnue."]}
    assert refused(ValidationFailed, requests.add_support_measure, env.prescriber, household_id,
                   {"code": "TPF", "start_date": "2026-01-01", "end_date": "2025-01-01"}).fields == {
        "end_date": ["La fin ne peut précéder le début."]}
    assert refused(ValidationFailed, decisions.create_session, env.secretary,
                   {"commission_code": "loire.xyz", "session_date": "2026-04-01"}).fields == {
        "commission_code": ["Commission inconnue dans ce département."]}
    request_id = submitted_request(env, household_id)
    session_id = scheduled(env, [request_id], "2026-03-24")
    reference = db.session.get(Request, request_id).reference
    for decision, error in [
        ({"outcome": "peut-être"}, {"outcome": ["Décision inconnue."]}),
        ({"outcome": "granted", "duration_months": 0}, {"duration_months": ["Durée entre 1 et 24 mois."]}),
        ({"outcome": "granted", "operator_id": prescriber_org},
         {"operator_id": ["Opérateur introuvable dans ce département."]}),
        ({"outcome": "granted", "measure_type": "loire.inconnu"},
         ["Le type de cette mesure n'est plus proposé dans ce département (plugin désactivé ?)."]),
        ({"outcome": "redirected"},
         {"redirected_to": ["Indiquez vers quelle mesure ou quel dispositif le ménage est réorienté."]}),
    ]:
        exc = refused(ValidationFailed, decisions.decide_in_session, env.secretary, session_id, {request_id: decision})
        assert exc.fields == {reference: error}, decision
    exc = refused(ValidationFailed, decisions.decide_in_session, env.secretary, session_id,
                  {request_id + 1000: {"outcome": "refused", "reason": "x"}})
    assert exc.fields == {"decisions": [f"Demande(s) n° {request_id + 1000} absente(s) de l'ordre du jour."]}
    # Already on this agenda: it cannot be put on it again.
    exc = refused(ValidationFailed, decisions.build_agenda, env.secretary, session_id, [request_id])
    assert exc.fields == {"request_ids": [f"Demande(s) n° {request_id} non éligible(s) : déjà inscrite(s) ou "
                                          "décidée(s), ou relevant d'une autre commission."]}


def test_plugin_request_fields_are_stored_and_checked_on_submission(env):
    household_id = new_household(env)
    draft = requests.save_draft(env.prescriber, {"household_id": household_id, "measure_type": SHORT,
                                                 "diagnostic": DIAGNOSTIC, "consent_given_by": "Ana Durand",
                                                 "consent_date": "2026-03-01",
                                                 "extra": {"date_impaye": "2026-01-15"}})
    assert stored_request_extra(draft.id) == {"date_impaye": "2026-01-15"}
    exc = refused(ValidationFailed, requests.submit, env.prescriber, draft.id)
    assert exc.fields == {"extra": {"numero_allocataire": ["Le numéro d'allocataire est obligatoire."]}}
    requests.save_draft(env.prescriber, {"extra": {"date_impaye": "2026-01-15", "numero_allocataire": "4200123"}},
                        request_id=draft.id)
    submitted = requests.submit(env.prescriber, draft.id)
    assert (submitted.status, submitted.commission_code) == (RequestStatus.SUBMITTED, None)
    assert stored_request_extra(draft.id) == {"date_impaye": "2026-01-15", "numero_allocataire": "4200123"}


def stored_request_extra(request_id: int) -> dict:
    db.session.expire_all()
    with unscoped():
        return db.session.execute(sa.select(Request.__table__.c.extra)
                                  .where(Request.__table__.c.id == request_id)).scalar_one()


def test_submitting_an_incomplete_request_lists_the_missing_fields(env):
    household_id = new_household(env)
    draft = requests.save_draft(env.prescriber, {"household_id": household_id, "measure_type": ACCES,
                                                 "diagnostic": {"family_situation": "Couple, deux enfants.",
                                                                "objectives": ""}})
    exc = refused(ValidationFailed, requests.submit, env.prescriber, draft.id)
    assert exc.fields == {"consent_given_by": REQUIRED, "consent_date": REQUIRED,
                          "diagnostic": {k: REQUIRED for k in DIAGNOSTIC if k != "family_situation"}}
    assert db.session.get(Request, draft.id).status is RequestStatus.DRAFT

    bare = requests.save_draft(env.prescriber, {"household_id": household_id})
    exc = refused(ValidationFailed, requests.submit, env.prescriber, bare.id)
    assert exc.fields == {"measure_type": REQUIRED, "diagnostic": REQUIRED, "consent_given_by": REQUIRED,
                          "consent_date": REQUIRED}
    assert decisions.pending_requests(env.secretary, CLU) == []

    # once submitted, it is no longer a draft
    request_id = submitted_request(env, household_id)
    assert refused(Conflict, requests.submit, env.prescriber, request_id).code == "deja_deposee"
    assert refused(ServiceError, requests.save_draft, env.prescriber, {"origin": "x"},
                   request_id=request_id).code == "demande_non_modifiable"


def test_a_batch_of_decisions_is_all_or_nothing(env):
    r1, r2, r3 = (submitted_request(env, new_household(env, n)) for n in ("Un", "Deux", "Trois"))
    session_id = scheduled(env, [r1, r2, r3])
    ref = {r: db.session.get(Request, r).reference for r in (r1, r2, r3)}
    grant = {"outcome": "granted", "operator_id": env.operator_org_id}

    # the bad decision last: the good ones, already flushed, are rolled back
    exc = refused(ValidationFailed, decisions.decide_in_session, env.secretary, session_id,
                  {r1: grant, r2: {"outcome": "adjourned"}, r3: {"outcome": "refused"}})
    assert exc.message == "Aucune décision n'a été enregistrée : corrigez les demandes signalées."
    assert exc.fields == {ref[r3]: {"reason": ["Le motif du refus est obligatoire."]}}
    # the bad decision first
    refused(ValidationFailed, decisions.decide_in_session, env.secretary, session_id,
            {r3: {"outcome": "refused"}, r1: grant})
    db.session.expire_all()
    assert {db.session.get(Request, r).status for r in (r1, r2, r3)} == {RequestStatus.SCHEDULED}
    assert db.session.get(CommissionSession, session_id).status is SessionStatus.PLANNED
    assert db.session.scalar(sa.select(sa.func.count(Decision.id))) == 0

    recorded = decisions.decide_in_session(env.secretary, session_id, {
        r1: grant, r2: {"outcome": "redirected", "redirected_to": "MASP"},
        r3: {"outcome": "refused", "reason": "Le ménage ne souhaite pas d'accompagnement."}})
    assert [(d.outcome, d.reason, d.redirected_to, bool(d.measure_id)) for d in recorded] == [
        (DecisionOutcome.GRANTED, "", "", True), (DecisionOutcome.REDIRECTED, "", "MASP", False),
        (DecisionOutcome.REFUSED, "Le ménage ne souhaite pas d'accompagnement.", "", False)]
    assert {db.session.get(Request, r).status for r in (r1, r2, r3)} == {RequestStatus.DECIDED}
    assert db.session.scalar(sa.select(sa.func.count(Measure.id)).where(Measure.request_id.in_([r2, r3]))) == 0
    # a decided request cannot be decided again, and a held session's agenda is frozen
    exc = refused(Conflict, decisions.decide_in_session, env.secretary, session_id,
                  {r3: {"outcome": "refused", "reason": "Encore."}})
    assert (exc.code, exc.status) == ("deja_decidee", 409)
    assert exc.message.startswith(f"La demande {ref[r3]} n'est plus en attente de décision")
    assert refused(Conflict, decisions.build_agenda, env.secretary, session_id).code == "seance_tenue"


def test_an_adjourned_request_returns_to_the_queue(env):
    request_id = submitted_request(env)
    first = scheduled(env, [request_id], "2026-03-10")
    [adjourned] = decisions.decide_in_session(env.secretary, first, {request_id: {"outcome": "adjourned",
                                                                                  "reason": "Pièces manquantes."}})
    assert (adjourned.outcome, adjourned.measure_id) == (DecisionOutcome.ADJOURNED, None)
    assert db.session.get(Request, request_id).status is RequestStatus.SUBMITTED
    assert [i.request_id for i in db.session.get(CommissionSession, first).items] == []
    assert [r.id for r in decisions.pending_requests(env.secretary, CLU)] == [request_id]

    env.clock.to("2026-04-07")
    second = scheduled(env, [request_id], "2026-04-14")
    [granted] = decisions.decide_in_session(env.secretary, second, {request_id: {
        "outcome": "granted", "duration_months": 3, "operator_id": env.operator_org_id}})
    measure = measure_row(granted.measure_id)
    assert (measure.decision_date, measure.granted_months) == (day("2026-04-14"), 3)
    assert [d.outcome for d in db.session.scalars(sa.select(Decision).where(Decision.request_id == request_id)
                                                  .order_by(Decision.id))] == [
        DecisionOutcome.ADJOURNED, DecisionOutcome.GRANTED]
    assert db.session.scalar(sa.select(sa.func.count(AgendaItem.id))) == 1


def test_refusal_requires_a_reason(env):
    request_id = submitted_request(env)
    session_id = scheduled(env, [request_id])
    reference = db.session.get(Request, request_id).reference
    for decision in ({"outcome": "refused"}, {"outcome": "refused", "reason": ""}):
        exc = refused(ValidationFailed, decisions.decide_in_session, env.secretary, session_id, {request_id: decision})
        assert exc.fields == {reference: {"reason": ["Le motif du refus est obligatoire."]}}
    [decision] = decisions.decide_in_session(env.secretary, session_id, {request_id: {
        "outcome": "refused", "reason": "Ressources suffisantes."}})
    assert (decision.outcome, decision.reason, decision.decision_date) == (
        DecisionOutcome.REFUSED, "Ressources suffisantes.", day("2026-03-10"))
    assert _last_audit().changes == {"outcome": [None, "refused"], "decision_date": [None, "2026-03-10"],
                                     "measure_id": [None, None], "reason": [None, "Ressources suffisantes."]}


def test_a_request_of_a_commission_cannot_be_decided_alone(env):
    request_id = submitted_request(env)
    exc = refused(ServiceError, decisions.decide_alone, env.agent, request_id,
                  {"outcome": "granted", "operator_id": env.operator_org_id})
    assert (exc.code, exc.message) == ("commission_requise",
                                       "Cette demande relève de la commission « Commission Logement Unique (CLU) ».")
    # a type without commission is decided alone, on the given date
    short_request = submitted_request(env, measure_type=SHORT, extra={"numero_allocataire": "4200123"})
    exc = refused(ValidationFailed, decisions.decide_alone, env.agent, short_request, {"outcome": "refused"})
    assert exc.fields == {"reason": ["Le motif du refus est obligatoire."]}
    decision = decisions.decide_alone(env.agent, short_request, {"outcome": "granted", "decision_date": "2026-03-05"})
    measure = measure_row(decision.measure_id)
    assert (decision.session_id, measure.status, measure.decision_date, measure.granted_months) == (
        None, MeasureStatus.GRANTED, day("2026-03-05"), 4)


def test_an_orne_user_neither_sees_nor_acts_on_a_loire_case(env):
    measure_id = started_measure(env)
    request_id = db.session.get(Measure, measure_id).request_id
    loire_session = scheduled(env, [submitted_request(env)], "2026-03-24")
    loaded_session = db.session.get(CommissionSession, loire_session)  # held by this SQLAlchemy session
    orne = env.world.orne
    with tenant_context(orne.tenant.id):
        agent, secretary, prescriber = (orne.actor(r) for r in (Role.DEPT_AGENT, Role.COMMISSION_SECRETARY,
                                                                Role.PRESCRIBER))
        for actor, call, args in [
            (agent, measures.transition, (measure_id, "suspend", {"from_date": "2026-04-01", "reason": "x"})),
            (agent, measures.timeline, (measure_id,)),
            (agent, measures.obligations, (measure_id,)),
            (prescriber, requests.submit, (request_id,)),
            (agent, decisions.decide_alone, (request_id, {"outcome": "refused", "reason": "x"})),
            (secretary, decisions.build_agenda, (loire_session,)),
            (secretary, decisions.decide_in_session, (loire_session, {request_id: {"outcome": "adjourned"}})),
        ]:
            refused(NotFound, call, actor, *args)
        orne_operator = orne.orgs[OrganisationKind.OPERATOR].id
    # nor can a Loire measure be handed to an Orne operator, even one the session has loaded
    with unscoped():
        loaded_operator = db.session.get(Organisation, orne_operator)
    assert (loaded_operator.tenant_id, loaded_session.tenant_id) == (orne.tenant.id, env.tenant_id)
    exc = refused(ValidationFailed, measures.transition, env.agent, measure_id, "transfer",
                  {"operator_id": orne_operator, "transfer_date": "2026-04-01", "reason": "move"})
    assert exc.fields == {"operator_id": ["Opérateur introuvable dans ce département."]}


# =====================================================================================
# 3. Obligations are recomputed at each transition
# =====================================================================================
def test_an_obligation_that_disappears_is_waived_and_one_past_due_is_stored_overdue(env):
    clock, wf = env.clock, env.wf
    clock.to("2026-03-16")
    measure_id = started_measure(env, "2026-03-16")
    assert obligation_states(measure_id) == {"demarrage": ("done", day("2026-04-10")),
                                             "contrat": ("open", day("2026-04-16")),
                                             "plan": ("open", day("2026-05-16"))}

    # the contract is late: nothing moves until the next transition stores it overdue
    clock.to("2026-04-20")
    assert obligation_states(measure_id)["contrat"] == ("open", day("2026-04-16"))
    wf.extra_obligations = [ObligationDef("visite", "Visite à domicile", day("2026-05-01"), "operator_worker"),
                            ObligationDef("charte", "Signer la charte", day("2026-03-20"), "operator_worker",
                                          done=True)]
    measures.transition(env.operator, measure_id, "record_action_plan", {"plan_date": "2026-04-20"})
    assert obligation_states(measure_id) == {"demarrage": ("done", day("2026-04-10")),
                                             "contrat": ("overdue", day("2026-04-16")),
                                             "plan": ("done", day("2026-05-16")),
                                             "visite": ("open", day("2026-05-01")),
                                             "charte": ("done", day("2026-03-20"))}

    # the plugin no longer asks for them: the open one is waived, the done one stays done
    wf.extra_obligations = []
    clock.to("2026-04-22")
    measures.transition(env.operator, measure_id, "record_contract_sent", {"sent_date": "2026-04-22"})
    states = obligation_states(measure_id)
    assert (states["contrat"], states["visite"], states["charte"]) == (
        ("done", day("2026-04-16")), ("waived", day("2026-05-01")), ("done", day("2026-03-20")))
    rows = {o.kind: o for o in measures.obligations(env.agent, measure_id)}
    assert _utc(rows["visite"].closed_at) == dt.datetime(2026, 4, 22, 8, 0)
    assert _utc(rows["contrat"].closed_at) == dt.datetime(2026, 4, 22, 8, 0)
    assert rows["visite"].state.label == "Sans objet"

    # asked again later, past its due date: it comes back overdue
    clock.to("2026-05-04")
    wf.extra_obligations = [ObligationDef("visite", "Visite à domicile", day("2026-05-01"), "operator_worker")]
    measures.transition(env.agent, measure_id, "suspend", {"from_date": "2026-05-04", "reason": "Hospitalisation."})
    assert obligation_states(measure_id)["visite"] == ("overdue", day("2026-05-01"))
    reopened = {o.kind: o for o in measures.obligations(env.agent, measure_id)}["visite"]
    assert reopened.closed_at is None
    # a refused transition recomputes nothing
    clock.to("2026-07-01")
    before = obligation_states(measure_id)
    refused(RuleViolation, measures.transition, env.agent, measure_id, "resume", {"resume_date": "2026-05-01"})
    assert obligation_states(measure_id) == before
    assert before["reprise"] == ("open", day("2026-06-04"))
    measures.transition(env.operator, measure_id, "resume", {"resume_date": "2026-07-01"})
    states = obligation_states(measure_id)
    assert states["reprise"] == ("waived", day("2026-06-04"))
    assert measure_row(measure_id).planned_end_date == day("2026-09-16") + dt.timedelta(days=58)
    assert db.session.scalar(sa.select(sa.func.count(Obligation.id)).where(
        Obligation.state == ObligationState.OVERDUE)) == 1


def test_a_measure_never_started_ends_only_for_household_not_met(env):
    from tests.core.workflow_support import granted_measure

    measure_id = granted_measure(env)
    refused(RuleViolation, measures.transition, env.operator, measure_id, "end",
            {"end_date": "2026-04-10", "reason": "term"})
    measure, _ = measures.transition(env.operator, measure_id, "end", {"end_date": "2026-04-10", "reason": "not_met"})
    assert measure.status is MeasureStatus.ENDED and measure.start_date is None
    closed, _ = measures.transition(env.agent, measure_id, "close", {"close_date": "2026-04-12"})
    assert closed.status is MeasureStatus.CLOSED  # no bilan is expected from a household never met


def test_ending_clears_a_pending_prolongation_and_an_open_suspension(env):
    measure_id = running_measure(env)
    measures.transition(env.operator, measure_id, "request_prolongation",
                        {"request_date": "2026-08-20", "months": 3, "reason": "Motif."})
    measures.transition(env.operator, measure_id, "end", {"end_date": "2026-08-25", "reason": "broke_off"})
    assert measure_row(measure_id).extra == {}
    other = running_measure(env)
    measures.transition(env.agent, other, "suspend", {"from_date": "2026-05-01", "reason": "Hospitalisation."})
    measures.transition(env.agent, other, "end", {"end_date": "2026-05-11", "reason": "moved"})
    row = measure_row(other)
    assert row.suspended_from is None and row.extra == {"suspended_days": 10}


def test_a_prolongation_that_would_cumulate_with_another_measure_is_refused(env):
    measure_id = running_measure(env)
    blocking = next(iter(plugin_service.measure_types(env.tenant_id)[ACCES].incompatible_with))
    row = measure_row(measure_id)
    requests.add_support_measure(env.prescriber, row.household_id,
                                 {"code": blocking, "start_date": (row.planned_end_date + dt.timedelta(days=20)).isoformat()})
    exc = refused(RuleViolation, measures.transition, env.operator, measure_id, "request_prolongation",
                  {"request_date": "2026-08-20", "months": 3, "reason": "Motif."})
    assert exc.code == "cumul_interdit" and "Cumul interdit" in exc.message
