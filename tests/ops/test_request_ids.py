"""Request ids (logs, response header, audit entries, tasks) and the client's address behind proxies."""

from __future__ import annotations

import io
import json
import logging
import re
import socket

import sqlalchemy as sa

from asll import logging_setup
from asll.extensions import db
from asll.models import AuditEvent
from asll.tenancy import unscoped
from tests.conftest import csrf_token

PROXY, CLIENT = "10.0.0.5", "203.0.113.7"


def _failed_login(client, **headers):
    page = client.get("/connexion", environ_base={"REMOTE_ADDR": PROXY}, headers=headers)
    return client.post("/connexion", data={"email": "personne@exemple.fr", "password": "pas-le-bon-mot-de-passe",
                                           "csrf_token": csrf_token(page.get_data(as_text=True))},
                       environ_base={"REMOTE_ADDR": PROXY}, headers=headers)


def _last_failed_login(application) -> AuditEvent:
    with application.app_context(), unscoped():
        event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "auth.login_failed")
                                   .order_by(AuditEvent.id.desc()).limit(1)).one()
        db.session.remove()
    return event


def test_without_trusted_proxies_the_audit_records_the_peer(app, client):
    _failed_login(client, **{"X-Forwarded-For": CLIENT})
    assert _last_failed_login(app).ip == PROXY  # a client could write any X-Forwarded-For


def test_behind_one_trusted_proxy_the_audit_records_the_client(other_app):
    proxied = other_app({"TRUSTED_PROXIES": 1})
    _failed_login(proxied.test_client(), **{"X-Forwarded-For": f"198.51.100.1, {CLIENT}"})
    assert _last_failed_login(proxied).ip == CLIENT  # the right-most entry, the one our proxy added


def test_the_request_id_is_echoed_signed_into_the_audit_entry_and_checked(app, client, maintenance_db):
    from asll.services import audit

    response = _failed_login(client, **{"X-Request-ID": "lb-4f1c2a"})
    assert response.headers["X-Request-ID"] == "lb-4f1c2a"
    event = _last_failed_login(app)
    assert event.request_id == "lb-4f1c2a"
    with app.app_context():
        assert audit.verify_chain(None) == []
        with maintenance_db() as connection:  # someone edits the request id in the database
            connection.execute(sa.update(AuditEvent).where(AuditEvent.id == event.id).values(request_id="autre"))
        problems = audit.verify_chain(None)
        db.session.remove()
    assert problems and "contenu modifié" in problems[0].message


def test_an_insane_request_id_is_replaced_by_a_generated_one(app, client):
    response = client.get("/healthz", headers={"X-Request-ID": "a b\tc" + "x" * 300})
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])
    assert client.get("/healthz").headers["X-Request-ID"] != response.headers["X-Request-ID"]


def test_json_logs_carry_the_request_id(other_app):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    logged = other_app({"LOG_FORMAT": "json", "CELERY": {"broker_url": f"redis://127.0.0.1:{port}/0"}})
    handler = next(h for h in logging.getLogger().handlers if getattr(h, "_asll_json_handler", False))
    stream = io.StringIO()
    handler.setStream(stream)
    assert logged.test_client().get("/readyz", headers={"X-Request-ID": "json-1"}).status_code == 503
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    broker = [line for line in lines if line.get("logger") == "asll.health"]
    assert broker and broker[0]["request_id"] == "json-1" and broker[0]["level"] == "WARNING"
    assert "Service « broker » injoignable" in broker[0]["message"]


def test_a_task_sent_during_a_request_carries_its_id(app):
    """The id rides in the message headers and is the task's id while the worker runs it."""
    from celery import signals

    headers: dict = {}
    with app.test_request_context(headers={"X-Request-ID": "web-77"}):
        app.preprocess_request()
        signals.before_task_publish.send(sender="asll.ping", body=(), exchange="", routing_key="celery",
                                         headers=headers, properties={}, declare=[], retry_policy=None)
    assert headers[logging_setup.TASK_HEADER] == "web-77"
    assert logging_setup.current_request_id() is None  # the request is over

    class Task:
        class request:  # noqa: N801 - what Celery's task.request offers
            asll_request_id = "web-77"

    signals.task_prerun.send(sender=Task, task_id="t-1", task=Task, args=(), kwargs={})
    try:
        assert logging_setup.current_request_id() == "web-77"
    finally:
        signals.task_postrun.send(sender=Task, task_id="t-1", task=Task, args=(), kwargs={}, retval=None, state="")
    assert logging_setup.current_request_id() is None
