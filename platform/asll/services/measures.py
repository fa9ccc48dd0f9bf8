"""Measures: decisions that grant them, their transitions, non-cumulation and obligations.

Every transition follows the same steps, and nothing is changed unless all pass:
the state machine allows it, the actor's role may do it, the input is valid, the
core's and the plugins' rules hold. Then the change, its timeline event, its audit
entry and the recomputed obligations are committed together.

Two transitions of one measure never both pass: the measure is claimed
(``concurrency.claim``, a conditional UPDATE of its version) after the checks and before
the first write, so a second click, a colleague's action or a retried call built on the
same version gets a French 409 and changes nothing.
"""

from __future__ import annotations

from datetime import date, timedelta

import marshmallow as ma
import sqlalchemy as sa

from asll.domain import machine
from asll.domain.calendar import add_months, today
from asll.extensions import db
from asll.models import (
    Measure,
    MeasureEvent,
    MeasureStatus,
    Obligation,
    ObligationState,
    Organisation,
    OrganisationKind,
    Role,
    SupportMeasure,
)
from asll.models.base import utcnow
from asll.plugins.contract import MeasureTypeDef, ObligationDef, Violation
from asll.services import audit, cases
from asll.services import plugins as plugin_service
from asll.services.access import get_in_tenant
from asll.services.actor import Actor
from asll.services.concurrency import check_fresh, claim
from asll.services.errors import Conflict, PermissionDenied, ServiceError, ValidationFailed
from asll.services.schemas import TRANSITION_SCHEMAS, with_plugin_fields
from asll.services.validation import load

AUDITED_FIELDS = ("status", "operator_id", "start_date", "planned_end_date", "end_date", "end_reason",
                  "prolongation_count", "prolonged_months", "notified_date", "contract_sent_date",
                  "action_plan_date", "suspended_from", "bilan_date", "hand_over_to", "extra")


class RuleViolation(ServiceError):
    """One or more rules forbid the action; each violation has a code and a French message."""

    status = 409

    def __init__(self, violations: list[Violation]):
        super().__init__(" ".join(v.message for v in violations), violations[0].code, violations)


def visible_measure(actor: Actor, measure_id: int) -> Measure:
    return cases.get_measure(actor, measure_id, log_read=False)


def measure_type(tenant_id: int, code: str) -> MeasureTypeDef:
    definition = plugin_service.measure_types(tenant_id).get(code)
    if definition is None:
        raise ServiceError("Le type de cette mesure n'est plus proposé dans ce département (plugin désactivé ?).",
                           "type_inconnu")
    return definition


def operator(organisation_id: int | None) -> Organisation:
    organisation = get_in_tenant(Organisation, organisation_id) if organisation_id else None
    if organisation is None or organisation.kind is not OrganisationKind.OPERATOR:
        raise ValidationFailed({"operator_id": ["Opérateur introuvable dans ce département."]})
    return organisation


# -- non-cumulation ---------------------------------------------------------------
def cumulation_violations(tenant_id: int, household_id: int, definition: MeasureTypeDef, start: date,
                          months: int) -> list[Violation]:
    """Other support measures of the household that forbid this measure type over its period."""
    if not definition.incompatible_with:
        return []
    end = add_months(start, months)
    labels = plugin_service.support_measures(tenant_id)
    others = db.session.scalars(sa.select(SupportMeasure).where(
        SupportMeasure.household_id == household_id, SupportMeasure.code.in_(definition.incompatible_with)))
    return [
        Violation("cumul_interdit",
                  f"Cumul interdit : le ménage bénéficie de « {labels.get(o.code, o.code)} » "
                  f"(depuis le {o.start_date.strftime('%d/%m/%Y')}), incompatible avec « {definition.label} ».")
        for o in others if o.active_between(start, end)
    ]


# -- plugin rules and obligations ---------------------------------------------------
def transition_fields(tenant_id: int, measure: Measure, name: str) -> dict[str, ma.fields.Field]:
    """The enabled plugins' extra fields for transition ``name`` of ``measure``."""
    return plugin_service.merged_fields(tenant_id, "asll_transition_fields", measure=measure, transition=name)


def grant_probe(request, measure_type: str | None = None) -> Measure:
    """A transient measure (never added to the session) that tells the plugins what a grant would create."""
    return Measure(measure_type=measure_type or request.measure_type, household_id=request.household_id,
                   request_id=request.id, status=MeasureStatus.GRANTED, extra={}, tenant_id=request.tenant_id)


def transition_schema(tenant_id: int, measure: Measure, name: str, base: type[ma.Schema]) -> ma.Schema:
    """The core's schema for a transition, with the plugins' extra fields under ``extra``."""
    return with_plugin_fields(base, transition_fields(tenant_id, measure, name), f"{base.__name__}WithExtra")()


