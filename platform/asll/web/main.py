"""The dashboard, search, and the detail pages of a tenant's objects."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from asll.services import documents, tenants, views
from asll.services import plugins as plugin_service
from asll.web.common import FILING_ROLES, SECRETARIAT, arg_text, tenant_required
from asll.web.forms import EmptyForm
from asll.web.pages import render_household, render_measure, render_request

bp = Blueprint("main", __name__)


@bp.route("/")
def index():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    if current_user.is_platform_admin and g.actor.tenant_id is None:
        return redirect(url_for("admin.tenants"))
    return redirect(url_for("main.dashboard"))


@bp.route("/tableau-de-bord")
@tenant_required
def dashboard():
    tenant_id = g.actor.tenant_id
    return render_template(
        "dashboard.html",
        board=views.dashboard(g.actor),
        measure_types=plugin_service.measure_types(tenant_id).values(),
        commissions=plugin_service.commissions(tenant_id),
        tenant=plugin_service.tenant_info(tenant_id),
        can_file=g.actor.has(*FILING_ROLES),
        can_program=g.actor.has(*SECRETARIAT),
    )


@bp.route("/recherche")
@tenant_required
def search():
    q = arg_text("q")
    found = views.search(g.actor, q) if q else None
    return render_template("search.html", q=q, found=found, types=views.measure_type_labels(g.actor))


@bp.route("/menages/<int:household_id>")
@tenant_required
def household(household_id: int):
    return render_household(household_id)


@bp.route("/demandes/<int:request_id>")
@tenant_required
def request_detail(request_id: int):
    return render_request(request_id)


@bp.route("/mesures/<int:measure_id>")
@tenant_required
def measure(measure_id: int):
    return render_measure(measure_id)


@bp.route("/documents/<int:document_id>")
@tenant_required
def document(document_id: int):
    """Download a document; rights are checked again and the read is audited."""
    _doc, stored = documents.open_document(g.actor, document_id)
    return stored.response()


@bp.route("/organismes/<int:organisation_id>")
@tenant_required
def organisation(organisation_id: int):
    organisation = tenants.get_organisation(organisation_id)
    if organisation is None:
        abort(404)
    return render_template("organisation.html", organisation=organisation)


@bp.route("/mes-rappels", methods=["GET", "POST"])
@tenant_required
def reminder_preferences():
    """One's own reminders: one e-mail per reminder, or a daily digest (opt-in)."""
    from asll.services import reminders

    if request.method == "POST":
        if not EmptyForm().validate_on_submit():
            abort(400)
        chosen = reminders.set_preferences(g.actor, {"daily_digest": request.form.get("daily_digest") == "y"})
        flash("Vos préférences de rappel sont enregistrées : "
              + ("un récapitulatif quotidien." if chosen["daily_digest"] else "un courriel par rappel."), "success")
        return redirect(url_for("main.reminder_preferences"))
    return render_template("reminder_preferences.html", preferences=reminders.preferences(g.actor))
