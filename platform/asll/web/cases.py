"""Lists and actions on households, requests and measures (the detail pages are in :mod:`asll.web.main`).

Every POST first loads its object through a service (404 if the actor may not see it),
then checks the role, then calls the write service; a refused action renders the page
again with the error summary linked to the fields.
"""

from __future__ import annotations

import re

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from asll.models import MeasureStatus, OrganisationKind, RequestStatus
from asll.services import cases, decisions, documents, households, measures, requests
from asll.services import plugins as plugin_service
from asll.services import views
from asll.services.errors import Conflict, NotFound, PermissionDenied, ServiceError, ValidationFailed
from asll.services.schemas import (
    DIAGNOSTIC_FIELDS,
    MAX_MEMBERS,
    TRANSITION_SCHEMAS,
    DecisionSchema,
    HouseholdSchema,
    MemberSchema,
)
from asll.web.auth import _safe_next
from asll.web.common import (
    FILING_ROLES,
    REQUEST_ORIGINS,
    arg_int,
    arg_text,
    error_fields,
    flash_warnings,
    form_version,
    tenant_required,
)
from asll.web.fields import read_form, schema_views, summary
from asll.web.pages import MEASURE_DOCUMENTS, render_household, render_measure, render_request

bp = Blueprint("dossiers", __name__)

HOUSEHOLD_LABELS = {
    "address": "Adresse",
    "postcode": "Code postal",
    "city": "Commune",
    "sector": "Secteur",
    "housing_status": "Statut d'occupation",
    "monthly_resources": "Ressources mensuelles du ménage (en euros)",
    "resources_kind": "Nature des ressources (salaire, RSA, AAH…)",
    "family_situation": "Situation familiale",
    "landlord_id": "Bailleur",
    "landlord_consent": "Le ménage accepte que son bailleur soit informé",
}
MEMBER_LABELS = {
    "last_name": "Nom",
    "first_name": "Prénom",
    "birth_date": "Date de naissance",
    "relationship_to_reference": "Lien avec la personne de référence",
    "socio_professional_status": "Situation socioprofessionnelle",
}
REQUEST_LABELS = {
    "origin": "Origine de la demande",
    "consent_given_by": "Adhésion donnée par (nom du ou des signataires)",
    "consent_date": "Date de signature du diagnostic par le ménage",
}


# -- households --------------------------------------------------------------------------
@bp.route("/menages")
@tenant_required
def households_list():
    q = arg_text("q")
    page = views.list_households(g.actor, q=q or None, after=arg_int("apres"))
    return render_template("households.html", page=page, q=q,
                           can_create=g.actor.has(*FILING_ROLES))


def _situation_fields() -> dict:
    fields = dict(HouseholdSchema().fields)
    for name in ("members", "extra"):
        fields.pop(name)
    return fields


def _member_fields() -> dict:
    fields = dict(MemberSchema().fields)
    fields.pop("is_reference")
    return fields


def _household_form(*, values: dict, errors: dict, rows: int, editing=None):
    landlords = [(str(o.id), o.name) for o in views.organisations_of_kind(g.actor, OrganisationKind.LANDLORD)]
    situation = schema_views(_situation_fields(), id_prefix="m", values=values, errors=errors,
                             labels=HOUSEHOLD_LABELS, choices={"landlord_id": landlords},
                             hints={"postcode": "5 chiffres.", "landlord_id": "Pour l'informer de la décision, "
                                    "avec l'accord du ménage."})
    for view in situation:
        if view.name == "landlord_id":
            view.blank_choice = "— Aucun ou inconnu —"
        if view.name == "housing_status":
            view.blank_choice = "— Non renseigné —"
    members = []
    if editing is None:
        for index in range(rows):
            members.append(schema_views(_member_fields(), prefix=f"members.{index}.", id_prefix="m", values=values,
                                        errors=errors, labels=MEMBER_LABELS,
                                        required=None if index == 0 else False))
    extra = schema_views(views.household_fields(g.actor), prefix="extra.", id_prefix="m", values=values,
                         errors=errors)
    all_views = situation + [v for row in members for v in row] + extra
    # The rules on the members as a whole (how many, one reference person) point at the first row's radio.
    whole = [("reference-0" if members else "", f"Membres du ménage : {message}")
             for message in errors.get("members", [])]
    rest = {name: messages for name, messages in errors.items() if name != "members"}
    return {"situation": situation, "members": members, "extra": extra, "rows": rows,
            "reference": values.get("reference", "0"), "summary": whole + summary(all_views, rest),
            "editing": editing}