def store_extra(measure: Measure, loaded: dict) -> None:
    """Merge the plugins' validated extra values into the measure (JSON-safe)."""
    if loaded.get("extra"):
        measure.extra = {**(measure.extra or {}), **audit._jsonable(loaded["extra"])}


def after_transition(tenant_id: int, measure: Measure, name: str, loaded: dict) -> None:
    plugin_service.call(tenant_id, "asll_after_transition", measure=measure, transition=name, data=loaded)


def plugin_violations(tenant_id: int, measure: Measure, transition: str, data: dict) -> list[Violation]:
    return [v for _plugin, v in plugin_service.collect(tenant_id, "asll_validate_transition", measure=measure,
                                                       transition=transition, data=data)]


def refuse_if_blocking(violations: list[Violation]) -> list[Violation]:
    """Raise on blocking violations; return the warnings for the user to see."""
    blocking = [v for v in violations if v.blocking]
    if blocking:
        raise RuleViolation(blocking)
    return violations


def recompute_obligations(measure: Measure) -> None:
    """Store the plugins' obligations for the measure; fulfilled ones close, vanished ones are waived."""
    definitions: dict[str, ObligationDef] = {}
    for _plugin, definition in plugin_service.collect(measure.tenant_id, "asll_obligations", measure=measure):
        definitions.setdefault(definition.kind, definition)  # plugins answer before the core's defaults
    existing = {o.kind: o for o in db.session.scalars(sa.select(Obligation).where(Obligation.measure_id == measure.id))}
    now, current_day = utcnow(), today()
    for kind, definition in definitions.items():
        row = existing.pop(kind, None)
        if row is None:
            row = Obligation(measure_id=measure.id, kind=kind, tenant_id=measure.tenant_id)
            db.session.add(row)
        row.label, row.due_date, row.responsible_role = definition.label, definition.due_date, definition.responsible_role
        if definition.done:
            if row.state is not ObligationState.DONE:
                row.state, row.closed_at = ObligationState.DONE, now
        elif row.state in (None, ObligationState.OPEN, ObligationState.OVERDUE, ObligationState.WAIVED):
            row.state = ObligationState.OVERDUE if definition.due_date < current_day else ObligationState.OPEN
            row.closed_at = None
    for row in existing.values():
        if row.state in (ObligationState.OPEN, ObligationState.OVERDUE):
            row.state, row.closed_at = ObligationState.WAIVED, now
    db.session.flush()


def record_event(actor: Actor, measure: Measure, transition: str, before_status: str, effective: date | None,
                 data: dict) -> MeasureEvent:
    event = MeasureEvent(measure_id=measure.id, transition=transition, from_status=before_status,
                         to_status=measure.status.value, effective_date=effective, actor_id=actor.user_id,
                         data=audit._jsonable(data), tenant_id=measure.tenant_id)
    db.session.add(event)
    return event


# -- transitions --------------------------------------------------------------------
def _check_role(actor: Actor, transition: machine.Transition, measure: Measure) -> None:
    if not actor.has(*transition.roles):
        raise PermissionDenied(f"Votre rôle ne permet pas l'action « {transition.label} ».")
    service_roles = {Role.DEPT_AGENT, Role.DEPT_ADMIN, Role.COMMISSION_SECRETARY}
    if transition.own_operator_only and not actor.has(*service_roles) and measure.operator_id not in actor.organisation_ids:
        raise PermissionDenied("Cette mesure est suivie par un autre opérateur.")


def _core_rules(measure: Measure, definition: MeasureTypeDef, name: str, data: dict) -> list[Violation]:
    """Rules every département shares; plugins add theirs through ``asll_validate_transition``."""
    rules: list[Violation] = []
    if name == "start" and measure.decision_date and data["start_date"] < measure.decision_date:
        rules.append(Violation("date_incoherente", "La mesure ne peut démarrer avant la décision.", "start_date"))
    if name == "request_prolongation":
        if measure.prolongation_count >= definition.max_prolongations:
            rules.append(Violation("prolongations_epuisees",
                                   f"Ce type de mesure ne peut être prolongé que {definition.max_prolongations} fois."))
        limit = definition.prolongation_months or definition.max_months
        if data["months"] > limit:
            rules.append(Violation("prolongation_trop_longue", f"Une prolongation dure au plus {limit} mois.", "months"))
        total = (measure.granted_months or 0) + measure.prolonged_months + data["months"]
        if definition.max_total_months and total > definition.max_total_months:
            rules.append(Violation("duree_totale_depassee",
                                   f"La durée totale ne peut dépasser {definition.max_total_months} mois "
                                   f"(elle serait de {total} mois).", "months"))
    for key in ("end_date", "bilan_date", "resume_date", "plan_date", "sent_date", "from_date", "transfer_date",
                "request_date"):
        if key in data and measure.start_date and data[key] < measure.start_date:
            rules.append(Violation("date_incoherente", "Cette date précède le début de la mesure.", key))
    if name == "resume" and measure.suspended_from and data["resume_date"] < measure.suspended_from:
        rules.append(Violation("date_incoherente", "La reprise ne peut précéder la suspension.", "resume_date"))
    if name == "end" and measure.start_date is None and data["reason"] not in machine.END_REASONS_BEFORE_START:
        rules.append(Violation("fin_avant_demarrage", "Une mesure non démarrée ne peut se terminer que si le ménage "
                               "n'a pas été rencontré ou n'a pas adhéré.", "reason"))
    if name == "close" and measure.status is MeasureStatus.ENDED and measure.end_reason not in machine.NO_BILAN_REASONS:
        rules.append(Violation("bilan_manquant", "Le bilan doit être reçu avant de clôturer la mesure."))
    return rules


