"""Server-rendered pages (French) over the services."""

from __future__ import annotations

from datetime import date

from flask import Flask, g, request, url_for
from flask_babel import format_date

from asll.models import Role
from asll.services.statistics import STATISTICS_ROLES


def register(app: Flask) -> None:
    """The page blueprints and the helpers their templates use."""
    from asll.services.documents import RECIPIENT_LABELS
    from asll.web import cases, commissions, gestion, rgpd, unsubscribe

    app.register_blueprint(unsubscribe.bp)
    app.register_blueprint(cases.bp)
    app.register_blueprint(commissions.bp)
    app.register_blueprint(gestion.bp)
    app.register_blueprint(rgpd.bp)
    app.jinja_env.filters["date_long"] = lambda d: format_date(d, "d MMMM yyyy") if d else "—"
    app.jinja_env.filters["filesize"] = _filesize
    app.jinja_env.filters["isodate_fr"] = _isodate_fr
    app.jinja_env.filters["audit_action"] = _audit_action
    app.jinja_env.filters["audit_field"] = _audit_field
    app.jinja_env.globals.update(has_role=_has_role, page_url=_page_url, report_links=_report_links,
                                 nav_active=_nav_active, role_label=_role_label, recipient_labels=RECIPIENT_LABELS,
                                 legal_links=rgpd.legal_links)


AUDIT_ACTIONS = {
    "household.read": "Consultation du dossier",
    "household.create": "Création du ménage",
    "household.update": "Modification de la situation",
    "household.support_measure": "Autre mesure d'accompagnement signalée",
    "request.read": "Consultation de la demande",
    "request.create": "Création de la demande",
    "request.update": "Modification du brouillon",
    "request.submit": "Dépôt de la demande",
    "request.withdraw": "Retrait de la demande",
    "request.decide": "Décision",
    "measure.read": "Consultation de la mesure",
    "document.generate": "Document généré",
    "document.attach": "Pièce jointe ajoutée",
    "document.read": "Document téléchargé",
    "household.anonymise": "Anonymisation du dossier (conservation échue)",
    "rgpd.access": "Export des données (droit d'accès)",
    "rgpd.traces": "Consultation du journal du dossier",
}


def _audit_action(action: str) -> str:
    from asll.domain.machine import TRANSITIONS

    if action in AUDIT_ACTIONS:
        return AUDIT_ACTIONS[action]
    scope, _, name = action.partition(".")
    if scope == "measure" and name in TRANSITIONS:
        return TRANSITIONS[name].label
    return action


AUDIT_FIELDS = {
    "status": "État", "members": "Membres", "reason": "Motif", "outcome": "Décision",
    "decision_date": "Date de la décision", "measure_id": "Mesure", "commission_code": "Instance",
    "household_id": "Ménage", "measure_type": "Type de mesure", "origin": "Origine", "diagnostic": "Diagnostic",
    "consent_given_by": "Adhésion donnée par", "consent_date": "Date d'adhésion", "extra": "Informations du département",
    "operator_id": "Opérateur", "start_date": "Début", "planned_end_date": "Fin prévue", "end_date": "Fin",
    "end_reason": "Motif de fin", "prolongation_count": "Prolongations", "prolonged_months": "Mois de prolongation",
    "notified_date": "Notification", "contract_sent_date": "Envoi du contrat", "action_plan_date": "Plan d'action",
    "suspended_from": "Suspendue depuis", "bilan_date": "Bilan", "hand_over_to": "Relais", "kind": "Nature",
    "recipient": "Destinataire", "filename": "Fichier", "size": "Taille", "sha256": "Empreinte SHA-256",
    "request_id": "Demande", "session_id": "Séance", "decision_id": "Décision", "support_measure": "Autre mesure",
    "address": "Adresse", "postcode": "Code postal", "city": "Commune", "sector": "Secteur",
    "housing_status": "Statut d'occupation", "monthly_resources": "Ressources mensuelles",
    "resources_kind": "Nature des ressources", "family_situation": "Situation familiale", "landlord_id": "Bailleur",
    "landlord_consent": "Accord pour informer le bailleur", "q": "Recherche", "results": "Résultats",
}


def _audit_field(name: str) -> str:
    return AUDIT_FIELDS.get(name, name)


def _isodate_fr(value) -> str:
    """An ISO date string kept in JSON (``2026-03-16``) as ``16/03/2026``."""
    try:
        return date.fromisoformat(str(value)).strftime("%d/%m/%Y")
    except ValueError:
        return str(value or "—")


def _role_label(value: str) -> str:
    try:
        return Role(value).label
    except ValueError:
        return value or "—"


def _filesize(size: int | None) -> str:
    if not size:
        return "0 o"
    if size < 1024:
        return f"{size} o"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} Ko".replace(".", ",")
    return f"{size / (1024 * 1024):.1f} Mo".replace(".", ",")


def _has_role(*names: str) -> bool:
    actor = getattr(g, "actor", None)
    return bool(actor) and actor.has(*(Role(n) for n in names))


def _page_url(endpoint: str, after: int | None = None, filters: dict | None = None, **values) -> str:
    args = {**(filters or {}), **values}
    if after:
        args["apres"] = after
    return url_for(endpoint, **args)


def _nav_active(*prefixes: str) -> bool:
    endpoint = request.endpoint or ""
    return any(endpoint == p or endpoint.startswith(p) for p in prefixes)


# Exports and statistics (the reports blueprint), each for the roles that may open it (none: every role).
REPORT_ENDPOINTS = (
    ("reports.export_list", "Exports", ()),
    ("reports.statistics_dashboard", "Statistiques", STATISTICS_ROLES),
    ("rgpd.rights_index", "Droits RGPD", (Role.AUDITOR, Role.DEPT_ADMIN)),
)


def _report_links() -> list[tuple[str, str]]:
    actor = getattr(g, "actor", None)
    if actor is None:
        return []
    return [(endpoint, label) for endpoint, label, roles in REPORT_ENDPOINTS if not roles or actor.has(*roles)]
