"""Documents: the PDFs the platform generates and the files users attach.

Generated documents are the decision notification letters (household, prescriber,
operator, and the landlord when the household agreed), the accompaniment contract,
the prolongation request, the bilan and the commission minutes. Each is rendered from
``documents/<kind>.html`` (French, print CSS inline in ``documents/_base.html``) unless
a plugin enabled for the tenant maps the kind to its own template through the hook
``asll_document_templates`` (a template name the app's Jinja loader finds, e.g. from a
plugin blueprint's ``template_folder``), then converted by WeasyPrint.

Every file, generated or uploaded, is stored in the storage area ``documents`` under the key
``<tenant_id>/<uuid4 hex>`` (a local folder or the shared bucket, :mod:`asll.storage`; never a
user-supplied name) with a :class:`Document` row (size, SHA-256). Generating, attaching and reading are audited. Reading re-checks that
the actor may see the request, measure or session the document belongs to.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import re
import unicodedata
import uuid
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import BinaryIO

import sqlalchemy as sa
from flask import render_template
from jinja2 import Template, TemplateNotFound
from werkzeug.utils import secure_filename

from asll.domain import machine
from asll.domain.calendar import add_months, months_between, today
from asll.extensions import db
from asll.models import (
    CommissionSession,
    Decision,
    DecisionOutcome,
    Document,
    Household,
    Measure,
    MeasureEvent,
    Organisation,
    Role,
    SessionStatus,
    User,
)
from asll.services import audit, measures
from asll.services import decisions as decision_service
from asll.services import plugins as plugin_service
from asll.services.access import get_in_tenant, session_criteria
from asll.services.actor import Actor
from asll.services.concurrency import check_fresh, claim
from asll.services.errors import NotFound, PermissionDenied, ServiceError, ValidationFailed
from asll.services.requests import _visible_request
from asll.storage import StorageUnavailable, StoredFile, current_storage, existing_file

DOCUMENT_KINDS = {
    "decision_letter": "Notification de décision",
    "contract": "Contrat d'accompagnement",
    "prolongation_request": "Demande de prolongation",
    "bilan": "Bilan de fin de mesure",
    "minutes": "Procès-verbal de séance",
    "attachment": "Pièce jointe",
}
GENERATED_KINDS = frozenset(DOCUMENT_KINDS) - {"attachment"}

RECIPIENT_LABELS = {
    "household": "Ménage",
    "prescriber": "Service instructeur",
    "operator": "Opérateur",
    "landlord": "Bailleur",
}

SERVICE_ROLES = (Role.DEPT_AGENT, Role.DEPT_ADMIN)
LETTER_ROLES = (Role.COMMISSION_SECRETARY, *SERVICE_ROLES)
MINUTES_ROLES = (Role.COMMISSION_SECRETARY, *SERVICE_ROLES)
MEASURE_DOCUMENT_ROLES = (Role.OPERATOR_WORKER, *SERVICE_ROLES)
SESSION_READERS = (Role.COMMISSION_SECRETARY, Role.COMMISSION_MEMBER, Role.DEPT_AGENT, Role.DEPT_ADMIN,
                   Role.AUDITOR)
# Anyone who can see the request or measure may attach a file, except the read-only roles.
ATTACHMENT_WRITERS = (Role.DEPT_ADMIN, Role.DEPT_AGENT, Role.COMMISSION_SECRETARY, Role.PRESCRIBER,
                      Role.OPERATOR_WORKER)

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
CHUNK_BYTES = 64 * 1024
_STORAGE_KEY = re.compile(r"^(\d+)/([0-9a-f]{32})$")


# -- storage ------------------------------------------------------------------------
AREA = "documents"


def storage_key(document: Document) -> str:
    """The key of a document's file; refuses a key that is not ``<its tenant>/<hex>``."""
    match = _STORAGE_KEY.match(document.storage_key or "")
    if match is None or int(match.group(1)) != document.tenant_id:
        raise NotFound("Le fichier de ce document est introuvable.", "fichier_absent")
    return document.storage_key


