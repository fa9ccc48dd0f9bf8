"""Département administration: organisations, users and roles, plugin settings."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from wtforms.fields.choices import SelectChoice

from asll.models import Role
from asll.services import admin as admin_service
from asll.services import plugins as plugin_service
from asll.services import tenants, views
from asll.services.errors import ServiceError, ValidationFailed
from asll.web.common import add_form_errors, arg_int, error_fields, parse_id, tenant_required
from asll.web.fields import read_form, schema_views, summary
from asll.web.forms import EmptyForm, MemberForm

bp = Blueprint("gestion", __name__, url_prefix="/administration")

ORGANISATION_LABELS = {
    "name": "Nom",
    "kind": "Nature",
    "sectors": "Secteurs d'intervention",
    "capacity": "Capacité",
    "capacity_unit": "Unité de la capacité",
    "reinforced_capacity": "Dont suivis renforcés",
    "address": "Adresse",
    "phone": "Téléphone",
    "email": "Adresse électronique",
    "description": "Description",
    "active": "Organisme actif (proposé dans les formulaires)",
    "commission_codes": "Commissions servies (secrétariat de commission)",
}
CAPACITY_UNIT_LABELS = {"month": "ménages par mois", "year": "ménages par an"}


def _admin_only() -> None:
    if not g.actor.has(Role.DEPT_ADMIN):
        abort(403)


@bp.route("")
@tenant_required
def index():
    _admin_only()
    return render_template("gestion/index.html", plugins=views.enabled_plugin_labels(g.actor),
                           organisations=len(views.all_organisations(g.actor)))


# -- organisations ----------------------------------------------------------------------
def _organisation_fields(values: dict, errors: dict, id_prefix: str):
    fields = admin_service.organisation_schema(g.actor).fields
    return schema_views(fields, id_prefix=id_prefix, values=values, errors=errors, labels=ORGANISATION_LABELS,
                        choice_labels={"capacity_unit": CAPACITY_UNIT_LABELS},
                        hints={"sectors": "Séparés par des virgules (ex. : Roanne, Forez).",
                               "capacity": "Nombre de ménages suivis en même temps, selon la convention.",
                               "commission_codes": "Pour un secrétariat : les commissions dont ses membres programment "
                                                   "les séances et enregistrent les décisions, et dont ils reçoivent "
                                                   "les rappels. Aucune cochée : toutes les commissions."})


def _render_organisations(values: dict | None = None, errors: dict | None = None, status: int = 200):
    fields = _organisation_fields(values or {"kind": "operator", "capacity_unit": "month", "active": True},
                                  errors or {}, "org")
    return render_template("gestion/organisations.html", organisations=views.all_organisations(g.actor),
                           fields=fields, summary=summary(fields, errors or {}), open_form=bool(errors)), status


@bp.route("/organismes", methods=["GET"])
@tenant_required
def organisations():
    _admin_only()
    return _render_organisations()


@bp.route("/organismes", methods=["POST"])
@tenant_required
def organisation_create():
    _admin_only()
    data = read_form(admin_service.organisation_schema(g.actor).fields, request.form)
    try:
        organisation = admin_service.create_organisation(g.actor, data)
    except ValidationFailed as exc:
        return _render_organisations(values=data, errors=error_fields(exc), status=exc.status)
    flash(f"Organisme « {organisation.name} » créé.", "success")
    return redirect(url_for("gestion.organisations"))


@bp.route("/organismes/<int:organisation_id>", methods=["GET", "POST"])
@tenant_required
def organisation_edit(organisation_id: int):
    organisation = tenants.get_organisation(organisation_id)
    if organisation is None:
        abort(404)
    _admin_only()
    errors: dict = {}
    values = {name: getattr(organisation, name) for name in admin_service.ORGANISATION_FIELDS}
    status = 200
    if request.method == "POST":
        values = read_form(admin_service.organisation_schema(g.actor).fields, request.form)
        try:
            admin_service.update_organisation(g.actor, organisation.id, values)
        except ValidationFailed as exc:
            errors, status = error_fields(exc), exc.status
        else:
            flash(f"Organisme « {organisation.name} » enregistré.", "success")
            return redirect(url_for("gestion.organisations"))
    fields = _organisation_fields(values, errors, "org-edit")
    return render_template("gestion/organisation_form.html", organisation=organisation, fields=fields,
                           summary=summary(fields, errors)), status


# -- users ------------------------------------------------------------------------------
def _member_form() -> MemberForm:
    form = MemberForm()
    form.role.choices = [SelectChoice("", "— Choisir —")] + [SelectChoice(r.value, r.label) for r in Role]
    form.organisation_id.choices = [SelectChoice("", "— Aucun —")] + [
        SelectChoice(str(o.id), f"{o.name} ({o.kind.label})") for o in views.all_organisations(g.actor) if o.active]
    return form


def _render_users(form: MemberForm | None = None, status: int = 200):
    page = views.tenant_members(g.actor, after=arg_int("apres"))
    return render_template("gestion/users.html", page=page, form=form or _member_form(), toggle=EmptyForm(),
                           open_form=form is not None), status


@bp.route("/utilisateurs", methods=["GET"])
@tenant_required
def users():
    _admin_only()
    return _render_users()


@bp.route("/utilisateurs", methods=["POST"])
@tenant_required
def user_create():
    _admin_only()
    form = _member_form()
    if not form.validate_on_submit():
        return _render_users(form, 422)
    email = (form.email.data or "").strip().lower()
    try:
        invited = admin_service.add_member(g.actor, {
            "email": email, "full_name": form.full_name.data,
            "role": form.role.data, "organisation_id": parse_id(form.organisation_id.data)})
    except ValidationFailed as exc:
        add_form_errors(form, exc)
        return _render_users(form, exc.status)
    # The same words whether the email had an account or not (in another département, say).
    role = invited.membership.role.label
    if invited.sent.ok:
        flash(f"Invitation envoyée à {email} ({role}).", "success")
    else:
        flash(f"Rôle « {role} » donné à {email}. {invited.sent.problem}", "warning")
    return redirect(url_for("gestion.users"))


@bp.route("/utilisateurs/invitation", methods=["POST"])
@tenant_required
def user_invite_again():
    """Send a new invitation link to a member who has not chosen a password yet."""
    membership_id = _admin_button("membership_id")
    try:
        sent = admin_service.resend_invitation(g.actor, membership_id)
    except ServiceError as exc:
        if exc.status == 404:
            raise
        flash(exc.message, "error")
        return redirect(url_for("gestion.users"))
    flash("Nouvelle invitation envoyée ; le lien précédent ne fonctionne plus." if sent.ok else sent.problem,
          "success" if sent.ok else "warning")
    return redirect(url_for("gestion.users"))


def _admin_button(id_field: str) -> int:
    """The id posted by an admin's one-button form (CSRF checked), or 400."""
    _admin_only()
    form = EmptyForm()
    object_id = arg_int(id_field, request.form)
    if not form.validate_on_submit() or object_id is None:
        abort(400)
    return object_id


