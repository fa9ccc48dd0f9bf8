"""Login, logout and the explicit choice of tenant for users with several memberships."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from wtforms.fields.choices import SelectChoice

from asll.services import users
from asll.web.forms import EmptyForm, LoginForm, TenantChoiceForm

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc and target.startswith("/") else None


@bp.route("/connexion", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        user = users.authenticate(form.email.data, form.password.data, ip=request.remote_addr or "")
        if user is None:
            error = "Adresse électronique ou mot de passe incorrect."
        else:
            session.clear()  # no session fixation: a fresh session for the authenticated user
            login_user(user)
            session.permanent = True
            return redirect(_safe_next(request.args.get("next")) or url_for("auth.choose_tenant"))
    elif request.method == "POST":
        error = "Le formulaire contient des erreurs."
    status = 401 if error and request.method == "POST" else 200
    return render_template("login.html", form=form, error=error), status


@bp.route("/deconnexion", methods=["POST"])
@login_required
def logout():
    form = EmptyForm()
    if form.validate_on_submit():
        logout_user()
        session.clear()
        flash("Vous êtes déconnecté.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/departement", methods=["GET", "POST"])
@login_required
def choose_tenant():
    tenants = users.tenants_of(current_user.id)
    if current_user.is_platform_admin and not tenants:
        return redirect(url_for("admin.tenants"))
    if len(tenants) == 1 and request.method == "GET":
        session["tenant_id"] = tenants[0].id
        return redirect(url_for("main.dashboard"))
    form = TenantChoiceForm()
    labels = {t.id: f"{t.name} ({t.code})" for t in tenants}
    form.tenant_id.choices = [SelectChoice(tenant_id, label) for tenant_id, label in labels.items()]
    if form.validate_on_submit():
        session["tenant_id"] = form.tenant_id.data
        flash(f"Département actif : {labels[form.tenant_id.data]}.", "info")
        return redirect(url_for("main.dashboard"))
    if not tenants:
        flash("Votre compte n'est rattaché à aucun département. Contactez votre administrateur.", "error")
    return render_template("choose_tenant.html", form=form, current_tenant_id=g.actor.tenant_id), \
        422 if form.errors else 200