@contextmanager
def _new_files() -> Iterator[list[str]]:
    """Files stored inside the block are removed (and the transaction rolled back) if it fails."""
    written: list[str] = []
    try:
        yield written
    except BaseException:
        db.session.rollback()
        for key in written:
            try:
                current_storage().delete(AREA, key)
            except StorageUnavailable:
                pass  # the orphan is harmless: no row names it
        raise


def _write(tenant_id: int, data: bytes, written: list[str]) -> str:
    key = f"{tenant_id}/{uuid.uuid4().hex}"
    current_storage().put_bytes(AREA, key, data)  # StorageUnavailable: a French 503, no row written
    written.append(key)
    return key


def _store(actor: Actor, written: list[str], data: bytes, *, kind: str, title: str, filename: str,
           content_type: str, action: str, recipient: str = "", **links) -> Document:
    """Write the file and add its row and audit entry to the transaction (the caller commits)."""
    digest = hashlib.sha256(data).hexdigest()
    document = Document(kind=kind, title=title[:200], recipient=recipient, filename=filename[:200],
                        content_type=content_type, size=len(data), sha256=digest,
                        storage_key=_write(actor.tenant_id, data, written), created_by_id=actor.user_id,
                        tenant_id=actor.tenant_id, **links)
    db.session.add(document)
    db.session.flush()
    audit.record(actor, action, object_type="document", object_id=document.id,
                 changes={"kind": [None, kind], "recipient": [None, recipient or None],
                          "filename": [None, document.filename], "size": [None, document.size],
                          "sha256": [None, digest],
                          **{k: [None, v] for k, v in links.items() if v is not None}})
    return document


# -- rendering ----------------------------------------------------------------------
def template_for(kind: str, tenant_id: int) -> str | Template:
    """The template of ``kind``: the first enabled plugin that overrides it wins, else the core's."""
    for overrides in plugin_service.call(tenant_id, "asll_document_templates"):
        if overrides and overrides.get(kind):
            return overrides[kind]
    return f"documents/{kind}.html"


def render_html(kind: str, context: dict, tenant_id: int) -> str:
    template = template_for(kind, tenant_id)
    info = plugin_service.tenant_info(tenant_id)
    values = {"tenant": info, "issued_on": today(), "document_title": DOCUMENT_KINDS.get(kind, kind), **context}
    try:
        return render_template(template, **values)
    except TemplateNotFound as exc:
        raise ServiceError(f"Modèle de document introuvable : « {exc.name} ».", "modele_introuvable") from exc


def render_pdf(kind: str, context: dict, tenant_id: int) -> bytes:
    """Render the (possibly plugin-overridden) template of ``kind`` and convert it to PDF."""
    import weasyprint  # lazily: heavy, and only the document features need it
    from weasyprint.urls import URLFetcher

    class _NoExternalResources(URLFetcher):
        """Templates carry their CSS inline: nothing is ever fetched (no file://, no network)."""

        def fetch(self, url, headers=None):
            raise ValueError(f"ressource externe refusée : {url[:80]}")

    html = render_html(kind, context, tenant_id)
    return weasyprint.HTML(string=html, url_fetcher=_NoExternalResources()).write_pdf()


# -- shared context -----------------------------------------------------------------
def _require(actor: Actor, roles, message: str) -> None:
    if not actor.has(*roles):
        raise PermissionDenied(message)


def _require_serves(actor: Actor, session: CommissionSession) -> None:
    """A secretary edits a session's letters and minutes only if their secretariat serves its commission."""
    if not actor.has(*SERVICE_ROLES):
        decision_service.require_serves(actor, session.commission_code)


def _measure_type_label(types: dict, code: str | None) -> str:
    """The label of measure type ``code`` among ``types`` (``plugin_service.measure_types``, read once)."""
    definition = types.get(code or "")
    return definition.label if definition else (code or "—")


def _commission_label(tenant_id: int, code: str | None) -> str:
    commission = plugin_service.commissions(tenant_id).get(code or "")
    return commission.label if commission else ""


def _signatory(actor: Actor) -> dict:
    user = db.session.get(User, actor.user_id) if actor.user_id else None
    roles = sorted(actor.roles, key=lambda r: list(Role).index(r))
    return {"name": user.full_name if user else actor.label, "role": roles[0].label if roles else "",
            "is_operator": Role.OPERATOR_WORKER in actor.roles}


