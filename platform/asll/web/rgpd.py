"""RGPD pages: the retention policy and its next batch, the rights of the people in the files, the
legal pages (public) and the record of processing. Thin adapters over :mod:`asll.services.rgpd`."""

from __future__ import annotations

import json

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from asll.models import Role
from asll.services.errors import ServiceError, ValidationFailed
from asll.services.rgpd import legal, policy, retention, rights
from asll.web.common import arg_text, error_fields, form_version, tenant_required
from asll.web.fields import read_form, schema_views, summary
from asll.web.forms import EmptyForm

bp = Blueprint("rgpd", __name__)


def _admin_only() -> None:
    if not g.actor.has(Role.DEPT_ADMIN):
        abort(403)


def _rights_only() -> None:
    if not g.actor.has(*rights.RIGHTS_ROLES):
        abort(403)


def _checked_form() -> None:
    if not EmptyForm().validate_on_submit():
        abort(400)


# -- retention policy and the next batch (Administration) --------------------------------------
def _render_retention(values: dict | None = None, errors: dict | None = None, status: int = 200):
    current = policy.policy_for(g.actor.tenant_id)
    fields = schema_views(policy.RetentionPolicySchema().fields, id_prefix="conservation",
                          values=values or current.as_dict(), errors=errors or {})
    run_on = retention.next_run_date()
    return render_template("rgpd/retention.html", policy=current, fields=fields, summary=summary(fields, errors or {}),
                           plan=retention.plan(g.actor.tenant_id, run_on), run_at=retention.RUN_AT,
                           max_files=retention.MAX_FILES_PER_RUN), status


@bp.route("/administration/conservation", methods=["GET", "POST"])
@tenant_required
def retention_policy():
    _admin_only()
    if request.method == "GET":
        return _render_retention()
    _checked_form()
    values = read_form(policy.RetentionPolicySchema().fields, request.form)
    try:
        saved = policy.update_policy(g.actor, values, expected=_version())
    except ValidationFailed as exc:
        return _render_retention(values, error_fields(exc), exc.status)
    flash(f"Politique de conservation enregistrée : {saved.active_months} mois après le dernier contact.", "success")
    return redirect(url_for("rgpd.retention_policy"))


def _version() -> int | None:
    """The version the form showed (0: the defaults, never saved)."""
    raw = request.form.get("version", "")
    return 0 if raw == "0" else form_version()


# -- legal texts and record of processing (Administration) -----------------------------------------
def _render_legal_form(values: dict | None = None, errors: dict | None = None, status: int = 200):
    notice = legal.notice_for(g.actor.tenant_id)
    fields = schema_views(legal.LegalNoticeSchema().fields, id_prefix="legal", values=values or notice.values,
                          errors=errors or {})
    return render_template("rgpd/legal_form.html", notice=notice, fields=fields,
                           summary=summary(fields, errors or {}), pages=legal.PAGES), status


@bp.route("/administration/pages-legales", methods=["GET", "POST"])
@tenant_required
def legal_settings():
    _admin_only()
    if request.method == "GET":
        return _render_legal_form()
    _checked_form()
    values = read_form(legal.LegalNoticeSchema().fields, request.form)
    try:
        legal.update_notice(g.actor, values, expected=_version())
    except ValidationFailed as exc:
        return _render_legal_form(values, error_fields(exc), exc.status)
    flash("Pages légales enregistrées.", "success")
    return redirect(url_for("rgpd.legal_settings"))


def _register_reader() -> None:
    if not g.actor.has(Role.DEPT_ADMIN, Role.AUDITOR):
        abort(403)


@bp.route("/administration/registre")
@tenant_required
def register():
    _register_reader()
    return render_template("rgpd/register.html", rows=legal.register_rows(g.actor.tenant_id))


