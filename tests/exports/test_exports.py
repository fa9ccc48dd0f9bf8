"""Exports through the services: formats, visibility, rights rebuilt in the worker and checked
again at download, pseudonyms, plugin columns, expiry, audit and the email."""

from __future__ import annotations

import csv
import email
import email.policy
import hashlib
import hmac
import io
import os
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from asll.extensions import db
from asll.storage import current_storage
from asll.models import AuditEvent, Membership, Role
from asll.models.base import utcnow
from asll.models.exports import ExportJob, ExportSecret, ExportStatus
from asll.services import exports
from asll.services.errors import NotFound, PermissionDenied, ValidationFailed
from asll.tenancy import tenant_context, unscoped
from asll.toolkit import ExportColumn, PluginInfo, hookimpl


def _export(actor, **data) -> ExportJob:
    """Ask for an export; the eager worker has produced it when this returns."""
    job = exports.request_export(actor, {"dataset": "measures", **data})
    db.session.expire_all()
    return exports.get_job(actor, job.id)


def _csv_rows(actor, job) -> list[dict]:
    _job, path, filename, content_type = exports.open_file(actor, job.id, "csv")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "UTF-8 BOM expected by French spreadsheets"
    assert content_type.startswith("text/csv") and filename.endswith(".csv")
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))


