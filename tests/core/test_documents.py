"""Generated PDFs (letters, contract, prolongation, bilan, minutes) and attachments.

Cases are built through the workflow services (household, request, session, agenda,
decision, measure transitions); the PDFs are read back with pypdf.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pypdf
import pytest
import sqlalchemy as sa
from jinja2 import ChoiceLoader, DictLoader

from asll.extensions import db
from asll.models import AuditEvent, Decision, Document, Organisation, OrganisationKind, Role
from asll.plugins.contract import PluginInfo
from asll.plugins.hookspecs import hookimpl
from asll.services import audit, decisions, documents, measures, requests
from asll.services import plugins as plugin_service
from asll.services.actor import Actor
from asll.services.errors import NotFound, PermissionDenied, ServiceError, ValidationFailed
from asll.services.schemas import DIAGNOSTIC_FIELDS
from asll.tenancy import tenant_context
from tests.core.workflow_support import ACCES, CLU, install_workflow_plugin, remove_workflow_plugin

ACCES_LABEL = "ASLL accès (recherche, installation dans le logement)"
CLU_LABEL = "Commission Logement Unique (CLU)"
OPERATOR_NAME = "Opérateur (association) 42"
DIAGNOSTIC = {name: f"{label} : éléments recueillis avec le ménage." for name, label in DIAGNOSTIC_FIELDS.items()}


@pytest.fixture(autouse=True)
def fake_departement(app, world):
    """The core's documents are tested on a fake département, independent of any real one's rules."""
    with app.app_context():
        install_workflow_plugin(app, world.loire.tenant.id)
    yield
    remove_workflow_plugin(app)


@pytest.fixture(autouse=True)
def fixed_day(clock):
    """After every date these cases use, and the same on any day the suite runs."""
    clock.to("2026-09-01")


@pytest.fixture(autouse=True)
def uploads(app, tmp_path, monkeypatch) -> Path:
    """Each test stores its files in its own folder, so what is on disk can be checked exactly."""
    root = tmp_path / "uploads"
    monkeypatch.setitem(app.config, "UPLOAD_PATH", str(root))
    return root


def stored_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and ".tmp" not in p.parts) if root.exists() else []


def text_of(stored) -> str:
    """The PDF's text with whitespace collapsed (labels may wrap across lines)."""
    reader = pypdf.PdfReader(io.BytesIO(stored.read_bytes()))
    return " ".join(" ".join(page.extract_text() or "" for page in reader.pages).split())


def read(actor: Actor, document: Document) -> str:
    _document, path = documents.open_document(actor, document.id)
    return text_of(path)


# -- a case built through the workflow services -----------------------------------------
def file_request(w, last_name: str, first_name: str, *, landlord_consent: bool):
    prescriber = w.actor(Role.PRESCRIBER)
    household = requests.create_household(prescriber, {
        "members": [{"last_name": last_name, "first_name": first_name, "is_reference": True}],
        "address": "12 rue de la Paix", "postcode": "42000", "city": "Saint-Étienne",
        "landlord_id": w.orgs[OrganisationKind.LANDLORD].id, "landlord_consent": landlord_consent,
    })
    draft = requests.save_draft(prescriber, {
        "household_id": household.id, "measure_type": ACCES, "diagnostic": DIAGNOSTIC,
        "consent_given_by": f"{first_name} {last_name}", "consent_date": "2026-01-10",
    })
    return requests.submit(prescriber, draft.id)


@dataclass
class HeldSession:
    session_id: int
    granted: Decision
    refused: Decision
    adjourned: Decision


def held_session(w) -> HeldSession:
    """A CLU session of 20/01/2026: Martin granted (landlord informed), Durand refused, Petit adjourned."""
    martin = file_request(w, "Martin", "Léa", landlord_consent=True)
    durand = file_request(w, "Durand", "Paul", landlord_consent=False)
    petit = file_request(w, "Petit", "Anna", landlord_consent=True)
    secretary = w.actor(Role.COMMISSION_SECRETARY)
    session = decisions.create_session(secretary, {"commission_code": CLU, "session_date": "2026-01-20",
                                                   "location": "Saint-Étienne"})
    decisions.build_agenda(secretary, session.id)
    recorded = decisions.decide_in_session(secretary, session.id, {
        martin.id: {"outcome": "granted", "duration_months": 6, "operator_id": w.orgs[OrganisationKind.OPERATOR].id},
        durand.id: {"outcome": "refused", "reason": "Le ménage relève d'un autre dispositif d'accompagnement."},
        petit.id: {"outcome": "adjourned", "reason": "Diagnostic à compléter."},
    })
    return HeldSession(session.id, *recorded)