_MEMBER_ROW = re.compile(r"members\.([0-9]+)\.")


def _read_members(form) -> tuple[list[dict], dict, int]:
    """The non-empty member rows (re-numbered), their values for re-display, and the rows to show.

    Every posted row is read, whatever the hidden row count says, so that a household over
    ``MAX_MEMBERS`` is refused by the service instead of being cut short here. The radio of a
    row designates the reference person; pointing at a blank row designates nobody, and two
    values (a tampered form) designate two people: the service refuses both, unless a single
    person was entered, who is then the reference whatever the radio says.
    """
    rows = min(arg_int("rows", form) or 2, MAX_MEMBERS)  # a hidden input: anything but a count falls back to 2
    indices = sorted({m.group(1) for key in form.keys() if (m := _MEMBER_ROW.match(key))}, key=int)
    chosen = set(form.getlist("reference")) if "reference" in form else {"0"}
    fields = _member_fields()
    members, values = [], {}
    new_reference = None
    for index in indices:
        data = read_form(fields, form, prefix=f"members.{index}.")
        if not data:
            continue
        position = len(members)
        if index in chosen and new_reference is None:
            new_reference = str(position)
        members.append({**data, "is_reference": index in chosen})
        values.update({f"members.{position}.{k}": v for k, v in data.items()})
    if len(members) == 1:
        members[0]["is_reference"], new_reference = True, "0"
    # Nobody typed yet: the first row stays checked, as on a blank form; else the choice, or none.
    values["reference"] = new_reference if new_reference is not None else ("" if members else "0")
    return members, values, rows


@bp.route("/menages/nouveau", methods=["GET", "POST"])
@tenant_required
def household_new():
    if not g.actor.has(*FILING_ROLES):
        abort(403)
    if request.method == "GET":
        return render_template("household_form.html", form=_household_form(values={}, errors={}, rows=3))
    form = request.form
    members, values, rows = _read_members(form)
    situation = read_form(_situation_fields(), form)
    extra = read_form(views.household_fields(g.actor), form, prefix="extra.")
    values.update(situation)
    values.update({f"extra.{k}": v for k, v in extra.items()})
    if "add_rows" in form:
        shown = max(min(rows + 2, MAX_MEMBERS), len(members))
        return render_template("household_form.html", form=_household_form(values=values, errors={}, rows=shown))
    try:
        household = requests.create_household(g.actor, {**situation, "members": members, "extra": extra})
    except ServiceError as exc:
        return render_template("household_form.html",
                               form=_household_form(values=values, errors=error_fields(exc),
                                                    rows=max(rows, len(members), 1)),
                               error_title=exc.message), 422
    flash(f"Ménage {household.reference} créé.", "success")
    return redirect(url_for("main.household", household_id=household.id))


@bp.route("/menages/<int:household_id>/modifier", methods=["GET", "POST"])
@tenant_required
def household_edit(household_id: int):
    # The form shows the whole household record: reading it is audited like its page.
    household = households.get_household(g.actor, household_id,
                                         log_read=request.method == "GET" and g.actor.has(*FILING_ROLES))
    if not g.actor.has(*FILING_ROLES):
        abort(403)
    if request.method == "GET":
        values = {name: getattr(household, name) for name in _situation_fields()}
        values.update({f"extra.{k}": v for k, v in (household.extra or {}).items()})
        return render_template("household_form.html",
                               form=_household_form(values=values, errors={}, rows=0, editing=household))
    situation = read_form(_situation_fields(), request.form)
    extra = read_form(views.household_fields(g.actor), request.form, prefix="extra.")
    values = {**situation, **{f"extra.{k}": v for k, v in extra.items()}}
    data = dict(situation)
    if extra:
        data["extra"] = extra
    try:
        requests.update_household(g.actor, household.id, data)
    except ServiceError as exc:
        return render_template("household_form.html",
                               form=_household_form(values=values, errors=error_fields(exc), rows=0,
                                                    editing=household), error_title=exc.message), 422
    flash("Situation du ménage enregistrée.", "success")
    return redirect(url_for("main.household", household_id=household.id))


