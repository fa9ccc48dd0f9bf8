"""The task broker unreachable (a real Redis URL nobody listens on): asking for an export answers
the French 503 within seconds, on the site and in the API, records the job as failed rather
than waiting for ever, and every page that does not need the broker keeps working."""

from __future__ import annotations

import html
import time

import pytest
import sqlalchemy as sa

from asll.extensions import db
from asll.models import AuditEvent, Role
from asll.models.exports import ExportJob, ExportStatus
from asll.services import api_tokens, exports
from asll.tenancy import tenant_context
from tests.conftest import csrf_token, login

UNREACHABLE = "redis://127.0.0.1:1/0"  # nothing listens on port 1: connection refused
ANSWER_WITHIN = 5.0


@pytest.fixture
def broker_down(app, app_env, folders, monkeypatch):
    """A second app configured as production reads it (``REDIS_URL``), on the same database."""
    from asll.app import create_app

    monkeypatch.setenv("REDIS_URL", UNREACHABLE)
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    monkeypatch.delenv("CELERY_RESULT_BACKEND", raising=False)
    suite_celery = app.extensions["celery"]
    try:
        down = create_app({"TESTING": True, "EXPORT_PATH": str(folders / "exports"),
                           "MAIL_FOLDER": str(folders / "mail")})
        assert down.extensions["celery"].conf.broker_url == UNREACHABLE
        yield down
    finally:
        from asll.rate_limits import limiter

        suite_celery.set_current()  # the new Celery app made itself the default one
        suite_celery.set_default()
        limiter.init_app(app)  # the process-wide limiter was bound to the new app's (unreachable) Redis


def _timed(send):
    started = time.monotonic()
    response = send()
    return response, time.monotonic() - started


def test_an_export_is_refused_in_french_at_once_and_nothing_stays_pending(broker_down, world):
    loire = world.loire
    message = exports.BROKER_DOWN
    client = broker_down.test_client()
    assert login(client, loire.users[Role.DEPT_ADMIN].email, world.password).status_code == 302
    form = client.get("/rapports/exports/nouveau")
    assert form.status_code == 200

    page, seconds = _timed(lambda: client.post("/rapports/exports/nouveau", data={
        "csrf_token": csrf_token(form.get_data(as_text=True)), "dataset": "households", "file_format": "csv",
        "columns_households": ["household_reference", "city"]}))
    assert page.status_code == 503 and seconds < ANSWER_WITHIN, (page.status_code, seconds)
    text = html.unescape(page.get_data(as_text=True))
    assert message in text and 'value="city" checked' in text  # the choices made are kept

    report, seconds = _timed(lambda: client.post("/rapports/rapport-annuel", data={
        "csrf_token": csrf_token(form.get_data(as_text=True)), "year": "2026"}))
    assert report.status_code == 503 and seconds < ANSWER_WITHIN
    assert message in html.unescape(report.get_data(as_text=True))

    with broker_down.app_context():
        _token, secret = api_tokens.create_token(loire.actor(Role.DEPT_ADMIN), {"label": "broker down"})
        db.session.remove()
    bearer = {"Authorization": f"Bearer {secret}"}
    api, seconds = _timed(lambda: client.post("/api/v1/exports", headers=bearer, json={
        "dataset": "measures", "file_format": "xlsx", "columns": ["reference"]}))
    assert api.status_code == 503 and seconds < ANSWER_WITHIN, (api.status_code, seconds)
    assert api.get_json() == {"code": "indisponible", "message": message, "errors": {}}

    with broker_down.app_context(), tenant_context(loire.tenant.id):
        jobs = db.session.execute(sa.select(ExportJob.id, ExportJob.status, ExportJob.error)
                                  .order_by(ExportJob.id)).all()
        failures = db.session.scalars(sa.select(AuditEvent.object_id).where(
            AuditEvent.action == "export.failed").order_by(AuditEvent.seq)).all()
        db.session.remove()
    assert [(status, error) for _id, status, error in jobs] == [(ExportStatus.FAILED, message)] * 3
    assert failures == [job_id for job_id, _status, _error in jobs]

    # What does not need the broker answers as usual.
    for url in ("/tableau-de-bord", "/rapports/exports", f"/rapports/exports/{jobs[0].id}",
                "/rapports/exports/nouveau", "/menages"):
        assert client.get(url).status_code == 200, url
    followed = client.get(f"/api/v1/exports/{jobs[2].id}", headers=bearer)
    assert followed.status_code == 200 and followed.get_json()["status"] == "failed"
    assert client.get("/api/v1/households", headers=bearer).status_code == 200