def started_measure(w) -> int:
    case = held_session(w)
    worker = w.actor(Role.OPERATOR_WORKER)
    measures.transition(worker, case.granted.measure_id, "start", {"start_date": "2026-02-02"})
    return case.granted.measure_id


# -- decision letters -------------------------------------------------------------------
def test_granted_decision_gives_four_letters_with_the_decision_in_french(app_ctx, world, uploads):
    w = world.loire
    with tenant_context(w.tenant.id):
        case = held_session(w)
        secretary = w.actor(Role.COMMISSION_SECRETARY)
        letters = documents.decision_letters(secretary, case.granted.id)
        assert [d.recipient for d in letters] == ["household", "prescriber", "operator", "landlord"]
        texts = {d.recipient: read(secretary, d) for d in letters}
        for recipient, text in texts.items():
            assert "MARTIN Léa" in text, recipient
            assert "Accordée" in text and "20/01/2026" in text, recipient
            assert ACCES_LABEL in text and "6 mois" in text, recipient
            assert CLU_LABEL in text and OPERATOR_NAME in text, recipient
            assert "Département – Loire (42)" in text and "Objet : notification de la décision" in text
        assert "12 rue de la Paix" in texts["household"] and "Bailleur 42" in texts["landlord"]
        assert "prendra prochainement contact avec vous" in texts["household"]
        assert "Nous vous confions cet accompagnement" in texts["operator"]
        for document in letters:
            path = uploads / str(w.tenant.id) / document.storage_key.split("/")[1]
            assert re.fullmatch(rf"{w.tenant.id}/[0-9a-f]{{32}}", document.storage_key)
            assert path.read_bytes()[:5] == b"%PDF-"
            assert document.size == path.stat().st_size
            assert document.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
            assert document.decision_id == case.granted.id and document.measure_id == case.granted.measure_id
        generated = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "document.generate")).all()
        assert sorted(e.object_id for e in generated) == sorted(d.id for d in letters)
        assert audit.verify_chain(w.tenant.id) == []


def test_refused_decision_letters_give_the_reason_and_skip_a_landlord_without_consent(app_ctx, world):
    w = world.loire
    with tenant_context(w.tenant.id):
        case = held_session(w)
        admin = w.actor(Role.DEPT_ADMIN)
        letters = documents.decision_letters(admin, case.refused.id)
        # No operator (refused) and no landlord letter: the household did not agree to inform it.
        assert [d.recipient for d in letters] == ["household", "prescriber"]
        household_text = read(admin, letters[0])
        assert "DURAND Paul" in household_text and "Refusée" in household_text
        assert "Le ménage relève d'un autre dispositif d'accompagnement." in household_text
        assert "20/01/2026" in household_text and CLU_LABEL in household_text
        assert "recours" in household_text
        # The adjourned household agreed: its landlord is informed, without the internal reason.
        adjourned = documents.decision_letters(admin, case.adjourned.id)
        assert [d.recipient for d in adjourned] == ["household", "prescriber", "landlord"]
        landlord_text = read(admin, adjourned[2])
        assert "PETIT Anna" in landlord_text and "Ajournée" in landlord_text
        assert "Diagnostic à compléter." not in landlord_text
        assert "Diagnostic à compléter." in read(admin, adjourned[0])


def test_only_the_secretariat_and_the_departement_edit_decision_letters(app_ctx, world):
    w = world.loire
    with tenant_context(w.tenant.id):
        case = held_session(w)
        for role in (Role.PRESCRIBER, Role.OPERATOR_WORKER, Role.AUDITOR, Role.COMMISSION_MEMBER):
            with pytest.raises(PermissionDenied):
                documents.decision_letters(w.actor(role), case.granted.id)
        assert db.session.scalar(sa.select(sa.func.count(Document.id))) == 0
    with tenant_context(world.orne.tenant.id), pytest.raises(NotFound):
        documents.decision_letters(world.orne.actor(Role.DEPT_ADMIN), case.granted.id)