@bp.route("/menages/<int:household_id>/autres-mesures", methods=["POST"])
@tenant_required
def household_support(household_id: int):
    households.get_household(g.actor, household_id, log_read=False)
    from asll.services.schemas import SupportMeasureSchema

    data = read_form(SupportMeasureSchema().fields, request.form)
    try:
        requests.add_support_measure(g.actor, household_id, data)
    except ServiceError as exc:
        return render_household(household_id, open_form="support", values=data, errors=error_fields(exc),
                                status=exc.status)
    flash("Mesure d'accompagnement enregistrée.", "success")
    return redirect(url_for("main.household", household_id=household_id, _anchor="autres-mesures"))


# -- requests ----------------------------------------------------------------------------
@bp.route("/demandes")
@tenant_required
def requests_list():
    actor = g.actor
    status = arg_text("etat")
    status = status if status in {s.value for s in RequestStatus} else ""
    measure_type = arg_text("type", 64)
    commission = arg_text("commission", 64)
    q = arg_text("q")
    mine = request.args.get("miennes") == "1"
    page = views.list_requests(actor, status=status or None, measure_type=measure_type or None,
                               commission=commission or None, q=q or None, mine=mine, after=arg_int("apres"))
    filters = {"etat": status, "type": measure_type, "commission": commission, "q": q,
               "miennes": "1" if mine else ""}
    return render_template("requests.html", page=page, filters={k: v for k, v in filters.items() if v},
                           statuses=list(RequestStatus), types=views.measure_type_labels(actor),
                           commissions=views.commission_labels(actor), can_create=actor.has(*FILING_ROLES))


def _request_fields(measure_type: str | None, values: dict, errors: dict, requires_diagnostic: bool):
    from asll.services.schemas import RequestSchema

    base = RequestSchema().fields
    general = schema_views({"origin": base["origin"]}, id_prefix="r", values=values, errors=errors,
                           labels=REQUEST_LABELS, choices={"origin": list(REQUEST_ORIGINS.items())})
    general[0].blank_choice = "— Non précisée —"
    diagnostic = schema_views(base["diagnostic"].schema.fields, prefix="diagnostic.", id_prefix="r",
                              values=values, errors=errors, labels=DIAGNOSTIC_FIELDS, required=False)
    consent = schema_views({"consent_given_by": base["consent_given_by"], "consent_date": base["consent_date"]},
                           id_prefix="r", values=values, errors=errors, labels=REQUEST_LABELS)
    extra = schema_views(views.request_fields(g.actor, measure_type), prefix="extra.", id_prefix="r",
                         values=values, errors=errors)
    return {"general": general, "diagnostic": diagnostic, "consent": consent, "extra": extra,
            "requires_diagnostic": requires_diagnostic,
            "summary": summary(general + diagnostic + consent + extra, errors)}


def _read_request(measure_type: str | None, form) -> tuple[dict, dict]:
    from asll.services.schemas import RequestSchema

    base = RequestSchema().fields
    data = read_form({"origin": base["origin"], "consent_given_by": base["consent_given_by"],
                      "consent_date": base["consent_date"]}, form)
    diagnostic = read_form(base["diagnostic"].schema.fields, form, prefix="diagnostic.")
    extra = read_form(views.request_fields(g.actor, measure_type), form, prefix="extra.")
    values = {**data, **{f"diagnostic.{k}": v for k, v in diagnostic.items()},
              **{f"extra.{k}": v for k, v in extra.items()}}
    if diagnostic:
        data["diagnostic"] = diagnostic
    data["extra"] = extra
    return data, values