@bp.route("/utilisateurs/habilitation", methods=["POST"])
@tenant_required
def user_toggle():
    membership_id = _admin_button("membership_id")
    active = request.form.get("active") == "1"
    try:
        membership = admin_service.set_membership_active(g.actor, membership_id, active)
    except ServiceError as exc:
        if exc.status == 404:
            raise
        flash(exc.message, "error")
        return redirect(url_for("gestion.users"))
    flash(f"Rôle « {membership.role.label} » de {membership.user.full_name} "
          f"{'réactivé' if membership.active else 'suspendu'}.", "success")
    return redirect(url_for("gestion.users"))


# -- plugin settings --------------------------------------------------------------------
def _settings_views(errors_for: str | None = None, values: dict | None = None, errors: dict | None = None):
    result = []
    for settings in views.plugin_settings(g.actor):
        current = {f"{settings.name}.{k}": v for k, v in settings.values.items()}
        mine = settings.name == errors_for
        if mine and values is not None:
            current.update({f"{settings.name}.{k}": v for k, v in values.items()})
        prefixed_errors = {f"{settings.name}.{k}": v for k, v in (errors or {}).items()} if mine else {}
        fields = schema_views(settings.schema().fields, prefix=f"{settings.name}.", id_prefix="p", values=current,
                              errors=prefixed_errors)
        result.append({"name": settings.name, "label": settings.label, "fields": fields,
                       "summary": summary(fields, prefixed_errors)})
    return result