# -- measure documents ----------------------------------------------------------------
def test_contract_names_the_household_the_operator_and_the_dates(app_ctx, world):
    w = world.loire
    with tenant_context(w.tenant.id):
        measure_id = started_measure(w)
        worker = w.actor(Role.OPERATOR_WORKER)
        document = documents.contract(worker, measure_id)
        assert document.kind == "contract" and document.measure_id == measure_id
        text = read(worker, document)
        assert "Contrat d'accompagnement social lié au logement" in text
        assert "MARTIN Léa" in text and OPERATOR_NAME in text and ACCES_LABEL in text
        assert "accordée le 20/01/2026" in text and CLU_LABEL in text
        assert "02/02/2026" in text and "02/08/2026" in text and "6 mois" in text
        assert "Objectifs de l'accompagnement : éléments recueillis avec le ménage." in text


def test_prolongation_request_uses_the_pending_request_then_the_last_event(app_ctx, world):
    w = world.loire
    with tenant_context(w.tenant.id):
        measure_id = started_measure(w)
        worker = w.actor(Role.OPERATOR_WORKER)
        with pytest.raises(ServiceError, match="Aucune demande de prolongation"):
            documents.prolongation_request(worker, measure_id)
        measures.transition(worker, measure_id, "record_action_plan", {"plan_date": "2026-02-16"})
        measures.transition(worker, measure_id, "request_prolongation", {
            "request_date": "2026-07-01", "months": 3,
            "reason": "Relogement en cours : attribution attendue en septembre."})
        text = read(worker, documents.prolongation_request(worker, measure_id))
        assert "MARTIN Léa" in text and ACCES_LABEL in text and CLU_LABEL in text
        assert "3 mois" in text and "01/07/2026" in text and "02/08/2026" in text
        assert "02/11/2026" in text  # the end date asked for
        assert "Relogement en cours : attribution attendue en septembre." in text
        measures.transition(w.actor(Role.COMMISSION_SECRETARY), measure_id, "grant_prolongation",
                            {"decision_date": "2026-07-15"})
        text = read(worker, documents.prolongation_request(worker, measure_id))
        assert "3 mois" in text and "01/07/2026" in text and "Relogement en cours" in text
        assert "02/11/2026" in text  # now the current end date


def test_bilan_gives_the_end_reason_the_hand_over_and_the_summary(app_ctx, world):
    w = world.loire
    with tenant_context(w.tenant.id):
        measure_id = started_measure(w)
        worker = w.actor(Role.OPERATOR_WORKER)
        with pytest.raises(ServiceError, match="n'est pas terminée"):
            documents.bilan(worker, measure_id)
        measures.transition(worker, measure_id, "end", {"end_date": "2026-07-31", "reason": "term",
                                                       "hand_over_to": "CCAS de Saint-Étienne"})
        measures.transition(worker, measure_id, "record_bilan", {
            "bilan_date": "2026-08-05", "summary": "Bail signé le 15/07/2026, budget stabilisé.",
            "signed_by_household": True})
        document = documents.bilan(worker, measure_id)
        text = read(worker, document)
        assert "Bilan de fin de mesure" in text and "MARTIN Léa" in text and ACCES_LABEL in text
        assert "Fin à l'échéance prévue" in text and "CCAS de Saint-Étienne" in text
        assert "31/07/2026" in text and "05/08/2026" in text and "02/02/2026" in text
        assert "Bail signé le 15/07/2026, budget stabilisé." in text
        assert "Bilan signé par le ménage : oui." in text and CLU_LABEL in text


def test_measure_documents_are_for_the_measure_operator_and_the_departement(app_ctx, world):
    w = world.loire
    with tenant_context(w.tenant.id):
        measure_id = started_measure(w)
        for role in (Role.PRESCRIBER, Role.AUDITOR, Role.COMMISSION_MEMBER):
            with pytest.raises(PermissionDenied):
                documents.contract(w.actor(role), measure_id)
        assert documents.contract(w.actor(Role.DEPT_AGENT), measure_id).kind == "contract"


