"""Ten clicks at once on "Renvoyer" for one undelivered reminder: it goes back to the queue once,
with one audit entry and one message to the worker; the nine other clicks get the French 409."""

from __future__ import annotations

import html
from collections import Counter

import sqlalchemy as sa

from asll.extensions import db
from asll.models import AuditEvent, Role
from asll.models.reminders import OutboxMessage, OutboxState
from asll.services import audit, reminders
from asll.tenancy import tenant_context
from tests.concurrency.conftest import N, statuses
from tests.conftest import csrf_token, login
from tests.reminders.conftest import bounced_reminder, rp  # noqa: F401  (rp: the fake plugin fixture)


def test_simultaneous_clicks_on_renvoyer_send_the_reminder_again_once(app, world, rp, clock, folders, burst,
                                                                      monkeypatch):
    loire = world.loire
    with app.app_context():
        outbox_id = bounced_reminder(loire, rp, clock, "ancienne.adresse@loire.invalid")
        db.session.remove()
    enqueued: list[dict] = []
    monkeypatch.setattr(app.extensions["celery"].tasks["asll.reminders.send"], "apply_async",
                        lambda **kwargs: enqueued.append(kwargs["kwargs"]))
    client = app.test_client()
    assert login(client, loire.users[Role.DEPT_ADMIN].email, world.password).status_code == 302
    shown = client.get("/administration/rappels")
    assert "ancienne.adresse@loire.invalid" in shown.get_data(as_text=True)
    token = csrf_token(shown.get_data(as_text=True))

    responses = burst(client, lambda clone: clone.post("/administration/rappels/renvoi", data={
        "csrf_token": token, "outbox_id": str(outbox_id)}))

    assert statuses(responses) == Counter({302: 1, 409: N - 1}), [r.status_code for r in responses]
    for response in responses:
        if response.status_code == 409:
            assert reminders.RETRY_CONFLICT in html.unescape(response.get_data(as_text=True))
    assert enqueued == [{"tenant_id": loire.tenant.id, "outbox_id": outbox_id}]
    with app.app_context(), tenant_context(loire.tenant.id):
        message = db.session.get(OutboxMessage, outbox_id)
        worker_email = loire.users[Role.OPERATOR_WORKER].email
        assert (message.state, message.attempts, message.recipient) == (OutboxState.PENDING, 0, worker_email)
        retries = db.session.scalars(sa.select(AuditEvent).where(
            AuditEvent.action == "reminders.retry").order_by(AuditEvent.seq)).all()
        assert [(e.object_id, e.changes["state"]) for e in retries] == [(outbox_id, ["failed", "pending"])]
        assert audit.verify_chain(loire.tenant.id) == []
        db.session.remove()