def _household(household: Household) -> dict:
    person = household.reference_person
    city_line = " ".join(p for p in (household.postcode, household.city) if p)
    return {
        "reference": household.reference,
        "name": household.display_name,
        "last_name": person.last_name.upper() if person else "",
        "first_name": person.first_name if person else "",
        "address_lines": [line for line in (household.address, city_line) if line],
        "sector": household.sector,
    }


def _organisation(organisation: Organisation | None) -> dict | None:
    if organisation is None:
        return None
    return {"name": organisation.name, "address_lines": [organisation.address] if organisation.address else [],
            "phone": organisation.phone, "email": organisation.email}


def _measure(measure: Measure) -> dict:
    definition = plugin_service.measure_types(measure.tenant_id).get(measure.measure_type)
    return {
        "reference": measure.reference,
        "type_label": definition.label if definition else measure.measure_type,
        "status_label": measure.status.label,
        "decision_date": measure.decision_date,
        "granted_months": measure.granted_months,
        "start_date": measure.start_date,
        "planned_end_date": measure.planned_end_date,
        "end_date": measure.end_date,
        "prolongation_count": measure.prolongation_count,
        "prolonged_months": measure.prolonged_months,
        "reinforced": measure.reinforced,
        "worker": measure.worker.full_name if measure.worker else "",
        "commission_label": _commission_label(measure.tenant_id, definition.commission if definition else None),
    }


def _last_event(measure: Measure, transition: str) -> MeasureEvent | None:
    return db.session.scalar(sa.select(MeasureEvent)
                             .where(MeasureEvent.measure_id == measure.id, MeasureEvent.transition == transition)
                             .order_by(MeasureEvent.at.desc(), MeasureEvent.id.desc()).limit(1))


def _as_date(value) -> date | None:
    if isinstance(value, date) or value is None:
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def _slug(text: str) -> str:
    return secure_filename(text) or "document"


def _measure_for_documents(actor: Actor, measure_id: int, what: str) -> Measure:
    _require(actor, MEASURE_DOCUMENT_ROLES, f"Votre rôle ne permet pas d'éditer {what}.")
    measure = measures.visible_measure(actor, measure_id)
    if not actor.has(*SERVICE_ROLES) and measure.operator_id not in actor.organisation_ids:
        raise PermissionDenied("Cette mesure est suivie par un autre opérateur.")
    return measure


GENERATED_ELSEWHERE = ("Ce document vient d'être généré, ou le dossier modifié, par quelqu'un d'autre ; "
                      "rechargez la page.")


def _generate_one(actor: Actor, kind: str, context: dict, *, owner, expected: int | None, title: str,
                  filename: str, **links) -> Document:
    """Render, then claim ``owner`` (the measure or session the document is of) and store.

    The claim comes after the rendering so that a slow PDF does not hold the row; of N
    clicks on "Générer", one stores its document and the others get a 409.
    """
    data = render_pdf(kind, context, actor.tenant_id)
    with _new_files() as written:
        claim(owner, expected, GENERATED_ELSEWHERE)
        document = _store(actor, written, data, kind=kind, title=title, filename=filename,
                          content_type="application/pdf", action="document.generate", **links)
        db.session.commit()
    return document


