"""The detail pages of a case (household, request, measure), rendered with the state of their forms.

The GET routes render them plain; the POST routes of :mod:`asll.web.cases` render them
again with the submitted values and the service's errors when an action is refused, so
the user sees the error summary next to the form they filled.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import marshmallow as ma
from flask import g, render_template

from asll.domain.calendar import today
from asll.domain.machine import END_REASONS, TRANSFER_REASONS
from asll.models import DecisionOutcome, MeasureStatus, OrganisationKind, Role
from asll.services import audit, cases, documents, measures
from asll.services import plugins as plugin_service
from asll.services import views
from asll.services.schemas import DIAGNOSTIC_FIELDS, TRANSITION_SCHEMAS, DecisionSchema
from asll.web.common import (
    ATTACHMENT_WRITERS,
    DEFAULT_TODAY,
    FILING_ROLES,
    LETTER_ROLES,
    REASON_LABELS,
    REQUEST_ORIGINS,
    SERVICE_ROLES,
    TRANSITION_CHOICE_LABELS,
    TRANSITION_FIELD_LABELS,
    TRANSITION_HELP,
    TRANSITION_LABELS,
)
from asll.web.fields import field_view, schema_views, summary

DECISION_LABELS = {
    "outcome": "Décision",
    "decision_date": "Date de la décision",
    "measure_type": "Type de mesure accordé",
    "duration_months": "Durée accordée (en mois)",
    "operator_id": "Opérateur désigné",
    "reinforced": "Suivi renforcé",
    "reason": "Motif (obligatoire en cas de refus)",
    "redirected_to": "Réorientation vers (mesure ou dispositif)",
}
MEASURE_DOCUMENTS = {kind: documents.DOCUMENT_KINDS[kind] for kind in ("contract", "prolongation_request", "bilan")}


def operator_choices(exclude: int | None = None) -> list[tuple[str, str]]:
    return [(str(o.id), o.name) for o in views.organisations_of_kind(g.actor, OrganisationKind.OPERATOR)
            if o.id != exclude]


# Bookkeeping the core keeps in ``measure.extra``: shown elsewhere on the page, or not at all.
CORE_MEASURE_EXTRA = frozenset({"pending_prolongation", "status_before_prolongation", "status_before_suspension",
                                "suspended_days"})


def extra_labels(plugin_fields: Mapping, values: Mapping | None,
                 codes: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """(label, value) pairs of a plugin's stored extra values, for read-only display.

    A value that is a known code (a commission, a measure type, a choice of the field) shows
    its French label, in lists and nested objects too; dates show as dd/mm/yyyy.
    """
    codes = dict(codes or {})
    rows = []
    for name, value in (values or {}).items():
        f = plugin_fields.get(name)
        text = display_value(f, value, codes)
        rows.append((_field_label(name, f), text or "—"))
    return rows


def _field_label(name: str, f) -> str:
    return (f.metadata.get("label") if f is not None and f.metadata else None) or name.replace("_", " ").capitalize()


def display_value(f, value, codes: Mapping[str, str]) -> str:
    """One stored value as a social worker reads it, following the field that describes it."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "Oui" if value else "Non"
    if f is not None and f.metadata and f.metadata.get("choice_labels"):  # a list's or a dict's choices
        codes = {**codes, **f.metadata["choice_labels"]}
    if isinstance(value, list):
        inner = f.inner if isinstance(f, ma.fields.List) else None
        parts = [display_value(inner, item, codes) for item in value]
        return (" ; " if any(isinstance(item, dict) for item in value) else ", ").join(p for p in parts if p)
    if isinstance(value, dict):
        if isinstance(f, ma.fields.Nested):
            parts = f.schema.fields
            shown = ((_field_label(k, parts.get(k)), display_value(parts.get(k), v, codes)) for k, v in value.items())
            return ", ".join(f"{label} : {text}" for label, text in shown if text)
        inner = f.value_field if isinstance(f, ma.fields.Dict) else None
        return ", ".join(f"{k} : {display_value(inner, v, codes)}" for k, v in value.items())
    if isinstance(value, str):
        choices = dict(field_view("value", f).choices) if f is not None else {}
        if value in choices or value in codes:
            return choices.get(value) or codes[value]
        if len(value) == 10 and value[4] == "-" and value[7] == "-":
            return _iso_fr(value)
    return str(value)


def _iso_fr(value: str) -> str:
    try:
        return date.fromisoformat(value).strftime("%d/%m/%Y")
    except ValueError:
        return value


