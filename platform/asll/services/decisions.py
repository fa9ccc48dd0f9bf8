"""Commission sessions, agendas and decisions.

A commission (declared by a plugin) holds dated sessions; its secretariat builds the
agenda from pending requests and records a decision per request, one by one or as a
batch (all or nothing). Schemes without a commission decide through the same model
with a single decider and no session.

Concurrency: every change claims the session and the requests it touches
(``concurrency.claim``: a conditional UPDATE of their version), session first, then the
requests in id order, before anything is written; of two secretaries (or two clicks)
deciding or scheduling the same thing, one wins and the other gets a French 409.
"""

from __future__ import annotations

import sqlalchemy as sa

from asll.extensions import db
from asll.models import (
    AgendaItem,
    CommissionSession,
    Decision,
    DecisionOutcome,
    Measure,
    Request,
    RequestStatus,
    Role,
    SessionStatus,
)
from asll.plugins.contract import CommissionRole
from asll.services import audit, measures
from asll.services import plugins as plugin_service
from asll.services.access import get_in_tenant, serves
from asll.services.actor import Actor
from asll.services.concurrency import check_fresh, claim
from asll.services.errors import Conflict, NotFound, PermissionDenied, ServiceError, ValidationFailed
from asll.services.schemas import DecisionSchema, SessionSchema
from asll.services.validation import load

SECRETARIAT = (Role.COMMISSION_SECRETARY, Role.DEPT_ADMIN)
DECIDED_ELSEWHERE = "Cette demande ({reference}) vient d'être décidée ou modifiée par quelqu'un d'autre ; rechargez la page."
AGENDA_CHANGED = "L'ordre du jour de cette séance vient d'être modifié par quelqu'un d'autre ; rechargez la page."
DECISIONS_CHANGED = ("Les décisions de cette séance viennent d'être enregistrées ou modifiées par quelqu'un "
                     "d'autre ; rechargez la page.")
SINGLE_DECIDERS = (Role.DEPT_AGENT, Role.DEPT_ADMIN)


def _session(session_id: int) -> CommissionSession:
    session = get_in_tenant(CommissionSession, session_id)
    if session is None:
        raise NotFound("Séance introuvable.")
    return session


def _ids(ids) -> str:
    return ", ".join(str(i) for i in ids)


def require_serves(actor: Actor, commission_code: str) -> None:
    """Refuse a secretariat's act on a commission it does not serve (see ``access.served_commissions``)."""
    if not serves(actor, commission_code):
        label = getattr(plugin_service.commissions(actor.tenant_id).get(commission_code), "label", commission_code)
        raise PermissionDenied(f"Votre secrétariat ne sert pas la commission « {label} ».")


def create_session(actor: Actor, data: dict) -> CommissionSession:
    if not actor.has(*SECRETARIAT):
        raise PermissionDenied("Seul le secrétariat d'une commission peut programmer une séance.")
    loaded = load(SessionSchema(), data)
    commission = plugin_service.commissions(actor.tenant_id).get(loaded["commission_code"])
    if commission is None:
        raise ValidationFailed({"commission_code": ["Commission inconnue dans ce département."]})
    if commission.role is CommissionRole.SINGLE_DECIDER:
        raise ValidationFailed({"commission_code": ["Cette instance décide seule, sans séance."]})
    require_serves(actor, commission.code)
    session = CommissionSession(created_by_id=actor.user_id, **loaded)
    db.session.add(session)
    db.session.flush()
    audit.record(actor, "session.create", object_type="commission_session", object_id=session.id,
                 changes={k: [None, v] for k, v in loaded.items()})
    db.session.commit()
    return session


def pending_requests(actor: Actor, commission_code: str) -> list[Request]:
    """Submitted requests waiting for this commission (not yet on an agenda)."""
    return list(db.session.scalars(
        sa.select(Request).where(Request.status == RequestStatus.SUBMITTED, Request.commission_code == commission_code)
        .order_by(Request.submitted_at, Request.id)))


