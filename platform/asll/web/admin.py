"""Platform administration: départements and plugin activation (no access to households' data)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, url_for
from flask_login import login_required

from asll.services import admin as admin_service
from asll.services import plugins as plugin_service
from asll.services import views
from asll.services.errors import ValidationFailed
from asll.web.common import add_form_errors, parse_id
from asll.web.forms import PluginToggleForm, TenantForm

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@login_required
def _platform_admin_only():
    if not g.actor.is_platform_admin:
        abort(403)


@bp.route("/plugins", methods=["GET"])
def plugins():
    return render_template("admin/plugins.html", overview=plugin_service.plugin_overview(g.actor),
                           form=PluginToggleForm())


@bp.route("/plugins", methods=["POST"])
def toggle_plugin():
    form = PluginToggleForm()
    tenant_id = parse_id(form.tenant_id.data)
    if not form.validate_on_submit() or tenant_id is None:
        flash("Demande invalide : rechargez la page et recommencez.", "error")
        return redirect(url_for("admin.plugins"))
    activation = plugin_service.set_enabled(g.actor, tenant_id, form.plugin.data, form.enabled.data)
    state = "activé" if activation.enabled else "désactivé"
    flash(f"Plugin « {form.plugin.data} » {state}.", "success")
    return redirect(url_for("admin.plugins"))


def _render_tenants(form: TenantForm | None = None, status: int = 200):
    return render_template("admin/tenants.html", rows=views.platform_tenants(g.actor), form=form or TenantForm(),
                           open_form=form is not None), status


@bp.route("/departements", methods=["GET"])
def tenants():
    return _render_tenants()


@bp.route("/departements", methods=["POST"])
def tenant_create():
    form = TenantForm()
    if not form.validate_on_submit():
        return _render_tenants(form, 422)
    try:
        tenant, sent = admin_service.create_tenant_with_admin(g.actor, {
            "code": form.code.data, "name": form.name.data, "admin_email": form.admin_email.data,
            "admin_name": form.admin_name.data})
    except ValidationFailed as exc:
        add_form_errors(form, exc)
        return _render_tenants(form, exc.status)
    flash(f"Département {tenant.name} ({tenant.code}) créé ; invitation envoyée à son administrateur. "
          "Activez maintenant son plugin.", "success")
    if not sent.ok:
        flash(sent.problem, "warning")
    return redirect(url_for("admin.plugins"))