# -- minutes ----------------------------------------------------------------------------
def test_minutes_list_every_examined_request_with_its_decision(app_ctx, world):
    w = world.loire
    with tenant_context(w.tenant.id):
        case = held_session(w)
        secretary = w.actor(Role.COMMISSION_SECRETARY)
        document = documents.minutes(secretary, case.session_id)
        assert document.kind == "minutes" and document.session_id == case.session_id
        text = read(secretary, document)
        assert CLU_LABEL in text and "20/01/2026" in text and "Saint-Étienne" in text
        assert "MARTIN Léa" in text and "DURAND Paul" in text and "PETIT Anna" in text
        assert "Accordée" in text and "Refusée" in text and "Ajournée" in text  # the adjourned one left the agenda
        assert "Accordée : 1 · Refusée : 1 · Ajournée : 1" in text
        assert ACCES_LABEL in text and OPERATOR_NAME in text
        # A commission member reads the minutes; a prescriber does not.
        documents.open_document(w.actor(Role.COMMISSION_MEMBER), document.id)
        with pytest.raises(NotFound):
            documents.open_document(w.actor(Role.PRESCRIBER), document.id)


def test_a_secretariat_edits_letters_and_minutes_only_of_the_commissions_it_serves(app_ctx, world, uploads):
    w = world.loire
    with tenant_context(w.tenant.id):
        case = held_session(w)
        db.session.execute(sa.update(Organisation).values(commission_codes=["wf.autre"])  # no longer the CLU
                           .where(Organisation.id == w.orgs[OrganisationKind.COMMISSION_SECRETARIAT].id))
        secretary = w.actor(Role.COMMISSION_SECRETARY)
        # Not even readable: a secretariat reads only the files of the commissions it serves.
        for attempt in (lambda: documents.minutes(secretary, case.session_id),
                        lambda: documents.decision_letters(secretary, case.granted.id)):
            with pytest.raises(NotFound):
                attempt()
        assert stored_files(uploads) == []
        # The département's service edits them for every commission.
        assert documents.minutes(w.actor(Role.DEPT_AGENT), case.session_id).kind == "minutes"


def test_minutes_wait_for_the_session_to_be_held(app_ctx, world):
    w = world.loire
    with tenant_context(w.tenant.id):
        secretary = w.actor(Role.COMMISSION_SECRETARY)
        session = decisions.create_session(secretary, {"commission_code": CLU, "session_date": "2026-03-10"})
        with pytest.raises(ServiceError, match="pas encore été tenue"):
            documents.minutes(secretary, session.id)


# -- plugin templates -------------------------------------------------------------------
class TemplatePlugin:
    @hookimpl
    def asll_plugin_info(self):
        return PluginInfo(name="gabarits", label="Gabarits", departement_code="97", departement_name="Test")

    @hookimpl
    def asll_document_templates(self, tenant):
        return {"contract": "gabarits/contrat.html"}


def test_a_plugin_enabled_for_the_tenant_overrides_a_template(app, app_ctx, world, monkeypatch):
    monkeypatch.setattr(app.jinja_env, "loader", ChoiceLoader([DictLoader({
        "gabarits/contrat.html": '{% extends "documents/contract.html" %}'
                                 '{% block object %}contrat selon le modèle du plugin{% endblock %}',
    }), app.jinja_env.loader]))
    registry = app.extensions["asll_plugins"]
    registry.register(TemplatePlugin(), "gabarits")
    try:
        plugin_service.set_enabled(Actor.system(), world.loire.tenant.id, "gabarits", True)
        assert documents.template_for("contract", world.loire.tenant.id) == "gabarits/contrat.html"
        assert documents.template_for("contract", world.orne.tenant.id) == "documents/contract.html"
        assert documents.template_for("bilan", world.loire.tenant.id) == "documents/bilan.html"
        w = world.loire
        with tenant_context(w.tenant.id):
            measure_id = started_measure(w)
            worker = w.actor(Role.OPERATOR_WORKER)
            text = read(worker, documents.contract(worker, measure_id))
        assert "Objet : contrat selon le modèle du plugin" in text and "MARTIN Léa" in text
    finally:
        registry.unregister("gabarits")
        plugin_service._forget_cache()


