"""Platform administration: plugin activation per tenant (no access to households' data)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, url_for
from flask_login import login_required

from asll.services import plugins as plugin_service
from asll.web.forms import PluginToggleForm

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
    if not form.validate_on_submit() or not form.tenant_id.data.isdigit():
        flash("Demande invalide : rechargez la page et recommencez.", "error")
        return redirect(url_for("admin.plugins"))
    activation = plugin_service.set_enabled(g.actor, int(form.tenant_id.data), form.plugin.data, form.enabled.data)
    state = "activé" if activation.enabled else "désactivé"
    flash(f"Plugin « {form.plugin.data} » {state}.", "success")
    return redirect(url_for("admin.plugins"))