def build_agenda(actor: Actor, session_id: int, request_ids: list[int] | None = None,
                 expected: int | None = None) -> CommissionSession:
    """Put pending requests on the session's agenda (all of them when none are named).

    ``expected``: the session's version the secretary's page showed (None: as read now).
    """
    if not actor.has(*SECRETARIAT):
        raise PermissionDenied("Seul le secrétariat d'une commission peut établir l'ordre du jour.")
    session = _session(session_id)
    require_serves(actor, session.commission_code)
    check_fresh(session, expected, AGENDA_CHANGED)
    if session.status is not SessionStatus.PLANNED:
        raise Conflict("La séance a déjà été tenue : son ordre du jour est figé.", "seance_tenue")
    claim(session, expected, AGENDA_CHANGED)
    candidates = {r.id: r for r in pending_requests(actor, session.commission_code)}
    wanted = list(candidates) if request_ids is None else request_ids
    unknown = [rid for rid in wanted if rid not in candidates]
    if unknown:
        db.session.rollback()  # the session's claim too: nothing of a refused attempt is stored
        raise ValidationFailed({"request_ids": [
            f"Demande(s) n° {_ids(unknown)} non éligible(s) : déjà inscrite(s) ou décidée(s), ou relevant d'une autre "
            "commission."]})
    for request_id in sorted(wanted):  # another session's secretary may be scheduling the same request
        claim(candidates[request_id], message=f"La demande {candidates[request_id].reference} vient d'être inscrite "
                                              "à une autre séance ou décidée ; rechargez la page.")
    position = len(session.items)
    for request_id in wanted:
        position += 1
        session.items.append(AgendaItem(request_id=request_id, position=position, tenant_id=session.tenant_id))
        candidates[request_id].status = RequestStatus.SCHEDULED
    db.session.flush()
    audit.record(actor, "session.agenda", object_type="commission_session", object_id=session.id,
                 changes={"requests": [None, wanted]})
    db.session.commit()
    return session


def _decide_one(actor: Actor, request: Request, data: dict, session: CommissionSession | None) -> Decision:
    """Validate and record one decision in the current transaction (the caller commits)."""
    schema = DecisionSchema()
    if (data or {}).get("outcome") == DecisionOutcome.GRANTED.value:
        probe = measures.grant_probe(request, (data or {}).get("measure_type"))
        schema = measures.transition_schema(actor.tenant_id, probe, "grant", DecisionSchema)
        data = {"extra": {}, **data}
    loaded = load(schema, data)
    if request.status not in (RequestStatus.SUBMITTED, RequestStatus.SCHEDULED):
        raise Conflict(f"La demande {request.reference} n'est plus en attente de décision : elle vient sans doute "
                       "d'être décidée par quelqu'un d'autre ; rechargez la page.", "deja_decidee")
    if session is not None:
        decision_date = session.session_date  # the decision date is the commission's date
    else:
        decision_date = loaded["decision_date"] or measures.today()
    decision = Decision(request_id=request.id, session_id=session.id if session else None, outcome=loaded["outcome"],
                        decision_date=decision_date, reason=loaded["reason"] or "",
                        redirected_to=loaded["redirected_to"] or "", decided_by_id=actor.user_id,
                        tenant_id=request.tenant_id)
    if loaded["outcome"] is DecisionOutcome.GRANTED:
        definition = measures.measure_type(actor.tenant_id, loaded["measure_type"] or request.measure_type)
        months = loaded["duration_months"] or definition.default_months
        if months > definition.max_months:
            raise ValidationFailed({"duration_months": [f"« {definition.label} » dure au plus {definition.max_months} mois."]})
        if loaded["operator_id"] is not None:
            measures.operator(loaded["operator_id"])
        measure = measures.new_measure_for_grant(actor.tenant_id, request, definition, months, decision_date,
                                                 loaded["operator_id"], loaded["reinforced"])
        violations = measures.cumulation_violations(actor.tenant_id, request.household_id, definition,
                                                    decision_date, months)
        violations += measures.plugin_violations(actor.tenant_id, measure, "grant", {**loaded, "session": session})
        decision.warnings = measures.refuse_if_blocking(violations)
        measures.store_extra(measure, loaded)
        db.session.add(measure)
        db.session.flush()
        measures.record_event(actor, measure, "grant", "", decision_date, {"months": months})
        if measure.operator_id:
            measure.status = measure.status.__class__.OPERATOR_ASSIGNED
            measure.notified_date = decision_date
            measures.record_event(actor, measure, "assign_operator", "granted", decision_date,
                                  {"operator_id": measure.operator_id})
        decision.measure_type, decision.duration_months = definition.code, months
        decision.operator_id, decision.measure_id = measure.operator_id, measure.id
        request.status = RequestStatus.DECIDED
        measures.after_transition(actor.tenant_id, measure, "grant", {**loaded, "session": session})
        measures.recompute_obligations(measure)
    elif loaded["outcome"] is DecisionOutcome.ADJOURNED:
        request.status = RequestStatus.SUBMITTED  # back in the queue for a later session
        if session is not None:
            for item in list(session.items):
                if item.request_id == request.id:
                    session.items.remove(item)
    else:
        request.status = RequestStatus.DECIDED
    db.session.add(decision)
    db.session.flush()
    audit.record(actor, "request.decide", object_type="request", object_id=request.id,
                 changes={"outcome": [None, decision.outcome.value], "decision_date": [None, decision_date],
                          "measure_id": [None, decision.measure_id], "reason": [None, decision.reason or None]})
    return decision