# -- decision letters ---------------------------------------------------------------
def decision_letters(actor: Actor, decision_id: int, expected: int | None = None) -> list[Document]:
    """One notification letter per recipient: household, prescriber, operator, consenting landlord."""
    _require(actor, LETTER_ROLES, "Votre rôle ne permet pas d'éditer les notifications de décision.")
    decision = get_in_tenant(Decision, decision_id)
    if decision is None:
        raise NotFound("Décision introuvable.")
    try:
        request = _visible_request(actor, decision.request_id)
    except NotFound:
        raise NotFound("Décision introuvable.") from None
    check_fresh(request, expected, GENERATED_ELSEWHERE)
    household = request.household
    tenant_id = actor.tenant_id
    measure = get_in_tenant(Measure, decision.measure_id)
    session = decision.session
    if session is not None:
        _require_serves(actor, session)
        decided_by = _commission_label(tenant_id, session.commission_code) or "La commission"
    else:
        decided_by = _commission_label(tenant_id, request.commission_code) or "Le service du Département"

    recipients: list[dict] = [{"code": "household", **_household(household)}]
    prescriber = _organisation(request.prescriber_organisation)
    if prescriber is None and request.filed_by is not None:
        prescriber = {"name": request.filed_by.full_name, "address_lines": []}
    if prescriber is not None:
        recipients.append({"code": "prescriber", **prescriber})
    if decision.operator is not None:
        recipients.append({"code": "operator", **_organisation(decision.operator)})
    if household.landlord_consent and household.landlord_id:
        landlord = get_in_tenant(Organisation, household.landlord_id)
        if landlord is not None:
            recipients.append({"code": "landlord", **_organisation(landlord)})

    base = {
        "household": _household(household),
        "request": {"reference": request.reference, "submitted_at": request.submitted_at},
        "decision": {
            "outcome": decision.outcome.value,
            "outcome_label": decision.outcome.label,
            "date": decision.decision_date,
            "measure_type_label": _measure_type_label(plugin_service.measure_types(tenant_id),
                                                      decision.measure_type or request.measure_type),
            "duration_months": decision.duration_months,
            "operator": decision.operator.name if decision.operator else "",
            "reason": decision.reason,
            "redirected_to": decision.redirected_to,
            "in_session": session is not None,
            "commission_label": _commission_label(tenant_id, session.commission_code) if session else "",
            "session_date": session.session_date if session else None,
            "decided_by": decided_by,
        },
        "measure": _measure(measure) if measure else None,
        "signatory": _signatory(actor),
    }
    rendered = []
    for recipient in recipients:
        recipient["label"] = RECIPIENT_LABELS[recipient["code"]]
        data = render_pdf("decision_letter", {**base, "recipient": recipient}, tenant_id)
        rendered.append((recipient["code"], data))
    documents = []
    with _new_files() as written:
        claim(request, expected, GENERATED_ELSEWHERE)
        for code, data in rendered:
            documents.append(_store(
                actor, written, data, kind="decision_letter", recipient=code,
                title=f"Notification de décision ({RECIPIENT_LABELS[code].lower()}) – {request.reference}",
                filename=f"notification-{_slug(request.reference)}-{code}.pdf", content_type="application/pdf",
                action="document.generate", request_id=request.id, decision_id=decision.id,
                session_id=decision.session_id, measure_id=decision.measure_id))
        db.session.commit()
    return documents


# -- measure documents --------------------------------------------------------------
def _measure_context(actor: Actor, measure: Measure) -> dict:
    return {
        "household": _household(measure.household),
        "measure": _measure(measure),
        "operator": _organisation(measure.operator),
        "request_reference": measure.request.reference if measure.request else "",
        "signatory": _signatory(actor),
    }


def contract(actor: Actor, measure_id: int, expected: int | None = None) -> Document:
    """The individual accompaniment contract between the household and the operator."""
    measure = _measure_for_documents(actor, measure_id, "le contrat d'accompagnement")
    check_fresh(measure, expected, GENERATED_ELSEWHERE)
    if measure.operator_id is None:
        raise ServiceError("Aucun opérateur n'est désigné : le contrat ne peut pas être établi.", "operateur_manquant")
    diagnostic = (measure.request.diagnostic or {}) if measure.request else {}
    plan = _last_event(measure, "record_action_plan")
    context = {
        **_measure_context(actor, measure),
        "objectives": diagnostic.get("objectives", ""),
        "plan_objectives": (plan.data or {}).get("objectives", "") if plan else "",
    }
    return _generate_one(actor, "contract", context, title=f"Contrat d'accompagnement – {measure.reference}",
                         filename=f"contrat-{_slug(measure.reference)}.pdf", owner=measure, expected=expected, measure_id=measure.id,
                         request_id=measure.request_id)


