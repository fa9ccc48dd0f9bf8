"""« Mon compte » : password change, open sessions (« déconnecter mes autres sessions »),
the second factor, and the API tokens of the current département. Routes of the ``auth``
blueprint.
"""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required

from asll.extensions import db
from asll.models import User
from asll.services import api_tokens, audit, passwords, sessions, totp
from asll.services.errors import ServiceError, ValidationFailed
from asll.tenancy import unscoped
from asll.web.auth import bp, rotate_session_id
from asll.web.common import add_form_errors
from asll.web.forms import CodeForm, EmptyForm, PasswordChangeForm

ENROL_SECRET = "asll_totp_enrolment"  # the secret being set up, until its first code confirms it


def _me() -> User:
    with unscoped():
        return db.session.get(User, current_user.id)


def _render(password_form: PasswordChangeForm | None = None, code_form: CodeForm | None = None, status: int = 200):
    user = _me()
    tokens = api_tokens.list_tokens(g.actor) if g.actor.tenant_id is not None else []
    return render_template(
        "auth/account.html", user=user, password_form=password_form or PasswordChangeForm(),
        code_form=code_form or CodeForm(), action_form=EmptyForm(), open_sessions=sessions.active_sessions(user.id),
        current_session_id=g.get("session_id"), tokens=tokens, totp_required=totp.required_for(user),
        expired={t.id for t in tokens if api_tokens.is_expired(t)}), status


@bp.route("/compte", methods=["GET"])
@login_required
def account():
    return _render()


@bp.route("/compte/mot-de-passe", methods=["POST"])
@login_required
def change_password():
    form = PasswordChangeForm()
    if not form.validate_on_submit():
        return _render(password_form=form, status=422)
    try:
        passwords.change_password(g.actor, form.current.data, form.password.data, form.confirmation.data,
                                  keep_session_id=g.get("session_id"))
    except ValidationFailed as exc:
        add_form_errors(form, exc)
        return _render(password_form=form, status=exc.status)
    rotate_session_id()
    flash("Mot de passe modifié. Vos autres sessions ont été fermées.", "success")
    return redirect(url_for("auth.account"))


def _checked_button() -> None:
    if not EmptyForm().validate_on_submit():
        abort(400)


@bp.route("/compte/sessions", methods=["POST"])
@login_required
def end_other_sessions():
    """« Déconnecter mes autres sessions » : every other device is logged out at once."""
    _checked_button()
    ended = sessions.revoke_all(current_user.id, sessions.Reason.OTHER_SESSIONS,
                                except_session_id=g.get("session_id"))
    audit.record(g.actor, "auth.other_sessions_ended", object_type="user", object_id=current_user.id,
                 changes={"sessions": ended}, tenant_id=None)
    db.session.commit()
    flash("Vos autres sessions sont fermées." if ended else "Vous n'aviez pas d'autre session ouverte.", "success")
    return redirect(url_for("auth.account"))


@bp.route("/compte/jetons/<int:token_id>/revocation", methods=["POST"])
@login_required
def revoke_token(token_id: int):
    _checked_button()
    token = api_tokens.revoke_token(g.actor, token_id)
    flash(f"Jeton « {token.label} » révoqué.", "success")
    return redirect(url_for("auth.account"))


@bp.route("/compte/double-authentification", methods=["GET", "POST"])
@login_required
def enable_second_factor():
    user = _me()
    if user.totp_secret:
        return redirect(url_for("auth.account"))
    secret = session.get(ENROL_SECRET) or totp.new_secret()
    session[ENROL_SECRET] = secret
    form = CodeForm()
    status = 200
    if form.validate_on_submit():
        try:
            totp.enable(g.actor, user, secret, form.code.data, session_id=g.get("session_id"))
        except ValidationFailed as exc:
            add_form_errors(form, exc)
            status = exc.status
        else:
            session.pop(ENROL_SECRET, None)
            rotate_session_id()
            flash("Double authentification activée : votre code sera demandé à chaque connexion. "
                  "Vos autres sessions ont été fermées.", "success")
            return redirect(url_for("auth.account"))
    elif request.method == "POST":
        status = 422
    uri = totp.provisioning_uri(secret, user.email)
    return render_template("auth/enrol_second_factor.html", form=form, qr=totp.qr_data_uri(uri),
                           key=totp.grouped(secret), required=False,
                           action=url_for("auth.enable_second_factor")), status


@bp.route("/compte/double-authentification/desactivation", methods=["POST"])
@login_required
def disable_second_factor():
    form = CodeForm()
    if not form.validate_on_submit():
        return _render(code_form=form, status=422)
    try:
        totp.disable(g.actor, _me(), form.code.data)
    except ValidationFailed as exc:
        add_form_errors(form, exc)
        return _render(code_form=form, status=exc.status)
    except ServiceError as exc:
        flash(exc.message, "error")
        return redirect(url_for("auth.account"))
    flash("Double authentification désactivée.", "success")
    return redirect(url_for("auth.account"))