def _planned_end(measure: Measure) -> date:
    """Start + granted and prolonged calendar months (counted from the start, so no day is lost
    to month-end clamping), + the days the measure was suspended."""
    months = (measure.granted_months or 0) + measure.prolonged_months
    return add_months(measure.start_date, months) + timedelta(days=measure.extra.get("suspended_days", 0))


def _apply(measure: Measure, name: str, data: dict, transition: machine.Transition) -> date | None:
    """Change the measure; return the date the transition takes effect."""
    if name == "assign_operator":
        measure.operator_id = data["operator_id"]
        measure.notified_date = data.get("notified_date") or today()
        effective = measure.notified_date
    elif name == "start":
        measure.start_date = effective = data["start_date"]
        measure.planned_end_date = add_months(data["start_date"], measure.granted_months or 0)
    elif name == "record_contract_sent":
        measure.contract_sent_date = effective = data["sent_date"]
    elif name == "record_action_plan":
        measure.action_plan_date = effective = data["plan_date"]
    elif name == "request_prolongation":
        measure.extra = {**measure.extra, "status_before_prolongation": measure.status.value,
                         "pending_prolongation": {"months": data["months"],
                                                  "request_date": data["request_date"].isoformat(),
                                                  "reason": data["reason"]}}
        effective = data["request_date"]
    elif name == "grant_prolongation":
        pending = measure.extra.get("pending_prolongation", {})
        months = int(pending.get("months", 0))
        measure.prolongation_count += 1
        measure.prolonged_months += months
        measure.extra = _without(measure.extra, "pending_prolongation")
        measure.planned_end_date = _planned_end(measure)
        effective = data["decision_date"]
    elif name == "refuse_prolongation":
        measure.extra = _without(measure.extra, "pending_prolongation")
        effective = data["decision_date"]
    elif name == "suspend":
        measure.suspended_from = effective = data["from_date"]
        measure.extra = {**measure.extra, "status_before_suspension": measure.status.value}
    elif name == "resume":
        # A suspension pauses the measure: its planned end moves by the suspended days.
        paused = (data["resume_date"] - measure.suspended_from).days
        measure.extra = {**measure.extra, "suspended_days": measure.extra.get("suspended_days", 0) + paused}
        measure.planned_end_date = _planned_end(measure)
        measure.suspended_from = None
        effective = data["resume_date"]
    elif name == "transfer":
        measure.operator_id = data["operator_id"]
        measure.worker_id = None
        effective = data["transfer_date"]
    elif name == "end":
        if measure.suspended_from is not None:  # ended while suspended: the suspension ends with it
            paused = max(0, (data["end_date"] - measure.suspended_from).days)
            measure.extra = {**measure.extra, "suspended_days": measure.extra.get("suspended_days", 0) + paused}
            measure.suspended_from = None
        measure.extra = _without(measure.extra, "pending_prolongation", "status_before_prolongation",
                                 "status_before_suspension")
        measure.end_date = effective = data["end_date"]
        measure.end_reason = data["reason"]
        measure.hand_over_to = data.get("hand_over_to", "")
    elif name == "record_bilan":
        measure.bilan_date = effective = data["bilan_date"]
    elif name == "close":
        effective = data["close_date"]
    else:  # pragma: no cover - the table and this function list the same names
        raise AssertionError(name)
    if transition.target is not None:
        measure.status = transition.target
    # Back to where the measure was: a started measure without action plan stays "started".
    restore = {"resume": "status_before_suspension", "grant_prolongation": "status_before_prolongation",
               "refuse_prolongation": "status_before_prolongation"}.get(name)
    if restore is not None:
        measure.status = MeasureStatus(measure.extra.get(restore, MeasureStatus.RUNNING.value))
        measure.extra = _without(measure.extra, restore)
    return effective


