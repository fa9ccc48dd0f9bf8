"""Login (password, then a second factor when the account has one), logout, the explicit
choice of tenant, « Mot de passe oublié » and invitation links. « Mon compte » is in
:mod:`asll.web.account`, on this same blueprint.

A login only completes in :func:`_finish_login`: a fresh cookie session bound to a new
server-side session (services/sessions.py). Until then (second factor pending) the cookie
holds who is half-way, for 5 minutes, and gives access to nothing.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from wtforms.fields.choices import SelectChoice

from asll.extensions import db
from asll.models import LinkPurpose, User
from asll.rate_limits import PENDING_LOGIN_EMAIL, login_limited, reset_limited
from asll.services import account_links, audit, sessions, totp, users
from asll.services.actor import Actor
from asll.services.errors import ServiceError, ValidationFailed
from asll.tenancy import unscoped
from asll.web.common import add_form_errors
from asll.web.forms import CodeForm, EmptyForm, ForgottenPasswordForm, LoginForm, NewPasswordForm, TenantChoiceForm

bp = Blueprint("auth", __name__)

PENDING = "asll_pending_login"  # {"uid", "at", "next", "enrol", "secret"} between the two steps
PENDING_SECONDS = 300
WRONG_CREDENTIALS = "Adresse électronique ou mot de passe incorrect."


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc and target.startswith("/") else None


def _ip() -> str:
    return request.remote_addr or ""


def _finish_login(user: User, *, next_url: str | None, second_factor: bool = False):
    """The person proved who they are: a new session, server-side and in the cookie (no fixation)."""
    session.clear()
    secret = sessions.open_session(user, _ip(), request.user_agent.string)
    login_user(user)
    session[sessions.COOKIE_KEY] = secret
    session.permanent = True
    users.record_login(user, _ip(), second_factor=second_factor)
    return redirect(_safe_next(next_url) or url_for("auth.choose_tenant"))


def _start_second_step(user: User, next_url: str | None, *, enrol: bool):
    session.clear()
    session[PENDING] = {"uid": user.id, "at": time.time(), "next": _safe_next(next_url), "enrol": enrol}
    session[PENDING_LOGIN_EMAIL] = user.email
    return redirect(url_for("auth.enrol_second_factor" if enrol else "auth.second_factor"))


def _pending() -> tuple[dict, User] | None:
    pending = session.get(PENDING)
    if not isinstance(pending, dict) or time.time() - float(pending.get("at", 0)) > PENDING_SECONDS:
        return None
    with unscoped():
        user = db.session.get(User, pending.get("uid"))
    return (pending, user) if user is not None and user.active else None


@bp.route("/connexion", methods=["GET", "POST"])
@login_limited
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        user = users.authenticate(form.email.data, form.password.data, ip=_ip())
        if user is None:
            error = WRONG_CREDENTIALS
        elif user.totp_secret:
            return _start_second_step(user, request.args.get("next"), enrol=False)
        elif totp.required_for(user):
            return _start_second_step(user, request.args.get("next"), enrol=True)
        else:
            return _finish_login(user, next_url=request.args.get("next"))
    elif request.method == "POST":
        error = "Le formulaire contient des erreurs."
    status = 401 if error and request.method == "POST" else 200
    return render_template("login.html", form=form, error=error), status


def _restart():
    session.pop(PENDING, None)
    flash("Votre connexion n'a pas abouti à temps : saisissez à nouveau votre mot de passe.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/connexion/code", methods=["GET", "POST"])
@login_limited
def second_factor():
    """Second step: a code of the authenticator app."""
    found = _pending()
    if found is None or found[0].get("enrol"):
        return _restart()
    pending, user = found
    form = CodeForm()
    status = 200
    if form.validate_on_submit():
        if totp.verify(user, form.code.data):
            return _finish_login(user, next_url=pending.get("next"), second_factor=True)
        users.login_failed(user, _ip())
        form.code.errors.append(totp.WRONG_CODE)
        status = 401
    elif request.method == "POST":
        status = 401
    return render_template("auth/second_factor.html", form=form), status


@bp.route("/connexion/double-authentification", methods=["GET", "POST"])
@login_limited
def enrol_second_factor():
    """An administrator required to have a second factor sets it up before their login completes."""
    found = _pending()
    if found is None or not found[0].get("enrol"):
        return _restart()
    pending, user = found
    if not pending.get("secret"):
        pending["secret"] = totp.new_secret()
        session[PENDING] = pending
    form = CodeForm()
    status = 200
    if form.validate_on_submit():
        try:
            totp.enable(Actor(user_id=user.id, label=user.email, ip=_ip()), user, pending["secret"], form.code.data,
                        session_id=None)
        except ValidationFailed as exc:
            users.login_failed(user, _ip())
            add_form_errors(form, exc)
            status = 401
        else:
            flash("Double authentification activée.", "success")
            return _finish_login(user, next_url=pending.get("next"), second_factor=True)
    elif request.method == "POST":
        status = 401
    uri = totp.provisioning_uri(pending["secret"], user.email)
    return render_template("auth/enrol_second_factor.html", form=form, qr=totp.qr_data_uri(uri),
                           key=totp.grouped(pending["secret"]), required=True,
                           action=url_for("auth.enrol_second_factor")), status


@bp.route("/deconnexion", methods=["POST"])
@login_required
def logout():
    form = EmptyForm()
    if form.validate_on_submit():
        session_id = g.get("session_id")
        if session_id is not None:
            sessions.revoke(session_id, sessions.Reason.LOGOUT)
            audit.record(Actor(user_id=current_user.id, label=current_user.email, ip=_ip()), "auth.logout",
                         object_type="user", object_id=current_user.id, tenant_id=None)
            db.session.commit()
        logout_user()
        session.clear()
        flash("Vous êtes déconnecté.", "info")
    return redirect(url_for("auth.login"))


def rotate_session_id() -> None:
    """Privileges changed: the session gets a new secret, the cookie seen before is worthless."""
    session_id = g.get("session_id")
    secret = sessions.rotate(session_id) if session_id is not None else None
    if secret is not None:
        session[sessions.COOKIE_KEY] = secret


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
        rotate_session_id()  # another tenant, other roles
        flash(f"Département actif : {labels[form.tenant_id.data]}.", "info")
        return redirect(url_for("main.dashboard"))
    if not tenants:
        flash("Votre compte n'est rattaché à aucun département. Contactez votre administrateur.", "error")
    return render_template("choose_tenant.html", form=form, current_tenant_id=g.actor.tenant_id), \
        422 if form.errors else 200


# -- forgotten password and invitation links ----------------------------------------------
@bp.route("/mot-de-passe-oublie", methods=["GET", "POST"])
@reset_limited
def forgotten_password():
    """Ask for a reset link; the answer is the same whether the address has an account or not."""
    form = ForgottenPasswordForm()
    sent = False
    status = 200
    if form.validate_on_submit():
        account_links.request_reset(form.email.data, ip=_ip())
        sent = True
    elif request.method == "POST":
        status = 422
    minutes = round(account_links.lifetime(LinkPurpose.RESET).total_seconds() / 60)
    return render_template("auth/forgotten_password.html", form=form, sent=sent, minutes=minutes), status


def _link_page(purpose: LinkPurpose, token: str):
    titles = {LinkPurpose.INVITATION: "Choisir votre mot de passe",
              LinkPurpose.RESET: "Choisir un nouveau mot de passe"}
    try:
        _link, user = account_links.find(token, purpose)
    except account_links.LinkRefused as exc:
        return render_template("auth/link_refused.html", title=titles[purpose], message=exc.message,
                               purpose=purpose.value), exc.status
    form = NewPasswordForm()
    status = 200
    if form.validate_on_submit():
        try:
            account_links.redeem(token, purpose, form.password.data, form.confirmation.data, ip=_ip())
        except ValidationFailed as exc:
            add_form_errors(form, exc)
            status = exc.status
        except ServiceError as exc:  # spent by another click meanwhile (409), or just expired (410)
            return render_template("auth/link_refused.html", title=titles[purpose], message=exc.message,
                                   purpose=purpose.value), exc.status
        else:
            if current_user.is_authenticated:
                logout_user()
            session.clear()
            flash("Votre mot de passe est enregistré. Connectez-vous avec votre adresse électronique et ce "
                  "mot de passe.", "success")
            return redirect(url_for("auth.login"))
    elif request.method == "POST":
        status = 422
    return render_template("auth/new_password.html", form=form, title=titles[purpose], user=user,
                           purpose=purpose.value), status


@bp.route(account_links.PATHS[LinkPurpose.INVITATION] + "<token>", methods=["GET", "POST"])
def invitation(token: str):
    return _link_page(LinkPurpose.INVITATION, token)


@bp.route(account_links.PATHS[LinkPurpose.RESET] + "<token>", methods=["GET", "POST"])
def reset_password(token: str):
    if len(token) > 500:
        abort(404)
    return _link_page(LinkPurpose.RESET, token)


from asll import cli_accounts  # noqa: E402,F401  (`flask asll account ...` joins the asll group)
from asll.web import account  # noqa: E402,F401  (« Mon compte » routes join this blueprint)
