"""The rights of the people in the files: access, erasure, and who has read their file.

* **Access** (art. 15): one household's complete data, from every core table and every enabled
  plugin's (:mod:`asll.services.rgpd.data`), with its archive and the audit entries about it, as
  a JSON document and a readable French PDF (WeasyPrint, like the platform's letters). Audited.
* **Rectification** (art. 16) goes through the normal forms, which are audited already.
* **Erasure** (art. 17) deletes the whole file when no legal duty forbids it; otherwise it is
  refused with the reasons: a measure still running, a request being examined, decisions and
  amounts the FSL accounts must keep for the archive period (art. 17.3.b).
* **Who has read my file**: the audit entries about the household, its requests, measures and
  documents, oldest first.

For the DPO and the auditors (and the département admin); erasure is the admin's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import sqlalchemy as sa
from flask import render_template

from asll.domain.calendar import add_months, today
from asll.extensions import db
from asll.models import (
    ArchiveEntry,
    AuditEvent,
    Decision,
    DecisionOutcome,
    Document,
    Household,
    HouseholdMember,
    Measure,
    Request,
    RequestStatus,
    Role,
)
from asll.services import audit
from asll.services import plugins as plugin_service
from asll.services.access import get_in_tenant
from asll.services.actor import Actor
from asll.services.errors import NotFound, PermissionDenied, ServiceError, ValidationFailed
from asll.services.rgpd import anonymise, data, retention
from asll.services.rgpd.policy import policy_for

RIGHTS_ROLES = (Role.AUDITOR, Role.DEPT_ADMIN)
ERASE_ROLES = (Role.DEPT_ADMIN,)
CLOSED_MEASURES = anonymise.CLOSED_MEASURES
OPEN_REQUESTS = (RequestStatus.SUBMITTED, RequestStatus.SCHEDULED)
ACCESS_FORMAT = "asll-rgpd-acces/1"


class ErasureRefused(ServiceError):
    """A legal duty forbids erasing the file now; ``reasons`` say which (French)."""

    status = 409

    def __init__(self, reasons: list[str]):
        super().__init__("Effacement refusé : " + " ".join(reasons), "effacement_refuse")
        self.reasons = reasons


def require_rights_role(actor: Actor) -> None:
    if actor.tenant_id is None or not (actor.has(*RIGHTS_ROLES) or actor.user_id is None):
        raise PermissionDenied("Les demandes d'exercice des droits sont traitées par le délégué à la protection des "
                               "données, les auditeurs et l'administration du département.")


def _household(household_id: int) -> Household:
    household = get_in_tenant(Household, household_id)
    if household is None:
        raise NotFound("Ménage introuvable.")
    return household


def household_by_reference(reference: str) -> Household | None:
    return db.session.scalar(sa.select(Household).where(sa.func.upper(Household.reference) ==
                                                         reference.strip().upper()))


def find(actor: Actor, q: str, limit: int = 20) -> list[Household]:
    """Households of the tenant by reference or by a member's last name (audited as a search)."""
    require_rights_role(actor)
    q = (q or "").strip()[:100]
    if not q:
        return []
    wanted = q.lower()
    found = list(db.session.scalars(
        sa.select(Household).where(sa.or_(
            sa.func.lower(Household.reference).contains(wanted, autoescape=True),
            Household.id.in_(sa.select(HouseholdMember.household_id)
                             .where(sa.func.lower(HouseholdMember.last_name).contains(wanted, autoescape=True)))))
        .order_by(Household.reference).limit(limit)))
    audit.record(actor, "search", object_type="rgpd", changes={"q": q, "results": len(found)})
    db.session.commit()
    return found


# -- access ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Trace:
    at: datetime
    who: str
    action: str
    label: str
    what: str


TRACE_LABELS = {
    "household.read": "Consultation du dossier",
    "request.read": "Consultation d'une demande",
    "measure.read": "Consultation d'une mesure",
    "document.read": "Téléchargement d'un document",
    "household.create": "Création du ménage",
    "household.update": "Modification de la situation",
    "household.anonymise": "Anonymisation du dossier",
    "rgpd.access": "Export des données (droit d'accès)",
    "rgpd.traces": "Consultation du journal du dossier",
}
OBJECT_LABELS = {"household": "ménage", "request": "demande", "measure": "mesure", "document": "document"}


def _trace_criteria(file) -> sa.ColumnElement:
    documents = list(db.session.scalars(sa.select(Document.id).where(data.document_criteria(file))))
    return sa.or_(
        sa.and_(AuditEvent.object_type == "household", AuditEvent.object_id == file.id),
        sa.and_(AuditEvent.object_type == "request", AuditEvent.object_id.in_(file.request_ids)),
        sa.and_(AuditEvent.object_type == "measure", AuditEvent.object_id.in_(file.measure_ids)),
        sa.and_(AuditEvent.object_type == "document", AuditEvent.object_id.in_(documents)),
    )