def prolongation_request(actor: Actor, measure_id: int, expected: int | None = None) -> Document:
    """The prolongation request sent to the deciding commission or service."""
    measure = _measure_for_documents(actor, measure_id, "une demande de prolongation")
    check_fresh(measure, expected, GENERATED_ELSEWHERE)
    pending = measure.extra.get("pending_prolongation")
    event = _last_event(measure, "request_prolongation")
    source = pending or (event.data if event else None)
    if not source:
        raise ServiceError("Aucune demande de prolongation n'a été enregistrée pour cette mesure.",
                           "prolongation_absente")
    months = int(source.get("months") or 0)
    context = {
        **_measure_context(actor, measure),
        "prolongation": {
            "pending": pending is not None,
            "months": months,
            "request_date": _as_date(source.get("request_date")),
            "reason": source.get("reason", ""),
            "synthesis_meeting_date": _as_date((event.data or {}).get("synthesis_meeting_date")) if event else None,
            "new_end_date": add_months(measure.planned_end_date, months)
            if pending is not None and measure.planned_end_date else None,
        },
    }
    return _generate_one(actor, "prolongation_request", context,
                         title=f"Demande de prolongation – {measure.reference}",
                         filename=f"prolongation-{_slug(measure.reference)}.pdf", owner=measure, expected=expected,
                         measure_id=measure.id,
                         request_id=measure.request_id)


def bilan(actor: Actor, measure_id: int, expected: int | None = None) -> Document:
    """The final bilan of an ended measure (summary from the recorded bilan, if any)."""
    measure = _measure_for_documents(actor, measure_id, "le bilan")
    check_fresh(measure, expected, GENERATED_ELSEWHERE)
    if measure.end_date is None:
        raise ServiceError("La mesure n'est pas terminée : le bilan ne peut pas encore être établi.", "mesure_en_cours")
    event = _last_event(measure, "record_bilan")
    data = (event.data or {}) if event else {}
    duration = months_between(measure.start_date, measure.end_date) if measure.start_date else None
    context = {
        **_measure_context(actor, measure),
        "bilan": {
            "end_date": measure.end_date,
            "end_reason_label": machine.END_REASONS.get(measure.end_reason, measure.end_reason or "—"),
            "hand_over_to": measure.hand_over_to,
            "bilan_date": measure.bilan_date or _as_date(data.get("bilan_date")),
            "summary": data.get("summary", ""),
            "signed_by_household": bool(data.get("signed_by_household")),
            "duration_months": duration,
            "suspended_days": int(measure.extra.get("suspended_days", 0) or 0),
        },
    }
    return _generate_one(actor, "bilan", context, title=f"Bilan de fin de mesure – {measure.reference}",
                         filename=f"bilan-{_slug(measure.reference)}.pdf", owner=measure, expected=expected, measure_id=measure.id,
                         request_id=measure.request_id)


# -- commission minutes -------------------------------------------------------------
def minutes(actor: Actor, session_id: int, expected: int | None = None) -> Document:
    """The minutes of a held session: every examined request with its decision."""
    from asll.services.views import get_session  # a session the actor may read, or NotFound

    _require(actor, MINUTES_ROLES, "Votre rôle ne permet pas d'éditer le procès-verbal de la séance.")
    session = get_session(actor, session_id)
    _require_serves(actor, session)
    check_fresh(session, expected, GENERATED_ELSEWHERE)
    if session.status is not SessionStatus.HELD:
        raise ServiceError("La séance n'a pas encore été tenue : son procès-verbal ne peut pas être établi.",
                           "seance_non_tenue")
    tenant_id = actor.tenant_id
    by_request = {d.request_id: d for d in decision_service.session_decisions(session.id)}
    # An adjourned request leaves the agenda (it goes back to the queue): its decision still belongs here.
    entries = [(item.request, by_request.pop(item.request_id, None)) for item in session.items]
    entries += [(d.request, d) for d in by_request.values()]
    rows, counts = [], {outcome: 0 for outcome in DecisionOutcome}
    types = plugin_service.measure_types(tenant_id)
    for number, (request, decision) in enumerate(entries, start=1):
        if decision is not None:
            counts[decision.outcome] += 1
        rows.append({
            "number": number,
            "request_reference": request.reference,
            "household": request.household.display_name,
            "household_reference": request.household.reference,
            "measure_type_label": _measure_type_label(
                types, (decision.measure_type if decision else None) or request.measure_type),
            "outcome_label": decision.outcome.label if decision else "Non examinée",
            "outcome": decision.outcome.value if decision else "",
            "duration_months": decision.duration_months if decision else None,
            "operator": decision.operator.name if decision and decision.operator else "",
            "reason": decision.reason if decision else "",
            "redirected_to": decision.redirected_to if decision else "",
        })
    context = {
        "session": {"date": session.session_date, "location": session.location,
                    "members_present": session.members_present,
                    "commission_label": _commission_label(tenant_id, session.commission_code)
                    or session.commission_code},
        "rows": rows,
        "counts": [(o.label, counts[o]) for o in DecisionOutcome if counts[o]],
        "signatory": _signatory(actor),
    }
    return _generate_one(actor, "minutes", context, owner=session, expected=expected,
                         title=f"Procès-verbal – {context['session']['commission_label']} du "
                               f"{session.session_date.strftime('%d/%m/%Y')}",
                         filename=f"proces-verbal-{_slug(session.commission_code)}-"
                                  f"{session.session_date.isoformat()}.pdf",
                         session_id=session.id)


