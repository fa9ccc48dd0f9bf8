"""The rights of the people in the files: access (JSON and PDF), erasure where no legal duty forbids
it, and who has read the file — through the services, the DPO's page and the command line."""

from __future__ import annotations

import html
import io
import json

import sqlalchemy as sa
from pypdf import PdfReader

from asll.extensions import db
from asll.models import AuditEvent, Document, Household, HouseholdMember, Measure, Request, Role
from asll.services import households, measures, requests
from asll.services.errors import NotFound, PermissionDenied, ValidationFailed
from asll.services.rgpd import rights
from asll.services.rgpd import policy as policy_service
from asll.tenancy import tenant_context, unscoped
from tests.concurrency.conftest import release
from tests.conftest import csrf_token, login
from tests.core.workflow_support import refused, started_measure
from tests.rgpd.conftest import attach, household


def _draft_only(env, name: str) -> tuple[int, int]:
    """A household whose only request is still a draft (nothing decided, nothing the accounts keep)."""
    household_id = household(env, name)
    draft = requests.save_draft(env.prescriber, {"household_id": household_id, "measure_type": "wf.acces",
                                                 "origin": "ccas", "consent_given_by": f"Ana {name}"})
    return household_id, draft.id


def test_access_gives_every_table_of_the_file_with_its_journal(env, uploads):
    household_id = household(env, "Quentin")
    measure_id = started_measure(env, household_id=household_id)
    request_id = db.session.scalar(sa.select(Request.id).where(Request.household_id == household_id))
    attach(env, request_id, "quittance-quentin.pdf")
    households.get_household(env.operator, household_id)  # the social worker reads the file

    export = rights.access(env.auditor, household_id)

    sections = {s["table"]: s["lignes"] for s in export["sections"]}
    assert {"household", "household_member", "request", "decision", "agenda_item", "measure", "measure_event",
            "obligation", "document", "support_measure"} <= set(sections)
    assert [(m["last_name"], m["first_name"], m["birth_date"]) for m in sections["household_member"]] == [
        ("Quentin", "Ana", "1958-07-14"), ("Quentin", "Théo", "2012-09-30")]
    assert sections["household"][0]["address"] == "12 rue des Lilas Quentin"
    assert [m["id"] for m in sections["measure"]] == [measure_id]
    assert [d["filename"] for d in sections["document"]] == ["quittance-quentin.pdf"]
    reads = [t for t in export["journal"] if t["action"] == "Consultation du dossier"]
    assert [t["par"] for t in reads] == [env.operator.label]
    json.dumps(export)  # a plain JSON document
    [entry] = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "rgpd.access"))
    assert (entry.object_id, entry.actor_id) == (household_id, env.auditor.user_id)
    refused(PermissionDenied, rights.access, env.operator, household_id)

    pdf = PdfReader(io.BytesIO(rights.access_pdf(env.tenant_id, export)))
    text = " ".join(page.extract_text() for page in pdf.pages)
    for expected in ("Vos données personnelles", "Membres du ménage", "Quentin", "14/07/1958",
                     "qui a consulté ou modifié votre dossier", "2026-03-02 09:00", "Consultation du dossier"):
        assert expected in text, expected