def traces_of(household_id: int, *, reads_only: bool = False) -> list[Trace]:
    """The audit entries about the file (household, its requests, measures, documents), oldest first."""
    file = data.household_file(_household(household_id))
    query = sa.select(AuditEvent).where(_trace_criteria(file)).order_by(AuditEvent.seq)
    if reads_only:
        query = query.where(AuditEvent.action.like("%.read"))
    return [Trace(e.at, e.actor_label or "système", e.action, TRACE_LABELS.get(e.action, e.action),
                  f"{OBJECT_LABELS.get(e.object_type, e.object_type)} n° {e.object_id}")
            for e in db.session.scalars(query)]


def traces(actor: Actor, household_id: int) -> list[Trace]:
    """Who read or changed the file, for the DPO's page (the consultation itself is audited)."""
    require_rights_role(actor)
    found = traces_of(household_id)
    audit.record(actor, "rgpd.traces", object_type="household", object_id=household_id)
    db.session.commit()
    return found


def _paris(value: datetime) -> datetime:
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.astimezone(retention.PARIS)


def _trace_dict(trace: Trace) -> dict:
    return {"date": audit._jsonable(_paris(trace.at)), "par": trace.who, "action": trace.label, "objet": trace.what}


def access(actor: Actor, household_id: int) -> dict:
    """Everything the platform holds about the household, as a JSON-ready document (audited)."""
    require_rights_role(actor)
    household = _household(household_id)
    file = data.household_file(household)
    sections = data.core_sections(file) + data.plugin_sections(actor.tenant_id, file)
    info = plugin_service.tenant_info(actor.tenant_id)
    found = {
        "format": ACCESS_FORMAT,
        "departement": {"code": info.code, "nom": info.name},
        "menage": household.reference,
        "produit_le": audit._jsonable(_paris(datetime.now(UTC))),
        "sections": [{"table": s.table, "libelle": s.label, "plugin": s.plugin or None, "lignes": list(s.rows)}
                     for s in sections],
        "journal": [_trace_dict(t) for t in traces_of(household_id)],
    }
    audit.record(actor, "rgpd.access", object_type="household", object_id=household.id,
                 changes={"sections": len(sections), "rows": sum(len(s.rows) for s in sections)})
    db.session.commit()
    return found


def _shown(value) -> str:
    if value is None or value == "" or value == {} or value == []:
        return ""
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, dict):
        return "; ".join(f"{k} : {_shown(v)}" for k, v in value.items() if _shown(v))
    if isinstance(value, list):
        return ", ".join(_shown(v) for v in value if _shown(v))
    text = str(value)
    try:
        if len(text) == 10:
            return date.fromisoformat(text).strftime("%d/%m/%Y")
    except ValueError:
        pass
    return text


def access_pdf(tenant_id: int, export: dict) -> bytes:
    """The access document as a readable French PDF (empty fields left out; the JSON has everything)."""
    import weasyprint
    from weasyprint.urls import URLFetcher

    class _NoExternalResources(URLFetcher):
        def fetch(self, url, headers=None):
            raise ValueError(f"ressource externe refusée : {url[:80]}")

    sections = [{"label": s["libelle"], "table": s["table"], "plugin": s["plugin"],
                 "rows": [[(COLUMN_LABELS.get(k, k), _shown(v)) for k, v in row.items() if _shown(v)]
                          for row in s["lignes"]]} for s in export["sections"]]
    from asll.services.rgpd.legal import tenant_de

    html = render_template("rgpd/access_pdf.html", export=export, sections=sections, issued_on=today(),
                           tenant=plugin_service.tenant_info(tenant_id), tenant_de=tenant_de(tenant_id))
    return weasyprint.HTML(string=html, url_fetcher=_NoExternalResources()).write_pdf()