def _request_errors(exc: ServiceError, values: dict) -> dict:
    """The service's errors, with "diagnostic missing" spelled out on each empty section."""
    errors = error_fields(exc)
    whole = errors.pop("diagnostic", None)
    if whole:
        for key in DIAGNOSTIC_FIELDS:
            if not values.get(f"diagnostic.{key}"):
                errors.setdefault(f"diagnostic.{key}", []).append("Rubrique obligatoire pour déposer la demande.")
    return errors


def _render_request_form(*, household, measure_type: str, values: dict, errors: dict, req=None,
                         error_title: str | None = None, status: int = 200):
    definition = plugin_service.measure_types(g.actor.tenant_id).get(measure_type)
    commission = plugin_service.commissions(g.actor.tenant_id).get(definition.commission or "") if definition else None
    form = _request_fields(measure_type, values, errors, definition.requires_diagnostic if definition else True)
    return render_template("request_form.html", household=household, measure_type=definition,
                           commission=commission, form=form, req=req, error_title=error_title), status


def _save_request(*, household, measure_type: str, req=None):
    data, values = _read_request(measure_type, request.form)
    try:
        if req is None:
            req = requests.save_draft(g.actor, {**data, "household_id": household.id, "measure_type": measure_type})
        else:
            req = requests.save_draft(g.actor, data, request_id=req.id, expected=form_version())
    except ServiceError as exc:
        return _render_request_form(household=household, measure_type=measure_type, values=values,
                                    errors=_request_errors(exc, values), req=req, error_title=exc.message,
                                    status=exc.status)
    if "submit" not in request.form:
        flash(f"Brouillon {req.reference} enregistré.", "success")
        return redirect(url_for("main.request_detail", request_id=req.id))
    try:
        requests.submit(g.actor, req.id)
    except ServiceError as exc:
        return _render_request_form(
            household=household, measure_type=measure_type, values=values, errors=_request_errors(exc, values),
            req=req,
            error_title=f"Brouillon {req.reference} enregistré, mais la demande ne peut pas encore être déposée : "
                        f"{exc.message}", status=exc.status)
    flash(f"Demande {req.reference} déposée.", "success")
    return redirect(url_for("main.request_detail", request_id=req.id))


@bp.route("/demandes/nouvelle", methods=["GET", "POST"])
@tenant_required
def request_new():
    actor = g.actor
    if not actor.has(*FILING_ROLES):
        abort(403)
    source = request.form if request.method == "POST" else request.args
    household_id = arg_int("household_id", source)
    measure_type = (source.get("measure_type") or "").strip()
    types = plugin_service.measure_types(actor.tenant_id)
    household = None
    if household_id is not None:
        household = households.get_household(actor, household_id, log_read=False)
    if household is None or measure_type not in types:
        # Step 1: the household and the measure type decide which fields the form has.
        errors = {}
        if request.args.get("etape") == "1" or request.method == "POST":  # a choice was made, not a first visit
            if household is None:
                errors["household_id"] = ["Choisissez le ménage concerné."]
            if measure_type not in types:
                errors["measure_type"] = ["Choisissez le type de mesure demandé."]
        return render_template("request_start.html", households=views.filing_households(actor),
                               household=household, types=types, measure_type=measure_type, errors=errors,
                               commissions=plugin_service.commissions(actor.tenant_id)), 422 if errors else 200
    if request.method == "GET":
        return _render_request_form(household=household, measure_type=measure_type, values={}, errors={})
    return _save_request(household=household, measure_type=measure_type)


def _stored_request_values(req) -> dict:
    values = {"origin": req.origin, "consent_given_by": req.consent_given_by, "consent_date": req.consent_date}
    values.update({f"diagnostic.{k}": v for k, v in (req.diagnostic or {}).items()})
    values.update({f"extra.{k}": v for k, v in (req.extra or {}).items()})
    return values


@bp.route("/demandes/<int:request_id>/modifier", methods=["GET", "POST"])
@tenant_required
def request_edit(request_id: int):
    req = cases.get_request(g.actor, request_id, log_read=request.method == "GET")
    if not g.actor.has(*FILING_ROLES):
        abort(403)
    if req.status is not RequestStatus.DRAFT:
        flash("Seul un brouillon peut être modifié.", "error")
        return redirect(url_for("main.request_detail", request_id=req.id))
    if request.method == "GET":
        return _render_request_form(household=req.household, measure_type=req.measure_type,
                                    values=_stored_request_values(req), errors={}, req=req)
    return _save_request(household=req.household, measure_type=req.measure_type, req=req)