@bp.route("/administration/registre.csv")
@tenant_required
def register_csv():
    _register_reader()
    from asll.services import plugins as plugin_service

    code = plugin_service.tenant_info(g.actor.tenant_id).code
    return Response(legal.register_csv(g.actor.tenant_id), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="registre-traitements-{code}.csv"'})


# -- the rights of the people in the files (DPO, auditors, admin) -----------------------------------
@bp.route("/rgpd")
@tenant_required
def rights_index():
    _rights_only()
    q = arg_text("q")
    found = rights.find(g.actor, q) if q else None
    return render_template("rgpd/rights_index.html", q=q, found=found)


def _household_or_404(household_id: int):
    """The household of the current tenant, else 404 whoever asks (another tenant's id tells nothing)."""
    from asll.models import Household
    from asll.services.access import get_in_tenant

    household = get_in_tenant(Household, household_id)
    if household is None:
        abort(404)
    return household


def _rights_page(household, errors: dict | None = None, status: int = 200):
    return render_template(
        "rgpd/rights_household.html", household=household, traces=rights.traces(g.actor, household.id),
        verdict=rights.erasure_verdict(household.id), archive=rights.archive_of(g.actor, household.id),
        anonymised=rights.is_anonymised(household.id), can_erase=g.actor.has(*rights.ERASE_ROLES),
        errors=errors or {}), status


@bp.route("/rgpd/menages/<int:household_id>")
@tenant_required
def rights_household(household_id: int):
    household = _household_or_404(household_id)
    _rights_only()
    return _rights_page(household)


def _access(household_id: int, fmt: str):
    _household_or_404(household_id)
    _rights_only()
    export = rights.access(g.actor, household_id)
    name = f"donnees-{export['menage']}"
    if fmt == "json":
        return Response(json.dumps(export, ensure_ascii=False, indent=2), mimetype="application/json",
                        headers={"Content-Disposition": f'attachment; filename="{name}.json"'})
    return Response(rights.access_pdf(g.actor.tenant_id, export), mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}.pdf"'})


@bp.route("/rgpd/menages/<int:household_id>/donnees.json")
@tenant_required
def rights_access_json(household_id: int):
    return _access(household_id, "json")


@bp.route("/rgpd/menages/<int:household_id>/donnees.pdf")
@tenant_required
def rights_access_pdf(household_id: int):
    return _access(household_id, "pdf")


@bp.route("/rgpd/menages/<int:household_id>/effacement", methods=["POST"])
@tenant_required
def rights_erase(household_id: int):
    household = _household_or_404(household_id)
    _rights_only()
    _checked_form()
    try:
        counts = rights.erase(g.actor, household_id, request.form.get("confirmation", ""))
    except ValidationFailed as exc:
        return _rights_page(household, error_fields(exc), exc.status)
    except rights.ErasureRefused as exc:
        flash(exc.message, "error")
        return _rights_page(household, status=exc.status)
    flash(f"Dossier effacé : {counts['requests']} demande(s), {counts['measures']} mesure(s) et "
          f"{counts['documents']} document(s) supprimés.", "success")
    return redirect(url_for("rgpd.rights_index"))


# -- the legal pages (public, linked from every page's footer) --------------------------------------
LEGAL_ENDPOINTS = {"mentions": "/mentions-legales", "donnees": "/donnees-personnelles",
                   "accessibilite": "/accessibilite", "aide": "/aide"}


def _page_tenant() -> int | None:
    """The département of the page: the one asked for (``?departement=42``), else the user's current one."""
    code = arg_text("departement", 3)
    if code:
        tenant = legal.tenant_by_code(code)
        if tenant is None:
            abort(404)
        return tenant.id
    actor = g.get("actor")
    return actor.tenant_id if actor is not None and current_user.is_authenticated else None


def _legal_page(key: str):
    tenant_id = _page_tenant()
    notice = legal.notice_for(tenant_id)
    title, parts = legal.PAGES[key]
    return render_template("rgpd/legal_page.html", key=key, title=title, notice=notice, tenant_id=tenant_id,
                           parts=[(legal.LABELS[p], notice.values[p]) for p in parts], labels=legal.LABELS,
                           levels=legal.ACCESSIBILITY_LEVELS, retention_text=legal.retention_text(notice.policy),
                           tenants=legal.public_tenants() if tenant_id is None else [])


@bp.route("/mentions-legales")
def legal_mentions():
    return _legal_page("mentions")


@bp.route("/donnees-personnelles")
def legal_data():
    return _legal_page("donnees")


@bp.route("/accessibilite")
def legal_accessibility():
    return _legal_page("accessibilite")


@bp.route("/aide")
def legal_help():
    return _legal_page("aide")


LEGAL_LINKS = (("rgpd.legal_mentions", "Mentions légales"), ("rgpd.legal_data", "Données personnelles"),
               ("rgpd.legal_accessibility", "Accessibilité : non conforme"), ("rgpd.legal_help", "Aide et contact"))


def legal_links() -> list[tuple[str, str]]:
    """The footer's links (the accessibility one says the département's declared level, as the RGAA asks)."""
    if "legal_links" in g:
        return g.legal_links
    actor = g.get("actor")
    tenant_id = actor.tenant_id if actor is not None and current_user.is_authenticated else None
    try:
        level = legal.accessibility_level(tenant_id)
    except (ServiceError, SQLAlchemyError):  # an error page must still render its footer
        level = legal.DEFAULTS["accessibility_level"]
    g.legal_links = links = [(endpoint, f"Accessibilité : {level}" if endpoint == "rgpd.legal_accessibility" else label)
                             for endpoint, label in LEGAL_LINKS]
    return links

