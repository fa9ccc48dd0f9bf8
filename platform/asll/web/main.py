"""The dashboard and the detail pages of a tenant's objects."""

from __future__ import annotations

import functools

from flask import Blueprint, abort, g, redirect, render_template, send_file, url_for
from flask_login import current_user, login_required

from asll.domain.machine import TRANSITIONS
from asll.services import audit, cases, documents, households, measures, tenants
from asll.services import plugins as plugin_service

bp = Blueprint("main", __name__)


def tenant_required(view):
    """Pages of a tenant need one chosen; a platform admin has none (no access to households)."""

    @functools.wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if g.actor.tenant_id is None:
            return redirect(url_for("auth.choose_tenant"))
        return view(*args, **kwargs)

    return wrapper


@bp.route("/")
def index():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return redirect(url_for("main.dashboard"))


@bp.route("/tableau-de-bord")
@tenant_required
def dashboard():
    tenant_id = g.actor.tenant_id
    return render_template(
        "dashboard.html",
        counts=cases.counts(g.actor),
        measure_types=plugin_service.measure_types(tenant_id).values(),
        commissions=plugin_service.commissions(tenant_id).values(),
        tenant=plugin_service.tenant_info(tenant_id),
    )


@bp.route("/menages/<int:household_id>")
@tenant_required
def household(household_id: int):
    household = households.get_household(g.actor, household_id)
    return render_template("household.html", household=household,
                           history=audit.history("household", household.id))


@bp.route("/demandes/<int:request_id>")
@tenant_required
def request_detail(request_id: int):
    return render_template("request.html", req=cases.get_request(g.actor, request_id))


@bp.route("/mesures/<int:measure_id>")
@tenant_required
def measure(measure_id: int):
    measure = cases.get_measure(g.actor, measure_id)
    return render_template(
        "measure.html", measure=measure,
        measure_type=plugin_service.measure_types(g.actor.tenant_id).get(measure.measure_type),
        timeline=measures.timeline(g.actor, measure.id), obligations=measures.obligations(g.actor, measure.id),
        actions=measures.allowed_transitions(g.actor, measure), history=audit.history("measure", measure.id),
        transition_labels={"grant": "Mesure accordée", **{name: t.label for name, t in TRANSITIONS.items()}},
    )


@bp.route("/documents/<int:document_id>")
@tenant_required
def document(document_id: int):
    """Download a document; rights are checked again and the read is audited."""
    doc, path = documents.open_document(g.actor, document_id)
    return send_file(path, mimetype=doc.content_type, as_attachment=True, download_name=doc.filename)


@bp.route("/organismes/<int:organisation_id>")
@tenant_required
def organisation(organisation_id: int):
    organisation = tenants.get_organisation(organisation_id)
    if organisation is None:
        abort(404)
    return render_template("organisation.html", organisation=organisation)