@bp.route("/demandes/<int:request_id>/depot", methods=["POST"])
@tenant_required
def request_submit(request_id: int):
    req = cases.get_request(g.actor, request_id, log_read=False)
    try:
        requests.submit(g.actor, req.id, form_version())
    except ValidationFailed as exc:
        values = _stored_request_values(req)
        return _render_request_form(household=req.household, measure_type=req.measure_type,
                                    values=values, errors=_request_errors(exc, values), req=req,
                                    error_title=f"La demande ne peut pas encore être déposée : {exc.message}",
                                    status=exc.status)
    flash(f"Demande {req.reference} déposée.", "success")
    return redirect(url_for("main.request_detail", request_id=req.id))


@bp.route("/demandes/<int:request_id>/retrait", methods=["POST"])
@tenant_required
def request_withdraw(request_id: int):
    req = cases.get_request(g.actor, request_id, log_read=False)
    reason = (request.form.get("reason") or "").strip()
    try:
        requests.withdraw(g.actor, req.id, reason, form_version())
    except ValidationFailed as exc:
        return render_request(req.id, open_form="withdraw", values={"reason": reason}, errors=error_fields(exc),
                              status=exc.status)
    flash(f"Demande {req.reference} retirée.", "success")
    return redirect(url_for("main.request_detail", request_id=req.id))


@bp.route("/demandes/<int:request_id>/decision", methods=["POST"])
@tenant_required
def request_decide(request_id: int):
    req = cases.get_request(g.actor, request_id, log_read=False)
    # Once decided, the service says so (a 409 for a second click), not a 403 as if it were not ours.
    if req.status is RequestStatus.SUBMITTED and not views.decides_alone(g.actor, req):
        abort(403)
    data = read_form({k: f for k, f in DecisionSchema().fields.items() if k != "extra"}, request.form)
    extra = read_form(views.grant_fields(g.actor, req), request.form, prefix="extra.")
    values = {**data, **{f"extra.{k}": v for k, v in extra.items()}}
    if data.get("outcome") == "granted":  # the plugins' fields belong to a grant only
        data["extra"] = extra
    try:
        decision = decisions.decide_alone(g.actor, req.id, data, form_version())
    except Conflict:
        raise  # the form is gone or stale: the error page says so and offers the page again
    except ServiceError as exc:
        return render_request(req.id, open_form="decision", values=values, errors=error_fields(exc),
                              status=exc.status)
    flash(f"Décision enregistrée : {decision.outcome.label.lower()}.", "success")
    flash_warnings(decision.warnings)
    return redirect(url_for("main.request_detail", request_id=req.id, _anchor="decisions"))


@bp.route("/demandes/<int:request_id>/notifications", methods=["POST"])
@tenant_required
def request_letters(request_id: int):
    """Generate the notification letters of one decision of the request."""
    decisions_of_request = {d.id: d for d in views.request_decisions(g.actor, request_id)}
    decision_id = arg_int("decision_id", request.form)
    if decision_id not in decisions_of_request:
        abort(404)
    letters = documents.decision_letters(g.actor, decision_id, form_version())
    flash(f"{len(letters)} notification(s) de décision éditée(s).", "success")
    back = _safe_next(request.form.get("next"))
    return redirect(back or url_for("main.request_detail", request_id=request_id, _anchor="documents"))


@bp.route("/demandes/<int:request_id>/pieces-jointes", methods=["POST"])
@tenant_required
def request_attach(request_id: int):
    req = cases.get_request(g.actor, request_id, log_read=False)
    upload = request.files.get("file")
    try:
        if upload is None or not upload.filename:
            raise ValidationFailed({"file": ["Choisissez un fichier."]}, "Choisissez un fichier.")
        document = documents.attach(g.actor, request_id=req.id, filename=upload.filename, stream=upload.stream,
                                    content_type=upload.mimetype)
    except ValidationFailed as exc:
        return render_request(req.id, open_form="upload", errors=error_fields(exc), status=exc.status)
    flash(f"Pièce jointe « {document.title} » ajoutée.", "success")
    return redirect(url_for("main.request_detail", request_id=req.id, _anchor="documents"))