# -- decisions ---------------------------------------------------------------------------
def decision_views(request, *, prefix: str = "", id_prefix: str = "d", values: Mapping | None = None,
                   errors: Mapping | None = None, in_session: bool = True, blank_outcome: str | None = None,
                   operators: list[tuple[str, str]] | None = None):
    """Fields of a decision on ``request``: the core's and the plugins' fields for a grant.

    ``operators``: the operator choices, when a page shows several decisions (read once).
    """
    schema_fields = dict(DecisionSchema().fields)
    if in_session:
        schema_fields.pop("decision_date")  # a session's decisions take the session's date
    types = plugin_service.measure_types(g.actor.tenant_id)
    same_commission = [(code, d.label) for code, d in types.items()
                       if d.commission == (types[request.measure_type].commission
                                           if request.measure_type in types else None)] or \
        [(code, d.label) for code, d in types.items()]
    definition = types.get(request.measure_type)
    values = dict(values or {})
    values.setdefault(f"{prefix}measure_type", request.measure_type)
    if not in_session:
        values.setdefault(f"{prefix}decision_date", today().isoformat())
    outcome_choices = [(o.value, o.label) for o in DecisionOutcome]
    found = schema_views(
        schema_fields, prefix=prefix, id_prefix=id_prefix, values=values, errors=errors, labels=DECISION_LABELS,
        choices={"measure_type": same_commission, "operator_id": operator_choices() if operators is None else operators,
                 "outcome": outcome_choices},
        hints={"duration_months": f"Par défaut {definition.default_months} mois, au plus {definition.max_months}."
               if definition else "", "operator_id": "Peut être désigné plus tard."},
    )
    for view in found:
        if view.name == f"{prefix}outcome":
            view.required = blank_outcome is None
            view.blank_choice = blank_outcome or "— Choisir —"
        if view.name == f"{prefix}operator_id":
            view.blank_choice = "— À désigner plus tard —"
    found += schema_views(views.grant_fields(g.actor, request), prefix=f"{prefix}extra.", id_prefix=id_prefix,
                          values=values, errors=errors)
    return found


# -- request -------------------------------------------------------------------------------
def render_request(request_id: int, *, open_form: str | None = None, values: Mapping | None = None,
                   errors: Mapping | None = None, status: int = 200):
    actor = g.actor
    req = cases.get_request(actor, request_id)
    types = plugin_service.measure_types(actor.tenant_id)
    commissions = plugin_service.commissions(actor.tenant_id)
    decisions = views.request_decisions(actor, req.id)
    decision_form = None
    if views.decides_alone(actor, req):
        fields = decision_views(req, id_prefix="dec", values=values if open_form == "decision" else None,
                                errors=errors if open_form == "decision" else None, in_session=False)
        decision_form = {"fields": fields,
                         "summary": summary(fields, errors or {}) if open_form == "decision" else []}
    documents_list = documents.list_documents(actor, request_id=req.id)
    filer = actor.has(*SERVICE_ROLES) or req.filed_by_id == actor.user_id or \
        (req.prescriber_organisation_id in actor.organisation_ids and actor.has(Role.PRESCRIBER))
    context = {
        "req": req,
        "measure_type": types.get(req.measure_type),
        "commission": commissions.get(req.commission_code or ""),
        "origin_label": REQUEST_ORIGINS.get(req.origin, req.origin or "—"),
        "diagnostic": [(label, (req.diagnostic or {}).get(key, "")) for key, label in DIAGNOSTIC_FIELDS.items()],
        "extra": extra_labels(views.request_fields(actor, req.measure_type), req.extra),
        "decisions": decisions,
        "measures": views.request_measures(actor, req.id),
        "session": views.request_session(req.id) if views.may_read_sessions(actor) else None,
        "documents": documents_list,
        "decision_form": decision_form,
        "can_edit": req.status.value == "draft" and actor.has(*FILING_ROLES) and filer,
        "can_withdraw": req.status.value in ("draft", "submitted") and actor.has(*FILING_ROLES) and filer,
        "can_letters": actor.has(*LETTER_ROLES),
        "can_attach": actor.has(*ATTACHMENT_WRITERS) and req.status.value != "withdrawn",
        "open_form": open_form,
        "errors": errors or {},
        "values": values or {},
        "history": audit.history("request", req.id),
        "measure_type_labels": {code: d.label for code, d in types.items()},
    }
    return render_template("request.html", **context), status