def _audit(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


def test_csv_export_of_measures_is_french_and_complete(loire, folders):
    admin = loire.actor(Role.DEPT_ADMIN)
    job = _export(admin)
    assert job.status is ExportStatus.DONE and job.row_count == 5  # 4 granted here + the factory's measure
    rows = _csv_rows(admin, job)
    refs = loire.references()
    by_reference = {row["Référence de la mesure"]: row for row in rows}
    assert set(by_reference) == set(refs.values()) | {loire.world.loire.measure.reference}
    bernard = by_reference[refs["Bernard"]]
    assert bernard["Nom"] == "Bernard" and bernard["Commune"] == "Saint-Étienne"
    assert bernard["Date de début"] == "26/01/2026" and bernard["Date de décision"] == "13/01/2026"
    assert bernard["Nature"] == "Accès au logement" and bernard["État"] == "Démarrée (contrat signé)"
    petit = by_reference[refs["Petit"]]
    assert petit["Date de fin"] == "04/05/2026" and petit["Motif de fin"] == "Fin à l'échéance prévue"
    assert petit["Commune"].startswith("'="), "a value starting with = must not become a formula"
    # Progress reached the total; the job was audited; the requester got a link by email.
    assert (job.progress_done, job.progress_total) == (5, 5)
    [asked] = _audit("export.request")
    [done] = _audit("export.done")
    assert asked.actor_id == done.actor_id == admin.user_id and done.changes["rows"] == 5
    [message] = [email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
                 for path in (folders / "mail").glob("*.eml")]
    assert message["To"] == loire.world.loire.users[Role.DEPT_ADMIN].email
    body = message.get_body(("plain",)).get_content()
    assert f"/rapports/exports/{job.id}" in body and "Bernard" not in body


def test_xlsx_export_opens_with_typed_cells_and_no_formula(loire):
    admin = loire.actor(Role.DEPT_ADMIN)
    job = _export(admin, file_format="xlsx")
    _job, path, filename, _type = exports.open_file(admin, job.id, "xlsx")
    assert filename.endswith(".xlsx")
    sheet = load_workbook(io.BytesIO(path.read_bytes())).worksheets[0]
    header = [cell.value for cell in sheet[1]]
    assert header[0] == "Référence de la mesure" and sheet["A1"].font.bold
    rows = {row[0].value: row for row in sheet.iter_rows(min_row=2)}
    petit = rows[loire.references()["Petit"]]
    city = petit[header.index("Commune")]
    assert city.data_type == "s" and city.value.startswith("=HYPERLINK")  # text, never a formula
    start = petit[header.index("Date de début")]
    assert start.is_date and start.value.date().isoformat() == "2026-02-02"


@pytest.mark.parametrize("role, visible", [
    (Role.DEPT_ADMIN, {"Bernard", "Petit", "Moreau", "Garnier", "Martin"}),
    (Role.AUDITOR, {"Bernard", "Petit", "Moreau", "Garnier", "Martin"}),
    (Role.OPERATOR_WORKER, {"Bernard", "Petit", "Martin"}),  # the world's operator: its own measures only
    (Role.PRESCRIBER, {"Bernard", "Petit", "Martin"}),  # what its organisation filed
    (Role.COMMISSION_MEMBER, set()),
])
def test_an_export_holds_exactly_what_the_role_may_see(loire, role, visible):
    actor = loire.actor(role)
    rows = _csv_rows(actor, _export(actor, columns=["reference", "last_name"]))
    assert {row["Nom"] for row in rows} == visible
    assert all(row["Référence de la mesure"].startswith("A-42") for row in rows)


def test_filters_only_narrow_what_the_user_sees(loire):
    worker = loire.actor(Role.OPERATOR_WORKER)
    # An operator asking for the other operator's measures gets none of them.
    rows = _csv_rows(worker, _export(worker, columns=["reference", "last_name"],
                                     filters={"operator_id": loire.other_operator_id}))
    assert rows == []
    # The other operator's worker sees its own two, and a filter narrows them to one.
    other = loire.other_worker
    assert {r["Nom"] for r in _csv_rows(other, _export(other, columns=["last_name"]))} == {"Moreau", "Garnier"}
    narrowed = _csv_rows(other, _export(other, columns=["last_name"], filters={"kind": "diagnostic"}))
    assert [r["Nom"] for r in narrowed] == ["Garnier"]


def test_a_request_edited_to_reach_another_tenant_is_refused(loire):
    admin = loire.actor(Role.DEPT_ADMIN)
    orne_operator = loire.world.orne.orgs[next(k for k in loire.world.orne.orgs if k.value == "operator")].id
    with pytest.raises(ValidationFailed) as error:
        exports.request_export(admin, {"dataset": "measures", "filters": {"operator_id": orne_operator}})
    assert error.value.fields == {"filters": {"operator_id": ["Opérateur introuvable dans ce département."]}}
    for smuggled in ({"tenant_id": loire.world.orne.tenant.id}, {"user_id": 1}, {"visibility": "all"}):
        with pytest.raises(ValidationFailed) as error:
            exports.request_export(admin, {"dataset": "measures", **smuggled})
        assert list(error.value.fields.values()) == [["Champ inconnu."]]
    assert db.session.scalar(sa.select(sa.func.count(ExportJob.id))) == 0
    with pytest.raises(ValidationFailed):
        exports.request_export(admin, {"dataset": "measures", "columns": ["reference", "password_hash"]})


def test_the_worker_uses_the_rights_the_user_has_when_it_runs(loire, app):
    """The job stores who asked, not what they could see: a membership lost before the run empties it."""
    worker = loire.actor(Role.OPERATOR_WORKER)
    conf = app.extensions["celery"].conf
    conf.task_always_eager = False
    sent = []
    app.extensions["celery"].tasks[exports.TASK_NAME].apply_async = lambda **kw: sent.append(kw)
    try:
        job = exports.request_export(worker, {"dataset": "measures"})
    finally:
        del app.extensions["celery"].tasks[exports.TASK_NAME].apply_async
        conf.task_always_eager = True
    assert sent == [{"kwargs": {"export_id": job.id, "tenant_id": loire.tenant_id}}]
    with unscoped():
        membership = db.session.scalar(sa.select(Membership).where(Membership.user_id == worker.user_id))
        membership.active = False
        db.session.commit()
    state = exports.run_job(job.id)
    assert state["status"] == "failed" and "membres" in state["error"]
    assert not [stored.key for stored in current_storage().list("exports") if stored.key.endswith(".csv")]


def test_download_checks_the_rights_again(loire):
    worker = loire.actor(Role.OPERATOR_WORKER)
    job = _export(worker)
    assert exports.open_file(worker, job.id)[0].id == job.id
    # Someone else of the same tenant, even an admin, does not see another user's export.
    with pytest.raises(NotFound):
        exports.open_file(loire.actor(Role.DEPT_ADMIN), job.id)
    # Another tenant's user does not either.
    orne_admin = loire.world.orne.actor(Role.DEPT_ADMIN)
    with tenant_context(orne_admin.tenant_id), pytest.raises(NotFound):
        exports.open_file(orne_admin, job.id)
    # The worker left its organisation after the file was produced: refused.
    reduced = type(worker)(user_id=worker.user_id, label=worker.label, tenant_id=worker.tenant_id,
                           roles=worker.roles, organisation_ids=frozenset())
    with pytest.raises(PermissionDenied):
        exports.open_file(reduced, job.id)
    downloads = _audit("export.download")
    assert [(e.actor_id, e.object_id) for e in downloads] == [(worker.user_id, job.id)]


def test_expired_files_are_deleted_and_refused(loire, app):
    admin = loire.actor(Role.DEPT_ADMIN)
    job = _export(admin)
    _job, path, _name, _type = exports.open_file(admin, job.id)
    assert path.exists()
    assert job.expires_at - job.finished_at == timedelta(hours=72)
    assert exports.cleanup_expired(loire.tenant_id) == 0
    assert exports.cleanup_expired(loire.tenant_id, now=utcnow() + timedelta(hours=73)) == 1
    assert not path.exists()
    with pytest.raises(exports.ExportExpired):
        exports.open_file(admin, job.id)
    assert exports.get_job(admin, job.id).status is ExportStatus.EXPIRED
    assert _audit("export.expire")[0].changes == {"export_ids": [job.id]}


def test_the_pseudonymised_export_has_no_identity_and_stable_pseudonyms(loire):
    admin = loire.actor(Role.DEPT_ADMIN)
    named = {r["Référence du ménage"]: r for r in _csv_rows(admin, _export(admin))}
    first = _export(admin, pseudonymised=True, columns=["reference", "household_reference", "last_name",
                                                       "address", "city", "birth_date", "sector", "age_bracket"])
    assert first.columns == ["reference", "household_reference", "sector", "age_bracket"]
    _job, path, filename, _type = exports.open_file(admin, first.id, "csv")
    content = path.read_text(encoding="utf-8-sig")
    assert "pseudonymise" in filename
    for name in ("Bernard", "Petit", "Martin", "Saint-Étienne", "rue Haute", "M-42-", "A-42-"):
        assert name not in content
    rows = list(csv.DictReader(io.StringIO(content), delimiter=";"))
    assert list(rows[0])[:4] == ["Pseudonyme de la mesure", "Pseudonyme du ménage", "Secteur", "Tranche d'âge"]
    assert list(rows[0])[4].startswith("Valeurs masquées (k = 5 : ")  # services/rgpd/kanonymity.py
    second = _csv_rows(admin, _export(admin, pseudonymised=True, columns=["household_reference", "sector"]))
    assert [r["Pseudonyme du ménage"] for r in second] == [r["Pseudonyme du ménage"] for r in rows]
    assert len({r["Pseudonyme du ménage"] for r in rows}) == len(rows) == len(named)
    # The pseudonym is the HMAC of the household id with the tenant's secret, which the other tenant does not share.
    secret = bytes.fromhex(db.session.scalar(sa.select(ExportSecret.secret)))
    household_id = loire.plans[0].ids["household"]
    expected = "H-" + hmac.new(secret, f"household:{household_id}".encode(), hashlib.sha256).hexdigest()[:16]
    assert expected in {r["Pseudonyme du ménage"] for r in rows}
    with tenant_context(loire.world.orne.tenant.id):
        assert exports.tenant_secret(loire.world.orne.tenant.id) != secret


class ColumnsPlugin:
    @hookimpl
    def asll_plugin_info(self):
        return PluginInfo(name="colx", label="Colonnes de test", departement_code="98", departement_name="Test")

    @hookimpl
    def asll_export_columns(self, tenant):
        return [ExportColumn("ville_majuscules", "Commune en capitales",
                             lambda measure: measure.household.city.upper() if measure.household.city else "")]


def test_plugins_add_their_columns_but_not_to_pseudonymised_exports(loire, app):
    from asll.services import plugins as plugin_service
    from asll.services.actor import Actor

    registry = app.extensions["asll_plugins"]
    registry.register(ColumnsPlugin(), "colx")
    try:
        plugin_service.set_enabled(Actor.system(), loire.tenant_id, "colx", True)
        admin = loire.actor(Role.DEPT_ADMIN)
        rows = _csv_rows(admin, _export(admin, columns=["last_name", "colx.ville_majuscules"]))
        assert {r["Nom"]: r["Commune en capitales"] for r in rows}["Bernard"] == "SAINT-ÉTIENNE"
        pseudo = _export(admin, pseudonymised=True, columns=["household_reference", "colx.ville_majuscules"])
        assert pseudo.columns == ["household_reference"]
    finally:
        registry.unregister("colx")
        plugin_service._forget_cache()


def test_other_datasets_follow_their_own_visibility(loire):
    admin, other = loire.actor(Role.DEPT_ADMIN), loire.other_prescriber
    requests_rows = _csv_rows(admin, _export(admin, dataset="requests", columns=["reference", "last_name", "status"]))
    assert {r["Nom"] for r in requests_rows} == {"Bernard", "Petit", "Moreau", "Garnier", "Roux", "Martin"}
    assert {r["Nom"] for r in _csv_rows(other, _export(other, dataset="requests", columns=["last_name"]))} == {
        "Moreau", "Garnier"}
    decisions = _csv_rows(admin, _export(admin, dataset="decisions", columns=["last_name", "outcome", "session_date"]))
    assert {r["Nom"]: r["Décision"] for r in decisions} == {"Bernard": "Accordée", "Petit": "Accordée",
                                                             "Moreau": "Accordée", "Garnier": "Accordée",
                                                             "Roux": "Refusée"}
    assert {r["Date de séance"] for r in decisions} == {"13/01/2026", "10/02/2026"}
    households = _csv_rows(other, _export(other, dataset="households", columns=["last_name", "members"]))
    assert sorted((r["Nom"], r["Nombre de personnes"]) for r in households) == [("Garnier", "1"), ("Moreau", "1")]


def test_the_yearly_report_is_a_workbook_and_a_pdf(loire):
    from pypdf import PdfReader

    from asll.services import statistics

    admin = loire.actor(Role.DEPT_ADMIN)
    with pytest.raises(PermissionDenied):
        exports.request_annual_report(loire.actor(Role.PRESCRIBER), 2026)
    job = exports.request_annual_report(admin, 2026)
    db.session.expire_all()
    job = exports.get_job(admin, job.id)
    assert job.status is ExportStatus.DONE, job.error
    tables = statistics.tables_for(admin, 2026)
    _job, xlsx_path, xlsx_name, _type = exports.open_file(admin, job.id, "xlsx")
    workbook = load_workbook(io.BytesIO(xlsx_path.read_bytes()))
    assert len(workbook.worksheets) == len(tables) == job.row_count
    summary = workbook.worksheets[0]
    assert summary["A1"].value.startswith("Synthèse de l'activité 2026")
    values = {row[0]: row[1] for row in summary.iter_rows(min_row=2, values_only=True) if row and row[0]}
    assert values["Mesures suivies dans l'année"] == 3  # Bernard, Petit, Moreau started; Garnier never did
    _job, pdf_path, pdf_name, pdf_type = exports.open_file(admin, job.id, "pdf")
    assert pdf_type == "application/pdf" and pdf_name == "rapport-activite-asll-42-2026.pdf"
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf_path.read_bytes())).pages)
    assert "Rapport d'activité ASLL 2026" in text and "Mesures suivies par nature" in text
    assert "Mois-mesures" in text
