"""The one-click link of a reminders digest: no login needed, the signed token says who."""

from __future__ import annotations

from flask import Blueprint, render_template

from asll.services import reminders
from asll.web.forms import EmptyForm

bp = Blueprint("unsubscribe", __name__)


@bp.route("/rappels/desabonnement/<token>", methods=["GET", "POST"])
def digest(token: str):
    """GET asks for confirmation (mail scanners follow links); POST unsubscribes."""
    form = EmptyForm()
    done = False
    if form.validate_on_submit():
        reminders.unsubscribe_digest(token)
        done = True
    return render_template("unsubscribe.html", form=form, done=done)