# -- attachments --------------------------------------------------------------------
@dataclass(frozen=True)
class FileType:
    label: str
    mime: str
    extensions: tuple[str, ...]
    aliases: tuple[str, ...] = ()


PDF = FileType("PDF", "application/pdf", ("pdf",), ("application/x-pdf",))
JPEG = FileType("JPEG", "image/jpeg", ("jpg", "jpeg"), ("image/jpg", "image/pjpeg"))
PNG = FileType("PNG", "image/png", ("png",), ("image/x-png",))
ODT = FileType("ODT", "application/vnd.oasis.opendocument.text", ("odt",))
DOCX = FileType("DOCX", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", ("docx",))
ALLOWED_TYPES = (PDF, JPEG, PNG, ODT, DOCX)
# What browsers announce when they do not know better; the content decides then.
GENERIC_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream", "application/zip",
                           "application/x-zip-compressed", "application/force-download"})
_ZIP_MAGIC = b"PK\x03\x04"
_MAGICS = (b"%PDF-", b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", _ZIP_MAGIC)
REFUSED_TYPE = "Type de fichier refusé : seuls les fichiers PDF, JPEG, PNG, ODT et DOCX sont acceptés."


def _sniff(data: bytes) -> FileType | None:
    """The file's real type from its content (magic bytes, and the package layout of ODT/DOCX)."""
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(_ZIP_MAGIC):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = set(archive.namelist())
                info = archive.getinfo("mimetype") if "mimetype" in names else None
                if info is not None and info.file_size < 100 and \
                        archive.read(info).strip() == ODT.mime.encode():
                    return ODT
                if "[Content_Types].xml" in names and "word/document.xml" in names:
                    return DOCX
        except (zipfile.BadZipFile, KeyError, ValueError, NotImplementedError, RuntimeError, OSError):
            return None
    return None


def _read_limited(stream: BinaryIO) -> bytes:
    """Read the upload in chunks; refuse a foreign type at the first chunk and anything over the limit."""
    buffer = bytearray()
    checked = False
    while True:
        chunk = stream.read(CHUNK_BYTES)
        if not chunk:
            break
        buffer += chunk
        if not checked and len(buffer) >= 8:
            if not any(buffer.startswith(m) for m in _MAGICS):
                raise ValidationFailed({"file": [REFUSED_TYPE]}, REFUSED_TYPE)
            checked = True
        if len(buffer) > MAX_ATTACHMENT_BYTES:
            message = (f"Fichier trop volumineux : {MAX_ATTACHMENT_BYTES // (1024 * 1024)} Mo au plus. "
                       "Aucun fichier n'a été enregistré.")
            raise ValidationFailed({"file": [message]}, message)
    return bytes(buffer)


def _clean_title(filename: str) -> str:
    base = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(c for c in base if unicodedata.category(c)[0] != "C").strip()
    return base[:200]


def _safe_filename(filename: str, kind: FileType) -> str:
    """An ASCII name safe on every file system, whose extension matches the content."""
    base = _clean_title(filename)
    stem, ext = os.path.splitext(base)
    ext = ext[1:].lower() if re.fullmatch(r"\.[A-Za-z0-9]{1,8}", ext) else ""
    if not ext and not stem and base:
        stem = base
    if ext and ext not in kind.extensions:
        message = f"L'extension du fichier (.{ext}) ne correspond pas à son contenu ({kind.label})."
        raise ValidationFailed({"file": [message]}, message)
    safe_stem = secure_filename(stem).strip("._-")[:150]
    if not safe_stem:
        safe_stem = f"piece-jointe-{today().strftime('%Y%m%d')}"
    return f"{safe_stem}.{ext or kind.extensions[0]}"


def attach(actor: Actor, *, request_id: int | None = None, measure_id: int | None = None, filename: str,
           stream: BinaryIO, content_type: str | None) -> Document:
    """Attach an uploaded file (PDF, JPEG, PNG, ODT, DOCX, 10 MB at most) to a request or a measure."""
    if (request_id is None) == (measure_id is None):
        raise ValidationFailed({"file": ["Rattachez la pièce jointe à une demande ou à une mesure."]})
    if not actor.has(*ATTACHMENT_WRITERS):
        raise PermissionDenied("Votre rôle ne permet que la consultation des pièces jointes.")
    # Visibility as a writer: a read-only role held besides must not widen where one may write.
    writer = dataclasses.replace(actor, roles=frozenset(r for r in actor.roles if r in ATTACHMENT_WRITERS))
    if request_id is not None:
        target = _visible_request(writer, request_id)
        links = {"request_id": target.id}
    else:
        target = measures.visible_measure(writer, measure_id)
        links = {"measure_id": target.id}
    data = _read_limited(stream)
    if not data:
        raise ValidationFailed({"file": ["Le fichier est vide."]}, "Le fichier est vide.")
    kind = _sniff(data)
    if kind is None:
        raise ValidationFailed({"file": [REFUSED_TYPE]}, REFUSED_TYPE)
    declared = (content_type or "").split(";", 1)[0].strip().lower()
    if declared not in GENERIC_TYPES and declared not in (kind.mime, *kind.aliases):
        message = f"Le contenu du fichier ({kind.label}) ne correspond pas au type annoncé ({declared})."
        raise ValidationFailed({"file": [message]}, message)
    safe_name = _safe_filename(filename, kind)
    with _new_files() as written:
        document = _store(actor, written, data, kind="attachment", title=_clean_title(filename) or safe_name,
                          filename=safe_name, content_type=kind.mime, action="document.attach", **links)
        db.session.commit()
    return document


# -- reading ------------------------------------------------------------------------
def _may_read(actor: Actor, document: Document) -> bool:
    checks = []
    if document.request_id is not None:
        checks.append(lambda: _visible_request(actor, document.request_id))
    if document.measure_id is not None:
        checks.append(lambda: measures.visible_measure(actor, document.measure_id))
    for check in checks:
        try:
            check()
            return True
        except NotFound:
            continue
    if checks:
        return False
    if document.session_id is not None and actor.has(*SESSION_READERS):
        return db.session.scalar(sa.select(CommissionSession.id).where(
            CommissionSession.id == document.session_id, session_criteria(actor))) is not None
    return False


def open_document(actor: Actor, document_id: int) -> tuple[Document, StoredFile]:
    """The document and its stored file, if the actor may see what it belongs to; audited."""
    document = get_in_tenant(Document, document_id)
    if document is None or document.tenant_id != actor.tenant_id or not _may_read(actor, document):
        raise NotFound("Document introuvable.")
    stored = existing_file(AREA, storage_key(document), document.filename, document.content_type,
                           "Le fichier de ce document est introuvable sur le serveur.")
    audit.record(actor, "document.read", object_type="document", object_id=document.id)
    db.session.commit()
    return document, stored


def list_documents(actor: Actor, *, request_id: int | None = None, measure_id: int | None = None,
                   session_id: int | None = None) -> list[Document]:
    """Documents of one request, measure or session the actor may see, newest first."""
    if request_id is not None:
        _visible_request(actor, request_id)
        criteria = Document.request_id == request_id
    elif measure_id is not None:
        measures.visible_measure(actor, measure_id)
        criteria = Document.measure_id == measure_id
    elif session_id is not None:
        from asll.services.views import get_session

        get_session(actor, session_id)  # NotFound unless the actor may read the session
        criteria = Document.session_id == session_id
    else:
        return []
    return list(db.session.scalars(sa.select(Document).where(criteria)
                                   .order_by(Document.created_at.desc(), Document.id.desc())))