def _without(extra: dict, *keys: str) -> dict:
    """A copy of ``extra`` without ``keys`` (a new dict, so that the JSON column sees the change)."""
    return {k: v for k, v in (extra or {}).items() if k not in keys}


MEASURE_CHANGED = "Cette mesure vient d'être modifiée par quelqu'un d'autre ; rechargez la page."


def transition(actor: Actor, measure_id: int, name: str, data: dict | None = None,
               expected: int | None = None) -> tuple[Measure, list[Violation]]:
    """Apply transition ``name`` to a measure; return it with any non-blocking warnings.

    ``expected``: the measure's version the user's page showed (None: as read now).
    """
    measure = visible_measure(actor, measure_id)
    check_fresh(measure, expected, MEASURE_CHANGED)
    try:
        allowed = machine.check_allowed(name, measure.status)
    except machine.TransitionRefused as exc:
        if exc.code == "transition_interdite":  # the measure is no longer where the user saw it
            raise Conflict(exc.message, exc.code) from exc
        raise ServiceError(exc.message, exc.code) from exc
    _check_role(actor, allowed, measure)
    # "extra" always present, so that the plugins' required fields are checked too.
    loaded = load(transition_schema(actor.tenant_id, measure, name, TRANSITION_SCHEMAS[name]),
                  {"extra": {}, **(data or {})})
    definition = measure_type(actor.tenant_id, measure.measure_type)
    if name in ("assign_operator", "transfer"):
        new_operator = operator(loaded["operator_id"])
        # A separation may keep the operator: the measure follows one member of the couple.
        if name == "transfer" and new_operator.id == measure.operator_id and loaded["reason"] != "separation":
            raise ValidationFailed({"operator_id": ["Choisissez un autre opérateur que l'actuel."]})
    cumulation = []
    if name == "request_prolongation" and measure.planned_end_date:
        cumulation = cumulation_violations(actor.tenant_id, measure.household_id, definition,
                                           measure.planned_end_date, loaded["months"])
    warnings = refuse_if_blocking(cumulation + _core_rules(measure, definition, name, loaded)
                                  + plugin_violations(actor.tenant_id, measure, name, loaded))
    claim(measure, expected, MEASURE_CHANGED)
    before = audit.snapshot(measure, AUDITED_FIELDS)
    before_status = measure.status.value
    try:
        effective = _apply(measure, name, loaded, allowed)
        store_extra(measure, loaded)
        after_transition(actor.tenant_id, measure, name, loaded)
        record_event(actor, measure, name, before_status, effective, loaded)
        audit.record(actor, f"measure.{name}", object_type="measure", object_id=measure.id,
                     changes=audit.diff(before, audit.snapshot(measure, AUDITED_FIELDS)))
        recompute_obligations(measure)
        db.session.commit()
    except Exception:
        db.session.rollback()  # e.g. a plugin's obligations hook failed: nothing half-done stays
        raise
    return measure, warnings


def allowed_transitions(actor: Actor, measure: Measure) -> list[machine.Transition]:
    """What the actor may try on this measure now (rules are checked when it is tried)."""
    result = []
    for candidate in machine.available(measure.status):
        try:
            _check_role(actor, candidate, measure)
        except PermissionDenied:
            continue
        result.append(candidate)
    return result


def timeline(actor: Actor, measure_id: int) -> list[MeasureEvent]:
    measure = visible_measure(actor, measure_id)
    return list(db.session.scalars(sa.select(MeasureEvent).where(MeasureEvent.measure_id == measure.id)
                                   .order_by(MeasureEvent.at, MeasureEvent.id)))


def obligations(actor: Actor, measure_id: int) -> list[Obligation]:
    measure = visible_measure(actor, measure_id)
    return list(db.session.scalars(sa.select(Obligation).where(Obligation.measure_id == measure.id)
                                   .order_by(Obligation.due_date)))


def new_measure_for_grant(tenant_id: int, request, definition: MeasureTypeDef, months: int, decision_date: date,
                          operator_id: int | None, reinforced: bool) -> Measure:
    """The measure a grant would create, not yet added to the session (plugins validate it first)."""
    from asll.services.references import next_reference

    return Measure(
        tenant_id=tenant_id, reference=next_reference(Measure, "A", tenant_id, decision_date.year),
        household_id=request.household_id, request_id=request.id, measure_type=definition.code,
        kind=definition.kind.value, status=MeasureStatus.GRANTED, decision_date=decision_date,
        granted_months=months, operator_id=operator_id, reinforced=reinforced, extra={},
    )

