"""Helpers shared by the page blueprints: tenant guard, query arguments, form errors, labels."""

from __future__ import annotations

import functools
from flask import flash, g, redirect, request, url_for
from flask_login import login_required

from asll.domain.machine import END_REASONS, TRANSFER_REASONS, TRANSITION_LABELS
from asll.models.base import MAX_ID
from asll.services.documents import (  # noqa: F401  (the pages offer what the services allow)
    ATTACHMENT_WRITERS,
    LETTER_ROLES,
    SERVICE_ROLES,
)
from asll.services.errors import ServiceError, ValidationFailed
from asll.services.requests import FILING_ROLES  # noqa: F401
from asll.services.views import SECRETARIAT  # noqa: F401
from asll.web.fields import flatten_errors

# French labels of the core's transition fields (plugins label theirs with metadata["label"]).
TRANSITION_FIELD_LABELS = {
    "operator_id": "Opérateur",
    "notified_date": "Date de notification à l'opérateur",
    "start_date": "Date de début (signature du contrat)",
    "sent_date": "Date d'envoi du contrat au service",
    "plan_date": "Date du plan d'action",
    "objectives": "Objectifs du plan d'action",
    "request_date": "Date de la demande",
    "months": "Durée demandée (en mois)",
    "synthesis_meeting_date": "Date de la réunion de synthèse (le cas échéant)",
    "decision_date": "Date de la décision",
    "opinion": "Avis",
    "opinion_by": "Avis rendu par",
    "from_date": "Suspendue à compter du",
    "resume_date": "Date de reprise",
    "transfer_date": "Date du transfert",
    "member": "Membre du ménage concerné (séparation)",
    "end_date": "Date de fin",
    "hand_over_to": "Relais vers (service ou dispositif)",
    "bilan_date": "Date du bilan",
    "summary": "Synthèse du bilan",
    "signed_by_household": "Bilan signé par le ménage",
    "close_date": "Date de clôture",
}
REASON_LABELS = {
    "request_prolongation": "Motif de la demande de prolongation",
    "refuse_prolongation": "Motif du refus",
    "suspend": "Motif de la suspension",
    "transfer": "Motif du transfert",
    "end": "Motif de fin",
}
TRANSITION_CHOICE_LABELS = {"end": {"reason": END_REASONS}, "transfer": {"reason": TRANSFER_REASONS}}
# The date a transition form proposes by default (today), so the usual case is one click.
DEFAULT_TODAY = {"start_date", "sent_date", "plan_date", "request_date", "decision_date", "from_date",
                 "resume_date", "transfer_date", "end_date", "bilan_date", "close_date"}
TRANSITION_HELP = {
    "start": "Le contrat d'accompagnement est signé lors de la première rencontre : sa date est celle du début.",
    "request_prolongation": "À demander avant la fin prévue de la mesure, avec le motif.",
    "end": "Sauf rupture, préparez le relais vers le service instructeur ou un autre dispositif.",
    "record_bilan": "Le bilan est signé par le travailleur social et le ménage.",
}

REQUEST_ORIGINS = {
    "travailleur_social": "Travailleur social du Département",
    "ccas": "CCAS",
    "caf": "CAF",
    "bailleur": "Bailleur",
    "association": "Association d'insertion",
    "menage": "Le ménage lui-même",
    "commission": "Orientation d'une commission (FSL, CCAPEX, CDAPL…)",
    "autre": "Autre",
}



def tenant_required(view):
    """Pages of a tenant need one chosen; a platform admin has none (no access to households)."""

    @functools.wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if g.actor.tenant_id is None:
            return redirect(url_for("auth.choose_tenant"))
        return view(*args, **kwargs)

    return wrapper


def parse_id(value) -> int | None:
    """An id typed in a form or a URL, or None: ASCII digits only ("²" is a digit to Python),
    and no bigger than an id column holds (PostgreSQL refuses it with an error, not a miss)."""
    text = str(value or "").strip()
    if not (text.isascii() and text.isdigit()):
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None


def arg_int(name: str, source=None) -> int | None:
    return parse_id((source or request.args).get(name, ""))


def form_version() -> int | None:
    """The version of the request, measure or session the submitted page showed (see services/concurrency.py):
    a second click or a page left open while a colleague acted then gets a 409 instead of acting twice."""
    return parse_id(request.form.get("version"))


def arg_text(name: str, max_length: int = 100) -> str:
    return (request.args.get(name) or "").strip()[:max_length]


def error_fields(exc: ServiceError) -> dict[str, list[str]]:
    """A service error as ``{field: [messages]}``; rule violations go to their field when they name one."""
    if isinstance(exc, ValidationFailed):
        return flatten_errors(exc.fields)
    fields: dict[str, list[str]] = {}
    for violation in getattr(exc, "violations", None) or []:
        fields.setdefault(getattr(violation, "field", None) or "_schema", []).append(violation.message)
    if not fields:
        fields["_schema"] = [exc.message]
    return fields


def add_form_errors(form, exc: ServiceError) -> None:
    """A service's refusal shown on a WTForms form: each message on its field, else above the form."""
    for name, messages in error_fields(exc).items():
        target = getattr(form, name, None)
        (target.errors if target is not None and hasattr(target, "errors") else form.form_errors).extend(messages)


def flash_warnings(warnings) -> None:
    for warning in warnings or ():
        flash(f"Attention : {warning.message}", "warning")