def decide_in_session(actor: Actor, session_id: int, decisions: dict[int, dict],
                      expected: int | None = None) -> list[Decision]:
    """Record decisions for requests on the session's agenda, all or nothing.

    ``expected``: the session's version the secretary's page showed (None: as read now).
    """
    if not actor.has(*SECRETARIAT):
        raise PermissionDenied("Seul le secrétariat de la commission enregistre ses décisions.")
    session = _session(session_id)
    require_serves(actor, session.commission_code)
    check_fresh(session, expected, DECISIONS_CHANGED)
    claim(session, expected, DECISIONS_CHANGED)
    on_agenda = {item.request_id: item.request for item in session.items}
    missing = [rid for rid in decisions if rid not in on_agenda]
    if missing:
        db.session.rollback()
        raise ValidationFailed({"decisions": [f"Demande(s) n° {_ids(missing)} absente(s) de l'ordre du jour."]})
    for request_id in sorted(decisions):
        claim(on_agenda[request_id], message=DECISIONS_CHANGED)
    recorded, errors, violations = [], {}, []
    for request_id, data in decisions.items():
        try:
            recorded.append(_decide_one(actor, on_agenda[request_id], data, session))
        except Conflict:
            db.session.rollback()
            raise
        except ServiceError as exc:
            errors[on_agenda[request_id].reference] = getattr(exc, "fields", None) or [exc.message]
            violations += exc.violations
    if errors:
        db.session.rollback()
        failure = ValidationFailed(errors, "Aucune décision n'a été enregistrée : corrigez les demandes signalées.")
        failure.violations = violations  # keep the rules' stable codes (cumul_interdit...) for the caller
        raise failure
    session.status = SessionStatus.HELD
    db.session.commit()
    return recorded


def decide_alone(actor: Actor, request_id: int, data: dict, expected: int | None = None) -> Decision:
    """A single decider (head of circonscription, département service) decides a request.

    ``expected``: the request's version the decider's page showed (None: as read now).
    """
    from asll.services.requests import _visible_request

    if not actor.has(*SINGLE_DECIDERS):
        raise PermissionDenied("Votre rôle ne permet pas de décider seul de cette demande.")
    request = _visible_request(actor, request_id)
    check_fresh(request, expected, DECIDED_ELSEWHERE.format(reference=request.reference))
    commission = plugin_service.commissions(actor.tenant_id).get(request.commission_code or "")
    if commission is not None and commission.role is not CommissionRole.SINGLE_DECIDER:
        raise ServiceError(f"Cette demande relève de la commission « {commission.label} ».", "commission_requise")
    try:
        if request.status in (RequestStatus.SUBMITTED, RequestStatus.SCHEDULED):
            claim(request, expected, DECIDED_ELSEWHERE.format(reference=request.reference))
        decision = _decide_one(actor, request, data, None)
    except ServiceError:
        db.session.rollback()
        raise
    db.session.commit()
    return decision


def session_decisions(session_id: int) -> list[Decision]:
    return list(db.session.scalars(sa.select(Decision).where(Decision.session_id == session_id).order_by(Decision.id)))


def decision_for_measure(measure: Measure) -> Decision | None:
    return db.session.scalar(sa.select(Decision).where(Decision.measure_id == measure.id))

