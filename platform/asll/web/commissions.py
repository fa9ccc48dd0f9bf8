"""Commission sessions: programme, agenda, batch decisions, attendance and minutes."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from wtforms.fields.choices import SelectChoice

from asll.models import RequestStatus, SessionStatus
from asll.services import admin as admin_service
from asll.services import decisions, documents, views
from asll.services.access import served_commissions, serves
from asll.services.concurrency import check_fresh
from asll.services.errors import Conflict, NotFound, PermissionDenied, ServiceError, ValidationFailed
from asll.services.schemas import DecisionSchema
from asll.web.common import (
    SECRETARIAT,
    add_form_errors,
    arg_int,
    arg_text,
    error_fields,
    form_version,
    parse_id,
    tenant_required,
)
from asll.web.fields import flatten_errors, read_form, summary
from asll.web.forms import AttendanceForm, EmptyForm, SessionForm
from asll.web.pages import decision_views, operator_choices

bp = Blueprint("commissions", __name__, url_prefix="/commissions")

NO_DECISION = "— À décider —"


def _session_form() -> SessionForm:
    form = SessionForm()
    served = served_commissions(g.actor)  # None: all
    form.commission_code.choices = [SelectChoice("", "— Choisir —")] + [
        SelectChoice(c.code, c.label) for c in views.session_commissions(g.actor) if served is None or c.code in served]
    return form


def _render_list(form: SessionForm | None = None, status: int = 200):
    actor = g.actor
    commission = arg_text("commission", 64)
    state = arg_text("etat")
    state = state if state in {s.value for s in SessionStatus} else ""
    page = views.list_sessions(actor, commission=commission or None, status=state or None, after=arg_int("apres"))
    filters = {k: v for k, v in {"commission": commission, "etat": state}.items() if v}
    return render_template(
        "commissions/sessions.html", page=page, filters=filters, form=form or _session_form(),
        commissions=views.session_commissions(actor), labels=views.commission_labels(actor),
        pending=views.pending_counts(actor), can_program=actor.has(*SECRETARIAT), statuses=list(SessionStatus),
    ), status


@bp.route("")
@tenant_required
def sessions():
    if not views.may_read_sessions(g.actor):
        abort(403)
    return _render_list()


@bp.route("/seances", methods=["POST"])
@tenant_required
def session_create():
    if not g.actor.has(*SECRETARIAT):
        abort(403)
    form = _session_form()
    if not form.validate_on_submit():
        return _render_list(form, 422)
    try:
        session = decisions.create_session(g.actor, {"commission_code": form.commission_code.data,
                                                     "session_date": form.session_date.data.isoformat(),
                                                     "location": form.location.data or ""})
    except ValidationFailed as exc:
        add_form_errors(form, exc)
        return _render_list(form, exc.status)
    flash("Séance programmée. Composez maintenant son ordre du jour.", "success")
    return redirect(url_for("commissions.session", session_id=session.id))


def render_session(session_id: int, *, values: dict | None = None, errors: dict | None = None,
                   attendance: AttendanceForm | None = None, agenda_errors: list[str] | None = None,
                   status: int = 200):
    actor = g.actor
    file = views.session_file(actor, session_id)
    secretariat = actor.has(*SECRETARIAT) and serves(actor, file.session.commission_code)
    to_decide = []
    all_fields = []
    if secretariat:
        operators = operator_choices()
        for item in file.items:
            req = item.request
            if req.status is not RequestStatus.SCHEDULED:
                continue
            fields = decision_views(req, prefix=f"d{req.id}.", id_prefix="dec", values=values,
                                    errors=errors, in_session=True, blank_outcome=NO_DECISION, operators=operators)
            all_fields += fields
            to_decide.append({"item": item, "req": req, "fields": fields,
                              "errors": (errors or {}).get(f"d{req.id}._schema", [])})
    if attendance is None:
        attendance = AttendanceForm(formdata=None, members_present=file.session.members_present)
    return render_template(
        "commissions/session.html", file=file, session=file.session, to_decide=to_decide,
        decision_summary=summary(all_fields, errors or {}) if errors else [],
        secretariat=secretariat, attendance=attendance, agenda_errors=agenda_errors or [],
        types=views.measure_type_labels(actor), empty_form=EmptyForm(),
    ), status


@bp.route("/seances/<int:session_id>")
@tenant_required
def session(session_id: int):
    return render_session(session_id)


@bp.route("/seances/<int:session_id>/ordre-du-jour", methods=["POST"])
@tenant_required
def session_agenda(session_id: int):
    session = views.get_session(g.actor, session_id)
    if not g.actor.has(*SECRETARIAT):
        abort(403)
    posted = request.form.getlist("request_ids")
    request_ids = [i for i in map(parse_id, posted) if i is not None]
    if len(request_ids) != len(posted):  # a forged or garbled id: refuse the whole form, never drop it silently
        return render_session(session.id, agenda_errors=["Identifiant de demande invalide."], status=422)
    if not request_ids:
        return render_session(session.id, agenda_errors=["Cochez au moins une demande à inscrire."], status=422)
    try:
        decisions.build_agenda(g.actor, session.id, request_ids, form_version())
    except ValidationFailed as exc:
        return render_session(session.id, agenda_errors=[m for ms in error_fields(exc).values() for m in ms],
                              status=exc.status)
    flash(f"{len(request_ids)} demande(s) inscrite(s) à l'ordre du jour.", "success")
    return redirect(url_for("commissions.session", session_id=session.id, _anchor="ordre-du-jour"))


@bp.route("/seances/<int:session_id>/decisions", methods=["POST"])
@tenant_required
def session_decide(session_id: int):
    session = views.get_session(g.actor, session_id)
    if not g.actor.has(*SECRETARIAT):
        abort(403)
    # A second click finds the requests decided: say it was decided meanwhile, not "choose a decision".
    check_fresh(session, form_version(), decisions.DECISIONS_CHANGED)
    core_fields = {k: f for k, f in DecisionSchema().fields.items() if k not in ("extra", "decision_date")}
    batch, values, by_reference = {}, {}, {}
    for item in session.items:
        req = item.request
        if req.status is not RequestStatus.SCHEDULED:
            continue
        prefix = f"d{req.id}."
        data = read_form(core_fields, request.form, prefix=prefix)
        extra = read_form(views.grant_fields(g.actor, req), request.form, prefix=f"{prefix}extra.")
        values.update({f"{prefix}{k}": v for k, v in data.items()})
        values.update({f"{prefix}extra.{k}": v for k, v in extra.items()})
        by_reference[req.reference] = req.id
        if data.get("outcome") == "granted":  # the plugins' fields belong to a grant only
            batch[req.id] = {**data, "extra": extra}
        elif data.get("outcome"):
            batch[req.id] = data
    if not batch:
        first = next(iter(by_reference.values()), None)
        errors = {f"d{first}.outcome": ["Choisissez au moins une décision."]} if first else {}
        return render_session(session.id, values=values, errors=errors, status=422)
    try:
        recorded = decisions.decide_in_session(g.actor, session.id, batch, form_version())
    except ValidationFailed as exc:
        errors: dict[str, list[str]] = {}
        for reference, problems in exc.fields.items():
            request_id = by_reference.get(reference)
            if request_id is None:
                errors.setdefault("_schema", []).extend(map(str, problems if isinstance(problems, list)
                                                            else [problems]))
            elif isinstance(problems, dict):
                errors.update(flatten_errors(problems, f"d{request_id}."))
            else:
                errors.setdefault(f"d{request_id}.outcome", []).extend(map(str, problems))
        return render_session(session.id, values=values, errors=errors, status=exc.status)
    flash(f"{len(recorded)} décision(s) enregistrée(s). Éditez maintenant les notifications.", "success")
    references = {request_id: reference for reference, request_id in by_reference.items()}
    for decision in recorded:
        for warning in decision.warnings:  # non-blocking rules (sector, capacity...), per request
            flash(f"Attention ({references.get(decision.request_id, '')}) : {warning.message}", "warning")
    return redirect(url_for("commissions.session", session_id=session.id, _anchor="decisions"))


@bp.route("/seances/<int:session_id>/presences", methods=["POST"])
@tenant_required
def session_attendance(session_id: int):
    session = views.get_session(g.actor, session_id)
    if not g.actor.has(*SECRETARIAT):
        abort(403)
    form = AttendanceForm()
    if not form.validate_on_submit():
        return render_session(session.id, attendance=form, status=422)
    admin_service.record_attendance(g.actor, session.id, form.members_present.data or "", form_version())
    flash("Présences enregistrées.", "success")
    return redirect(url_for("commissions.session", session_id=session.id, _anchor="presences"))


@bp.route("/seances/<int:session_id>/proces-verbal", methods=["POST"])
@tenant_required
def session_minutes(session_id: int):
    session = views.get_session(g.actor, session_id)
    try:
        document = documents.minutes(g.actor, session.id, form_version())
    except ServiceError as exc:
        if isinstance(exc, NotFound | PermissionDenied | Conflict):
            raise
        flash(exc.message, "error")
        return redirect(url_for("commissions.session", session_id=session.id, _anchor="documents"))
    flash(f"Procès-verbal généré : {document.filename}.", "success")
    return redirect(url_for("commissions.session", session_id=session.id, _anchor="documents"))