# -- attachments ------------------------------------------------------------------------
def minimal_pdf() -> bytes:
    return b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def zip_bytes(entries: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries:
            method = zipfile.ZIP_STORED if name == "mimetype" else zipfile.ZIP_DEFLATED
            archive.writestr(name, data, compress_type=method)
    return buffer.getvalue()


ODT_BYTES = zip_bytes([("mimetype", b"application/vnd.oasis.opendocument.text"), ("content.xml", b"<office/>")])
DOCX_BYTES = zip_bytes([("[Content_Types].xml", b"<Types/>"), ("word/document.xml", b"<w:document/>")])
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG_BYTES = b"\xff\xd8\xff\xe0" + b"\x00" * 64


@pytest.mark.parametrize("filename, data, declared, stored_name, stored_type", [
    ("Relevé de compte (janvier).pdf", minimal_pdf(), "application/pdf", "Releve_de_compte_janvier.pdf",
     "application/pdf"),
    ("photo-bail.JPG", JPEG_BYTES, "image/jpeg", "photo-bail.jpg", "image/jpeg"),
    ("C:\\Users\\lea\\quittance.png", PNG_BYTES, "application/octet-stream", "quittance.png", "image/png"),
    ("diagnostic.odt", ODT_BYTES, "application/vnd.oasis.opendocument.text", "diagnostic.odt",
     "application/vnd.oasis.opendocument.text"),
    ("../../etc/courrier.docx", DOCX_BYTES, "application/zip", "courrier.docx",
     "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("日本語", PNG_BYTES, "image/png", None, "image/png"),
])
def test_an_attachment_is_stored_outside_the_web_root_with_its_hash(app_ctx, world, uploads, filename, data,
                                                                    declared, stored_name, stored_type):
    w = world.loire
    with tenant_context(w.tenant.id):
        prescriber = w.actor(Role.PRESCRIBER)
        document = documents.attach(prescriber, request_id=w.request.id, filename=filename,
                                    stream=io.BytesIO(data), content_type=declared)
        if stored_name is None:
            assert re.fullmatch(r"piece-jointe-\d{8}\.png", document.filename)
        else:
            assert document.filename == stored_name
        assert document.content_type == stored_type and document.kind == "attachment"
        assert document.size == len(data) and document.sha256 == hashlib.sha256(data).hexdigest()
        [path] = stored_files(uploads)
        assert path.parent == uploads / str(w.tenant.id) and re.fullmatch(r"[0-9a-f]{32}", path.name)
        assert path.read_bytes() == data
        _document, opened = documents.open_document(prescriber, document.id)
        assert (opened.key, opened.read_bytes()) == (f"{w.tenant.id}/{path.name}", data)
        assert db.session.scalar(sa.select(AuditEvent.action).where(AuditEvent.object_type == "document")
                                 .order_by(AuditEvent.seq)) == "document.attach"


def test_an_executable_renamed_pdf_is_refused_by_its_magic_bytes(app_ctx, world, uploads):
    w = world.loire
    with tenant_context(w.tenant.id):
        with pytest.raises(ValidationFailed, match="Type de fichier refusé"):
            documents.attach(w.actor(Role.PRESCRIBER), request_id=w.request.id, filename="facture.pdf",
                             stream=io.BytesIO(b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 4096),
                             content_type="application/pdf")
        assert db.session.scalar(sa.select(sa.func.count(Document.id))) == 0
    assert stored_files(uploads) == []


@pytest.mark.parametrize("filename, data, declared, message", [
    ("scan.pdf", PNG_BYTES, "image/png", "L'extension du fichier (.pdf) ne correspond pas à son contenu (PNG)"),
    ("scan.png", PNG_BYTES, "application/pdf", "ne correspond pas au type annoncé"),
    ("archive.zip", zip_bytes([("a.txt", b"x")]), "application/zip", "Type de fichier refusé"),
    ("vide.pdf", b"", "application/pdf", "Le fichier est vide"),
])
def test_an_attachment_whose_content_does_not_match_is_refused(app_ctx, world, uploads, filename, data, declared,
                                                               message):
    w = world.loire
    with tenant_context(w.tenant.id), pytest.raises(ValidationFailed, match=re.escape(message)):
        documents.attach(w.actor(Role.PRESCRIBER), request_id=w.request.id, filename=filename,
                         stream=io.BytesIO(data), content_type=declared)
    assert stored_files(uploads) == []


def test_an_attachment_over_10_mb_is_refused_and_nothing_is_written(app_ctx, world, uploads):
    w = world.loire
    stream = io.BytesIO(b"%PDF-1.7\n" + b"0" * (12 * 1024 * 1024))
    with tenant_context(w.tenant.id):
        with pytest.raises(ValidationFailed, match="10 Mo au plus"):
            documents.attach(w.actor(Role.OPERATOR_WORKER), measure_id=w.measure.id, filename="gros.pdf",
                             stream=stream, content_type="application/pdf")
        assert db.session.scalar(sa.select(sa.func.count(Document.id))) == 0
    assert stream.tell() <= documents.MAX_ATTACHMENT_BYTES + documents.CHUNK_BYTES  # stopped reading early
    assert stored_files(uploads) == []


def test_read_only_roles_and_other_operators_cannot_attach(app_ctx, world, uploads):
    w = world.loire
    with tenant_context(w.tenant.id):
        for role in (Role.AUDITOR, Role.COMMISSION_MEMBER):
            with pytest.raises(PermissionDenied):
                documents.attach(w.actor(role), request_id=w.request.id, filename="a.pdf",
                                 stream=io.BytesIO(minimal_pdf()), content_type="application/pdf")
        # The operator worker sees (and may attach to) the measure of its organisation only.
        documents.attach(w.actor(Role.OPERATOR_WORKER), measure_id=w.measure.id, filename="a.pdf",
                         stream=io.BytesIO(minimal_pdf()), content_type="application/pdf")
        other = file_request(w, "Bernard", "Jean", landlord_consent=False)
        with pytest.raises(NotFound):
            documents.attach(w.actor(Role.OPERATOR_WORKER), request_id=other.id, filename="a.pdf",
                             stream=io.BytesIO(minimal_pdf()), content_type="application/pdf")
    assert len(stored_files(uploads)) == 1


# -- reading ----------------------------------------------------------------------------
def test_an_orne_user_gets_not_found_for_a_loire_document(app_ctx, world):
    w = world.loire
    with tenant_context(w.tenant.id):
        document = documents.attach(w.actor(Role.PRESCRIBER), request_id=w.request.id, filename="bail.pdf",
                                    stream=io.BytesIO(minimal_pdf()), content_type="application/pdf")
        document_id = document.id
    orne_admin = world.orne.actor(Role.DEPT_ADMIN)
    with tenant_context(world.orne.tenant.id), pytest.raises(NotFound):
        documents.open_document(orne_admin, document_id)
    # Even inside the Loire's context by mistake, an Orne actor does not get it.
    with tenant_context(w.tenant.id), pytest.raises(NotFound):
        documents.open_document(orne_admin, document_id)
    with tenant_context(world.orne.tenant.id):
        assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))
                                 .where(AuditEvent.action == "document.read")) == 0


def test_reading_a_document_is_audited_and_rechecks_visibility(app_ctx, world):
    w = world.loire
    with tenant_context(w.tenant.id):
        prescriber = w.actor(Role.PRESCRIBER)
        document = documents.attach(prescriber, request_id=w.request.id, filename="bail.pdf",
                                    stream=io.BytesIO(minimal_pdf()), content_type="application/pdf")
        auditor = w.actor(Role.AUDITOR)
        _document, path = documents.open_document(auditor, document.id)
        assert path.read_bytes() == minimal_pdf()
        event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "document.read")).one()
        assert event.object_type == "document" and event.object_id == document.id
        assert event.actor_id == w.users[Role.AUDITOR].id
        # A prescriber of another organisation does not see the request, hence not its document.
        other = Actor(user_id=None, label="autre prescripteur", tenant_id=w.tenant.id,
                      roles=frozenset({Role.PRESCRIBER}), organisation_ids=frozenset({999_999}))
        with pytest.raises(NotFound):
            documents.open_document(other, document.id)
        assert [d.id for d in documents.list_documents(prescriber, request_id=w.request.id)] == [document.id]
        assert audit.verify_chain(w.tenant.id) == []