def test_erasure_is_refused_with_the_reasons_while_a_legal_duty_forbids_it(env):
    running = household(env, "Roussel")
    measure_id = started_measure(env, household_id=running)
    verdict = rights.erasure_verdict(running)
    reference = db.session.scalar(sa.select(Measure.reference).where(Measure.id == measure_id))
    assert not verdict.allowed
    assert verdict.reasons[0] == (f"La mesure {reference} est en cours (démarrée (contrat signé)) : le dossier est "
                                  "nécessaire à l'accompagnement.")
    assert "doivent être conservés pour les comptes du FSL jusqu'au 17/09/2038" in verdict.reasons[1]
    household_reference = db.session.get(Household, running).reference
    error = refused(rights.ErasureRefused, rights.erase, env.admin, running, household_reference)
    assert error.status == 409 and list(error.reasons) == list(verdict.reasons)

    # Ended, but the archive period runs: still refused, for that reason only; without an archive, allowed.
    measures.transition(env.agent, measure_id, "end", {"end_date": "2026-04-30", "reason": "broke_off"})
    assert rights.erasure_verdict(running).reasons == (
        "Les décisions d'attribution et les montants versés doivent être conservés pour les comptes du FSL jusqu'au "
        "01/05/2038 (archive intermédiaire, obligation légale).",)
    policy_service.update_policy(env.admin, {"active_months": 24, "archive_enabled": False, "archive_years": 10,
                                             "audit_months": 12}, 0)
    assert rights.erasure_verdict(running).allowed


def test_erasure_deletes_the_whole_file_and_its_files_with_one_audit_entry(env, uploads):
    household_id, request_id = _draft_only(env, "Sabatier")
    attach(env, request_id, "piece-identite-sabatier.pdf")
    reference = db.session.get(Household, household_id).reference
    refused(PermissionDenied, rights.erase, env.auditor, household_id, reference)
    error = refused(ValidationFailed, rights.erase, env.admin, household_id, "M-42-XXXX")
    assert error.fields == {"confirmation": [f"Recopiez la référence du ménage ({reference}) pour confirmer "
                                             "l'effacement."]}

    counts = rights.erase(env.admin, household_id, reference.lower())

    assert counts == {"requests": 1, "measures": 0, "decisions": 0, "documents": 1, "members": 2}
    with unscoped():
        assert db.session.get(Household, household_id) is None
        assert db.session.scalar(sa.select(sa.func.count(HouseholdMember.id)).where(
            HouseholdMember.household_id == household_id)) == 0
        assert db.session.scalar(sa.select(sa.func.count(Request.id)).where(Request.id == request_id)) == 0
        assert db.session.scalar(sa.select(sa.func.count(Document.id)).where(Document.request_id == request_id)) == 0
    assert [p for p in uploads.rglob("*") if p.is_file()] == []
    [entry] = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "household.erase"))
    assert entry.changes == {"reference": reference, **counts, "api_answers_deleted": 0, "exports_expired": []}
    assert "Sabatier" not in json.dumps(entry.changes)
    refused(NotFound, rights.erase, env.admin, household_id, reference)  # erased once, then unknown


def test_ten_simultaneous_erasures_erase_once_and_the_others_get_a_french_409(app, world, clock):
    from tests.concurrency.conftest import clone_client

    loire = world.loire
    with app.app_context(), tenant_context(loire.tenant.id):
        created = requests.create_household(loire.actor(Role.PRESCRIBER), {
            "members": [{"last_name": "Tessier", "first_name": "Lou"}]})
        household_id, reference = created.id, created.reference
        db.session.remove()
    client = app.test_client()
    login(client, loire.users[Role.DEPT_ADMIN].email, world.password)
    page = client.get(f"/rgpd/menages/{household_id}")
    assert page.status_code == 200 and "Effacer définitivement le dossier" in page.get_data(as_text=True)
    token = csrf_token(page.get_data(as_text=True))
    clones = [clone_client(app, client) for _ in range(10)]
    responses = release(10, lambda i: clones[i].post(f"/rgpd/menages/{household_id}/effacement",
                                                     data={"csrf_token": token, "confirmation": reference}))
    codes = sorted(r.status_code for r in responses)
    assert codes.count(302) == 1 and all(code in (404, 409) for code in codes if code != 302), codes
    # A loser that claimed the row after the winner gets the French 409; one that came after the commit, a 404.
    losers = [(r.status_code, html.unescape(r.get_data(as_text=True))) for r in responses if r.status_code != 302]
    assert all("Ce dossier vient d'être effacé par quelqu'un d'autre." in body if code == 409 else
               "La page ou l'élément demandé n'existe pas" in body for code, body in losers), losers
    with app.app_context():
        with unscoped():
            assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(
                AuditEvent.action == "household.erase")) == 1
        db.session.remove()


