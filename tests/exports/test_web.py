"""The exports and statistics pages through the test client: the form, the job page and its JSON
status, the download, the dashboard; rights re-checked on every route."""

from __future__ import annotations

import csv
import io
import re

import sqlalchemy as sa

from asll.extensions import db
from asll.models import OrganisationKind, Role
from asll.models.exports import ExportJob
from asll.tenancy import tenant_context
from tests.conftest import csrf_token, login


def _ids_of_labelled_controls(html: str) -> tuple[set[str], set[str]]:
    controls = set(re.findall(r'<(?:input|select|textarea)[^>]*\bid="([^"]+)"', html))
    # Hidden fields and buttons (their text is their label) need no <label>.
    hidden = set(re.findall(r'<input[^>]*type="(?:hidden|submit)"[^>]*id="([^"]+)"', html)) | set(
        re.findall(r'<input[^>]*id="([^"]+)"[^>]*type="(?:hidden|submit)"', html))
    labelled = set(re.findall(r'<label[^>]*\bfor="([^"]+)"', html))
    return controls - hidden, labelled


def _job_ids(app, tenant_id: int) -> list[int]:
    with app.app_context(), tenant_context(tenant_id):
        return list(db.session.scalars(sa.select(ExportJob.id).order_by(ExportJob.id)))


def test_asking_for_an_export_then_downloading_it(app, world, client, eager, folders):
    loire = world.loire
    login(client, loire.users[Role.DEPT_ADMIN].email, world.password)
    page = client.get("/rapports/exports/nouveau")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Demander un export" in html
    controls, labelled = _ids_of_labelled_controls(html)
    assert controls and controls <= labelled, f"inputs without a label: {controls - labelled}"
    response = client.post("/rapports/exports/nouveau", data={
        "csrf_token": csrf_token(html), "dataset": "measures", "file_format": "csv",
        "columns_measures": ["reference", "last_name", "start_date"], "status": "", "measure_type": ""})
    assert response.status_code == 302
    job_url = response.headers["Location"]
    [job_id] = _job_ids(app, loire.tenant.id)
    assert job_url.endswith(f"/rapports/exports/{job_id}")
    state = client.get(f"/rapports/exports/{job_id}/etat").get_json()
    assert state["status"] == "done" and state["rows"] == 1 and state["finished"] and state["percent"] == 100
    job_page = client.get(job_url).get_data(as_text=True)
    assert f"/rapports/exports/{job_id}/fichier?format=csv" in job_page
    download = client.get(f"/rapports/exports/{job_id}/fichier?format=csv")
    assert download.status_code == 200 and "attachment" in download.headers["Content-Disposition"]
    assert download.headers["Cache-Control"] == "no-store"
    rows = list(csv.reader(io.StringIO(download.data.decode("utf-8-sig")), delimiter=";"))
    assert rows == [["Référence de la mesure", "Nom", "Date de début"], [loire.measure.reference, "Martin", ""]]
    listing = client.get("/rapports/exports").get_data(as_text=True)
    assert f"Export de données n° {job_id}" in listing


def test_a_pending_job_shows_a_progress_bar_that_works_without_javascript(app, world, client, folders, monkeypatch):
    """Not eager: the job waits for a worker, the page shows its progress element and refreshes."""
    sent = []
    monkeypatch.setattr(app.extensions["celery"].tasks["asll.exports.run"], "apply_async",
                        lambda **kwargs: sent.append(kwargs))
    login(client, world.loire.users[Role.AUDITOR].email, world.password)
    html = client.get("/rapports/exports/nouveau").get_data(as_text=True)
    response = client.post("/rapports/exports/nouveau", data={
        "csrf_token": csrf_token(html), "dataset": "households", "file_format": "xlsx",
        "columns_households": ["household_reference"]})
    assert response.status_code == 302 and len(sent) == 1
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert re.search(r'<progress id="progression" max="100" value="0">0 %</progress>', page)
    assert '<label for="progression">Avancement</label>' in page
    assert '<noscript><meta http-equiv="refresh" content="5"></noscript>' in page
    assert 'src="/rapports/progression.js"' in page and "Actualiser la page" in page
    assert "/etat" in page
    script = client.get("/rapports/progression.js")
    assert script.status_code == 200 and script.mimetype == "text/javascript"
    assert "fetch(url" in script.get_data(as_text=True)
    assert client.get(f"/rapports/exports/{sent[0]['kwargs']['export_id']}/etat").get_json()["status"] == "pending"