COLUMN_LABELS = {
    "id": "Identifiant", "tenant_id": "Département (identifiant)", "reference": "Référence",
    "household_id": "Ménage (identifiant)", "request_id": "Demande (identifiant)", "measure_id": "Mesure (identifiant)",
    "last_name": "Nom", "first_name": "Prénom", "birth_date": "Date de naissance",
    "relationship_to_reference": "Lien avec la personne de référence", "is_reference": "Personne de référence",
    "socio_professional_status": "Situation socio-professionnelle", "address": "Adresse", "postcode": "Code postal",
    "city": "Commune", "sector": "Secteur", "housing_status": "Statut d'occupation",
    "monthly_resources": "Ressources mensuelles (€)", "resources_kind": "Nature des ressources",
    "family_situation": "Situation familiale", "landlord_id": "Bailleur (identifiant)",
    "landlord_consent": "Accord pour informer le bailleur", "extra": "Informations propres au département",
    "created_at": "Créé le", "updated_at": "Modifié le", "created_by_id": "Créé par (identifiant)",
    "measure_type": "Type de mesure", "status": "État", "origin": "Origine", "commission_code": "Instance",
    "diagnostic": "Diagnostic social", "consent_given_by": "Adhésion donnée par", "consent_date": "Date d'adhésion",
    "submitted_at": "Déposée le", "outcome": "Décision", "decision_date": "Date de la décision",
    "duration_months": "Durée (mois)", "reason": "Motif", "redirected_to": "Réorientation",
    "start_date": "Début", "end_date": "Fin", "planned_end_date": "Fin prévue", "end_reason": "Motif de fin",
    "transition": "Étape", "from_status": "État avant", "to_status": "État après", "effective_date": "Date d'effet",
    "at": "Enregistré le", "data": "Données saisies", "kind": "Nature", "label": "Libellé", "due_date": "Échéance",
    "state": "État", "title": "Titre", "filename": "Fichier", "notes": "Notes", "code": "Code",
}


# -- erasure ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reasons: tuple[str, ...] = ()


def erasure_verdict(household_id: int, on: date | None = None) -> Verdict:
    """Whether a legal duty forbids erasing the file today, and which (French reasons)."""
    on = on or today()
    household = _household(household_id)
    file = data.household_file(household)
    reasons = []
    for reference, status in db.session.execute(sa.select(Measure.reference, Measure.status).where(
            Measure.household_id == household.id, Measure.status.not_in(CLOSED_MEASURES)).order_by(Measure.id)):
        reasons.append(f"La mesure {reference} est en cours ({status.label.lower()}) : le dossier est nécessaire "
                       "à l'accompagnement.")
    for reference, status in db.session.execute(sa.select(Request.reference, Request.status).where(
            Request.household_id == household.id, Request.status.in_(OPEN_REQUESTS)).order_by(Request.id)):
        reasons.append(f"La demande {reference} est en cours d'instruction ({status.label.lower()}).")
    policy = policy_for(household.tenant_id)
    keep_until = db.session.scalar(sa.select(sa.func.max(ArchiveEntry.destroy_after)).where(
        ArchiveEntry.household_id == household.id))
    if keep_until is None and policy.archive_enabled:
        granted = db.session.scalar(sa.select(sa.func.count(Decision.id)).where(
            Decision.request_id.in_(file.request_ids), Decision.outcome == DecisionOutcome.GRANTED))
        amounts = any(s.archive for s in data.plugin_sections(household.tenant_id, file))
        if granted or amounts:
            last = retention.last_contact(household.tenant_id, household)
            keep_until = add_months(retention.due_on(last, policy), 12 * policy.archive_years)
    if keep_until is not None and keep_until >= on:
        reasons.append("Les décisions d'attribution et les montants versés doivent être conservés pour les comptes "
                       f"du FSL jusqu'au {keep_until.strftime('%d/%m/%Y')} (archive intermédiaire, obligation "
                       "légale).")
    return Verdict(not reasons, tuple(reasons))


def erase(actor: Actor, household_id: int, confirmation: str) -> dict:
    """Erase the whole file if the verdict allows it; ``confirmation`` must repeat the household's reference."""
    if actor.user_id is not None and not actor.has(*ERASE_ROLES):
        raise PermissionDenied("Seule l'administration du département peut effacer un dossier.")
    household = _household(household_id)
    if (confirmation or "").strip().upper() != household.reference.upper():
        raise ValidationFailed({"confirmation": [f"Recopiez la référence du ménage ({household.reference}) pour "
                                                 "confirmer l'effacement."]})
    # Claim the row first: of two simultaneous erasures (or an erasure and the retention task), one
    # goes on, the other finds it gone and gets a French 409, never a half-deleted file.
    anonymise.claim_household(household.id, "Ce dossier vient d'être effacé par quelqu'un d'autre.")
    verdict = erasure_verdict(household_id)
    if not verdict.allowed:
        db.session.rollback()
        raise ErasureRefused(list(verdict.reasons))
    return anonymise.erase_household(actor, household)


def archive_of(actor: Actor, household_id: int) -> list[ArchiveEntry]:
    require_rights_role(actor)
    return list(db.session.scalars(sa.select(ArchiveEntry).where(ArchiveEntry.household_id == household_id)
                                   .order_by(ArchiveEntry.id)))


def is_anonymised(household_id: int) -> bool:
    from asll.models import AnonymisedHousehold

    return db.session.scalar(sa.select(sa.func.count(AnonymisedHousehold.id)).where(
        AnonymisedHousehold.household_id == household_id)) > 0