@bp.route("/parametres", methods=["GET", "POST"])
@tenant_required
def settings():
    _admin_only()
    if request.method == "GET":
        return render_template("gestion/settings.html", plugins=_settings_views())
    plugin = request.form.get("plugin", "")
    found = {s.name: s for s in views.plugin_settings(g.actor)}
    if plugin not in found:
        abort(404)
    data = read_form(found[plugin].schema().fields, request.form, prefix=f"{plugin}.")
    try:
        plugin_service.update_settings(g.actor, plugin, data)
    except ValidationFailed as exc:
        return render_template("gestion/settings.html",
                               plugins=_settings_views(plugin, data, error_fields(exc))), exc.status
    flash(f"Paramètres de « {found[plugin].label} » enregistrés.", "success")
    return redirect(url_for("gestion.settings"))


# -- reminder delays (asll.services.reminders) ------------------------------------------
def _parse_steps(raw: str) -> list[int]:
    """"-15, -3, 0" → [-15, -3, 0]; anything else is refused with a French message."""
    parts = [part.strip().replace("\u2212", "-") for part in (raw or "").replace(";", ",").split(",") if part.strip()]
    try:
        return [int(part) for part in parts]
    except ValueError:
        raise ValidationFailed({"steps": ["Indiquez des nombres entiers de jours séparés par des virgules "
                                          "(ex. : -15, -3, 0)."]}) from None


def _render_reminders(raw: str | None = None, errors: list[str] | None = None, status: int = 200):
    from asll.services import reminders

    current = reminders.reminder_settings(g.actor)
    value = raw if raw is not None else ", ".join(str(step) for step in current["steps"])
    return render_template("gestion/reminders.html", current=current, value=value, errors=errors or [],
                           problems=reminders.delivery_problems(g.actor)), status


@bp.route("/rappels", methods=["GET", "POST"])
@tenant_required
def reminders():
    """The tenant's reminder delays: the plugins' default, or the admin's own."""
    from asll.services import reminders as reminder_service

    _admin_only()
    if request.method == "GET":
        return _render_reminders()
    form = EmptyForm()
    if not form.validate_on_submit():
        abort(400)
    raw = request.form.get("steps", "")
    try:
        if "reset" in request.form:
            steps = reminder_service.set_reminder_steps(g.actor, None)
        else:
            steps = reminder_service.set_reminder_steps(g.actor, _parse_steps(raw))
    except ValidationFailed as exc:
        return _render_reminders(raw, [m for ms in error_fields(exc).values() for m in ms], exc.status)
    flash(f"Délais de rappel enregistrés : {', '.join(str(s) for s in steps)} jour(s) par rapport à l'échéance.",
          "success")
    return redirect(url_for("gestion.reminders"))


@bp.route("/rappels/renvoi", methods=["POST"])
@tenant_required
def reminder_retry():
    """Send a failed reminder again, once the address or the mail server was fixed."""
    from flask import current_app
    from kombu.exceptions import OperationalError

    from asll.services import reminders as reminder_service

    outbox_id = _admin_button("outbox_id")
    try:
        reminder_service.retry_failed(g.actor, outbox_id)
    except ServiceError as exc:
        if exc.status in (404, 409):  # 409: sent again by another click first, the French 409 page
            raise
        flash(exc.message, "error")
        return redirect(url_for("gestion.reminders"))
    try:  # no result kept: sending does not wait on the result backend, down whenever Redis is
        current_app.extensions["celery"].tasks["asll.reminders.send"].apply_async(
            kwargs={"tenant_id": g.actor.tenant_id, "outbox_id": outbox_id}, ignore_result=True)
    except (OperationalError, OSError):  # the broker is down: the message is pending, the next sweep sends it
        current_app.logger.warning("Rappel %s non transmis au broker ; le prochain passage l'enverra.", outbox_id)
    flash("Le message a été remis dans la file d'envoi.", "success")
    return redirect(url_for("gestion.reminders"))