def test_a_broker_that_does_not_answer_fails_the_job_with_a_french_message(app, world, client, folders,
                                                                           monkeypatch):
    from kombu.exceptions import OperationalError

    def broker_down(**kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(app.extensions["celery"].tasks["asll.exports.run"], "apply_async", broker_down)
    login(client, world.loire.users[Role.DEPT_ADMIN].email, world.password)
    html = client.get("/rapports/exports/nouveau").get_data(as_text=True)
    refused = client.post("/rapports/exports/nouveau", data={
        "csrf_token": csrf_token(html), "dataset": "households", "file_format": "csv",
        "columns_households": ["household_reference"]})
    report = client.post("/rapports/rapport-annuel", data={"csrf_token": csrf_token(html), "year": "2026"})
    message = "Le service de production des fichiers ne répond pas pour le moment"
    assert refused.status_code == 503 and message in refused.get_data(as_text=True)
    assert 'value="household_reference" checked' in refused.get_data(as_text=True)  # the choices are kept
    assert report.status_code == 503 and message in report.get_data(as_text=True)
    with app.app_context(), tenant_context(world.loire.tenant.id):
        jobs = list(db.session.scalars(sa.select(ExportJob).order_by(ExportJob.id)))
        assert [(j.status.value, j.error.startswith(message)) for j in jobs] == [("failed", True), ("failed", True)]
    assert "Échec" in client.get("/rapports/exports").get_data(as_text=True)


def test_a_form_edited_to_widen_visibility_gives_nothing_more(app, world, client, eager, folders):
    loire, orne = world.loire, world.orne
    login(client, loire.users[Role.OPERATOR_WORKER].email, world.password)
    html = client.get("/rapports/exports/nouveau").get_data(as_text=True)
    token = csrf_token(html)
    # Another tenant's operator: refused, nothing recorded.
    response = client.post("/rapports/exports/nouveau", data={
        "csrf_token": token, "dataset": "measures", "file_format": "csv", "columns_measures": ["reference"],
        "operator_id": str(orne.orgs[OrganisationKind.OPERATOR].id)})
    assert response.status_code == 422 and "Opérateur introuvable dans ce département." in response.get_data(
        as_text=True)
    assert _job_ids(app, loire.tenant.id) == []
    # Fields that are not in the form (a tenant, a user) are ignored: the export is the worker's own.
    response = client.post("/rapports/exports/nouveau", data={
        "csrf_token": token, "dataset": "measures", "file_format": "csv", "columns_measures": ["reference"],
        "tenant_id": str(orne.tenant.id), "user_id": str(orne.users[Role.DEPT_ADMIN].id)})
    assert response.status_code == 302
    [job_id] = _job_ids(app, loire.tenant.id)
    rows = client.get(f"/rapports/exports/{job_id}/fichier").data.decode("utf-8-sig").splitlines()
    assert rows == ["Référence de la mesure", loire.measure.reference]
    assert _job_ids(app, orne.tenant.id) == []


def test_someone_elses_export_is_not_found(app, world, client, eager, folders):
    loire = world.loire
    login(client, loire.users[Role.PRESCRIBER].email, world.password)
    html = client.get("/rapports/exports/nouveau").get_data(as_text=True)
    client.post("/rapports/exports/nouveau", data={"csrf_token": csrf_token(html), "dataset": "requests",
                                                   "file_format": "csv", "columns_requests": ["reference"]})
    [job_id] = _job_ids(app, loire.tenant.id)
    client.post("/deconnexion", data={"csrf_token": csrf_token(html)})
    login(client, loire.users[Role.DEPT_ADMIN].email, world.password)
    for url in (f"/rapports/exports/{job_id}", f"/rapports/exports/{job_id}/etat",
                f"/rapports/exports/{job_id}/fichier", f"/rapports/exports/{job_id}/fichier?format=csv"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert loire.request.reference not in response.get_data(as_text=True)


def test_statistics_dashboard_and_yearly_report(app, world, client, eager, folders):
    login(client, world.loire.users[Role.DEPT_AGENT].email, world.password)
    page = client.get("/rapports/statistiques?annee=2026")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Statistiques d'activité 2026" in html
    assert "<caption>Mesures suivies par nature – données" in html
    assert "<caption>Activité par opérateur : capacité et utilisation – données" in html
    assert "<script" not in html.split("<main", 1)[1]  # the charts are plain SVG
    controls, labelled = _ids_of_labelled_controls(html)
    assert controls <= labelled
    response = client.post("/rapports/rapport-annuel", data={"csrf_token": csrf_token(html), "year": "2026"})
    assert response.status_code == 302
    [job_id] = _job_ids(app, world.loire.tenant.id)
    job_page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "rapport-activite-asll-42-2026.pdf" in job_page and "rapport-activite-asll-42-2026.xlsx" in job_page
    pdf = client.get(f"/rapports/exports/{job_id}/fichier?format=pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


def test_statistics_are_for_the_roles_that_see_the_whole_tenant(world, client):
    login(client, world.loire.users[Role.OPERATOR_WORKER].email, world.password)
    assert client.get("/rapports/statistiques").status_code == 403
    html = client.get("/rapports/exports").get_data(as_text=True)
    assert "Statistiques et rapport annuel" not in html
    response = client.post("/rapports/rapport-annuel", data={"csrf_token": csrf_token(html), "year": "2026"})
    assert response.status_code == 403