# -- measures ----------------------------------------------------------------------------
@bp.route("/mesures")
@tenant_required
def measures_list():
    actor = g.actor
    status = arg_text("etat")
    status = status if status in {s.value for s in MeasureStatus} else ""
    measure_type = arg_text("type", 64)
    operator_id = arg_int("operateur")
    q = arg_text("q")
    page = views.list_measures(actor, status=status or None, measure_type=measure_type or None,
                               operator_id=operator_id, q=q or None, after=arg_int("apres"))
    filters = {"etat": status, "type": measure_type, "operateur": str(operator_id) if operator_id else "", "q": q}
    return render_template("measures.html", page=page, filters={k: v for k, v in filters.items() if v},
                           statuses=list(MeasureStatus), types=views.measure_type_labels(actor),
                           operators=views.organisations_of_kind(actor, OrganisationKind.OPERATOR, active_only=False))


@bp.route("/mesures/<int:measure_id>/actions", methods=["POST"])
@tenant_required
def measure_transition(measure_id: int):
    measure = measures.visible_measure(g.actor, measure_id)
    name = request.form.get("transition", "")
    if name not in TRANSITION_SCHEMAS:
        abort(400)
    data = read_form(TRANSITION_SCHEMAS[name]().fields, request.form)
    data["extra"] = read_form(views.transition_fields(g.actor, measure, name), request.form, prefix="extra.")
    values = {**{k: v for k, v in data.items() if k != "extra"},
              **{f"extra.{k}": v for k, v in data["extra"].items()}}
    try:
        measure, warnings = measures.transition(g.actor, measure.id, name, data, form_version())
    except Conflict:
        raise  # the form is gone or stale: the error page says so and offers the page again
    except ServiceError as exc:
        return render_measure(measure_id, open_form=name, values=values, errors=error_fields(exc),
                              status=exc.status)
    flash_warnings(warnings)
    flash(f"Action enregistrée. État de la mesure : {measure.status.label}.", "success")
    return redirect(url_for("main.measure", measure_id=measure.id))


@bp.route("/mesures/<int:measure_id>/documents", methods=["POST"])
@tenant_required
def measure_document(measure_id: int):
    measure = measures.visible_measure(g.actor, measure_id)
    kind = request.form.get("kind", "")
    generate = {"contract": documents.contract, "prolongation_request": documents.prolongation_request,
                "bilan": documents.bilan}.get(kind)
    if generate is None:
        abort(400)
    try:
        document = generate(g.actor, measure.id, form_version())
    except ServiceError as exc:
        if isinstance(exc, NotFound | PermissionDenied | Conflict):
            raise
        flash(exc.message, "error")
        return redirect(url_for("main.measure", measure_id=measure.id, _anchor="documents"))
    flash(f"{MEASURE_DOCUMENTS[kind]} généré : {document.filename}.", "success")
    return redirect(url_for("main.measure", measure_id=measure.id, _anchor="documents"))


@bp.route("/mesures/<int:measure_id>/pieces-jointes", methods=["POST"])
@tenant_required
def measure_attach(measure_id: int):
    measure = measures.visible_measure(g.actor, measure_id)
    upload = request.files.get("file")
    try:
        if upload is None or not upload.filename:
            raise ValidationFailed({"file": ["Choisissez un fichier."]}, "Choisissez un fichier.")
        document = documents.attach(g.actor, measure_id=measure.id, filename=upload.filename, stream=upload.stream,
                                    content_type=upload.mimetype)
    except ValidationFailed as exc:
        return render_measure(measure.id, open_form="upload", errors=error_fields(exc), status=exc.status)
    flash(f"Pièce jointe « {document.title} » ajoutée.", "success")
    return redirect(url_for("main.measure", measure_id=measure.id, _anchor="documents"))