def test_the_dpo_page_shows_who_read_the_file_and_why_erasure_is_refused(app, world, client):
    loire = world.loire
    with app.app_context(), tenant_context(loire.tenant.id):
        households.get_household(loire.actor(Role.DEPT_AGENT), loire.household.id)
        db.session.remove()
    login(client, loire.users[Role.AUDITOR].email, world.password)
    found = client.get("/rgpd?q=martin").get_data(as_text=True)
    assert f"/rgpd/menages/{loire.household.id}" in found
    page = html.unescape(client.get(f"/rgpd/menages/{loire.household.id}").get_data(as_text=True))
    assert loire.users[Role.DEPT_AGENT].email in page and "Consultation du dossier" in page
    assert "L'effacement n'est pas possible aujourd'hui" in page and "est en cours" in page
    assert "Effacer définitivement" not in page  # the auditor reads; the admin erases
    download = client.get(f"/rgpd/menages/{loire.household.id}/donnees.json")
    assert download.status_code == 200 and download.mimetype == "application/json"
    assert json.loads(download.get_data())["menage"] == loire.household.reference
    pdf = client.get(f"/rgpd/menages/{loire.household.id}/donnees.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    posted = client.post(f"/rgpd/menages/{loire.household.id}/effacement",
                         data={"csrf_token": csrf_token(page), "confirmation": loire.household.reference})
    assert posted.status_code == 403
    prescriber = app.test_client()
    login(prescriber, loire.users[Role.PRESCRIBER].email, world.password)
    assert prescriber.get(f"/rgpd/menages/{loire.household.id}").status_code == 403


def test_the_command_line_exports_refuses_and_lists_in_french(app, world, tmp_path):
    runner = app.test_cli_runner()
    reference = world.loire.household.reference
    output, pdf = tmp_path / "acces.json", tmp_path / "acces.pdf"
    done = runner.invoke(args=["asll", "rgpd-access", "42", reference, "--output", str(output), "--pdf", str(pdf)])
    assert done.exit_code == 0, done.output
    assert json.loads(output.read_text())["menage"] == reference and pdf.read_bytes().startswith(b"%PDF")
    erase = runner.invoke(args=["asll", "rgpd-erase", "42", reference, "--yes"])
    assert erase.exit_code == 1 and "Effacement refusé pour le ménage" in erase.output
    assert "est en cours" in erase.output
    traces = runner.invoke(args=["asll", "rgpd-traces", "42", reference])
    assert traces.exit_code == 0 and "Export des données (droit d'accès)" in traces.output
    unknown = runner.invoke(args=["asll", "rgpd-access", "42", "M-42-9999", "--output", str(output)])
    assert unknown.exit_code == 1 and "ménage « M-42-9999 » introuvable" in unknown.output


def test_rectification_goes_through_the_normal_form_audited_and_shows_in_who_changed_the_file(env):
    """Art. 16: the household's data is corrected with the usual service, audited (old and new values),
    and the DPO's « who has read or changed my file » lists it."""
    household_id = household(env, "Rivière")
    requests.update_household(env.prescriber, household_id, {"address": "3 place de la Mairie", "postcode": "42100"})
    db.session.expire_all()
    assert db.session.get(Household, household_id).address == "3 place de la Mairie"
    [entry] = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "household.update",
                                                             AuditEvent.object_id == household_id))
    assert entry.changes["address"] == ["12 rue des Lilas Rivière", "3 place de la Mairie"]
    assert entry.actor_id == env.prescriber.user_id
    traces = rights.traces(env.auditor, household_id)
    assert [t.label for t in traces if t.action == "household.update"] == ["Modification de la situation"]