# -- measure -------------------------------------------------------------------------------
def transition_views(measure, name: str, *, values: Mapping | None = None, errors: Mapping | None = None):
    schema_fields = dict(TRANSITION_SCHEMAS[name]().fields)
    labels = dict(TRANSITION_FIELD_LABELS)
    if name in REASON_LABELS:
        labels["reason"] = REASON_LABELS[name]
    defaults: dict[str, Any] = {key: today().isoformat() for key in schema_fields if key in DEFAULT_TODAY}
    if name == "request_prolongation":
        definition = plugin_service.measure_types(g.actor.tenant_id).get(measure.measure_type)
        if definition is not None:
            defaults["months"] = definition.prolongation_months or definition.max_months
    if name == "end" and measure.planned_end_date and measure.planned_end_date <= today():
        defaults["end_date"] = measure.planned_end_date.isoformat()  # the usual case: the planned term
    choices = {}
    if "operator_id" in schema_fields:
        choices["operator_id"] = operator_choices(exclude=measure.operator_id if name == "transfer" else None)
    current = {**defaults, **(values or {})}
    id_prefix = f"t-{name.replace('_', '-')}"
    found = schema_views(schema_fields, id_prefix=id_prefix, values=current, errors=errors, labels=labels,
                         choice_labels=TRANSITION_CHOICE_LABELS.get(name), choices=choices)
    found += schema_views(views.transition_fields(g.actor, measure, name), prefix="extra.", id_prefix=id_prefix,
                          values=current, errors=errors)
    return found


def render_measure(measure_id: int, *, open_form: str | None = None, values: Mapping | None = None,
                   errors: Mapping | None = None, status: int = 200):
    actor = g.actor
    measure = cases.get_measure(actor, measure_id)
    definition = plugin_service.measure_types(actor.tenant_id).get(measure.measure_type)
    actions = []
    for transition in measures.allowed_transitions(actor, measure):
        is_open = open_form == transition.name
        fields = transition_views(measure, transition.name, values=values if is_open else None,
                                  errors=errors if is_open else None)
        actions.append({"name": transition.name, "label": transition.label, "fields": fields, "open": is_open,
                        "help": TRANSITION_HELP.get(transition.name, ""),
                        "summary": summary(fields, errors or {}) if is_open else []})
    # As the services check: the département's service, or the operator of this measure.
    own = actor.has(*SERVICE_ROLES) or (actor.has(Role.OPERATOR_WORKER) and measure.operator_id in actor.organisation_ids)
    generable = []
    if own:
        if measure.operator_id:
            generable.append("contract")
        if measure.extra.get("pending_prolongation") or measure.prolongation_count:
            generable.append("prolongation_request")
        if measure.end_date:
            generable.append("bilan")
    pending = measure.extra.get("pending_prolongation")
    context = {
        "measure": measure,
        "measure_type": definition,
        "timeline": measures.timeline(actor, measure.id),
        "obligations": measures.obligations(actor, measure.id),
        "actions": actions,
        "pending_prolongation": pending,
        "documents": views.measure_documents(actor, measure),
        "generable": [(kind, MEASURE_DOCUMENTS[kind]) for kind in generable],
        "can_attach": actor.has(*ATTACHMENT_WRITERS) and measure.status is not MeasureStatus.CLOSED,
        "open_form": open_form,
        "errors": errors or {},
        "history": audit.history("measure", measure.id),
        "transition_labels": TRANSITION_LABELS,
        "reason_labels": {"end": END_REASONS, "transfer": TRANSFER_REASONS},
        "today": today(),
        "extra": extra_labels(views.measure_extra_fields(actor, measure),
                              {k: v for k, v in (measure.extra or {}).items() if k not in CORE_MEASURE_EXTRA},
                              {**views.commission_labels(actor), **views.measure_type_labels(actor)}),
        "suspended_days": int((measure.extra or {}).get("suspended_days", 0) or 0),
    }
    return render_template("measure.html", **context), status


# -- household -----------------------------------------------------------------------------
def render_household(household_id: int, *, open_form: str | None = None, values: Mapping | None = None,
                     errors: Mapping | None = None, status: int = 200):
    from asll.services.schemas import SupportMeasureSchema
    from asll.services.tenants import get_organisation

    actor = g.actor
    file = views.household_file(actor, household_id)
    support_fields = []
    can_support = actor.has(*FILING_ROLES, Role.OPERATOR_WORKER)
    if can_support:
        is_open = open_form == "support"
        support_fields = schema_views(
            SupportMeasureSchema().fields, id_prefix="sm", values=values if is_open else None,
            errors=errors if is_open else None,
            labels={"code": "Mesure", "start_date": "Depuis le", "end_date": "Jusqu'au (si elle a pris fin)",
                    "notes": "Observations"},
            choices={"code": sorted(file.support_labels.items(), key=lambda item: item[1])})
    landlord = None
    if file.household.landlord_id:
        landlord = get_organisation(file.household.landlord_id)
    context = {
        "file": file,
        "household": file.household,
        "landlord": landlord,
        "extra": extra_labels(views.household_fields(actor), file.household.extra),
        "measure_type_labels": views.measure_type_labels(actor),
        "support_fields": support_fields,
        "support_summary": summary(support_fields, errors or {}) if open_form == "support" else [],
        "can_support": can_support,
        "can_file": actor.has(*FILING_ROLES),
        "history": file.history,
        "open_form": open_form,
    }
    return render_template("household.html", **context), status
