"""The département admin's page of reminders that could not be delivered, and sending one again."""

from __future__ import annotations

import re

import sqlalchemy as sa

from asll.extensions import db
from asll.models import AuditEvent, Role
from asll.models.reminders import OutboxMessage, OutboxState
from asll.services import reminders
from asll.tenancy import tenant_context
from tests.conftest import csrf_token
from tests.reminders.conftest import bounced_reminder
from tests.web.conftest import as_role, page, text  # noqa: F401  (as_role: a fixture)


def test_the_admin_sees_undelivered_reminders_and_sends_one_again(app, world, rp, clock, eager, folders, as_role):
    # No application context around the requests: each test client must get its own ``g``.
    with app.app_context():
        loire_id = bounced_reminder(world.loire, rp, clock, "ancienne.adresse@loire.invalid")
        bounced_reminder(world.orne, rp, clock, "ancienne.adresse@orne.invalid")
        db.session.remove()
    admin = as_role(Role.DEPT_ADMIN)
    assert "1 rappel(s) non remis" in re.sub(r"<[^>]+>", "", text(admin.get("/tableau-de-bord")))
    shown = admin.get("/administration/rappels")
    page(shown).assert_labelled()
    body = text(shown)
    assert "Refus définitif du serveur SMTP (550)" in body and "Échec définitif" in body
    assert "ancienne.adresse@loire.invalid" in body and "A-42-2026-" in body
    assert "ancienne.adresse@orne.invalid" not in body, "another département's failures must not show"
    token = csrf_token(shown.get_data(as_text=True))

    agent = as_role(Role.DEPT_AGENT)
    agent_token = csrf_token(agent.get("/tableau-de-bord").get_data(as_text=True))
    assert agent.post("/administration/rappels/renvoi", data={
        "csrf_token": agent_token, "outbox_id": str(loire_id)}).status_code == 403
    assert admin.post("/administration/rappels/renvoi", data={
        "csrf_token": token, "outbox_id": "99999999"}).status_code == 404

    # The address was fixed on the account meanwhile: the reminder goes there, at once.
    sent = admin.post("/administration/rappels/renvoi", data={"csrf_token": token, "outbox_id": str(loire_id)},
                      follow_redirects=True)
    assert "Le message a été remis dans la file d&#39;envoi." in text(sent)
    assert "Aucun envoi en difficulté" in text(sent)
    assert "rappel(s) non remis" not in text(admin.get("/tableau-de-bord"))
    worker_email = world.loire.users[Role.OPERATOR_WORKER].email
    mails = list((folders / "mail").glob("*.eml"))
    assert len(mails) == 1 and f"To: {worker_email}" in mails[0].read_text()
    with app.app_context(), tenant_context(world.loire.tenant.id):
        message = db.session.get(OutboxMessage, loire_id)
        assert (message.state, message.recipient) == (OutboxState.SENT, worker_email)
        assert db.session.scalars(sa.select(AuditEvent.action).where(
            AuditEvent.object_type == "reminder_outbox").order_by(AuditEvent.id)).all() == [
            "reminders.retry", "reminders.sent"]
        db.session.remove()
    # Sent once is enough: a second click (the page was not reloaded) gets the French 409, nothing changes.
    again = admin.post("/administration/rappels/renvoi", data={"csrf_token": token, "outbox_id": str(loire_id)})
    assert again.status_code == 409 and reminders.RETRY_CONFLICT.replace("'", "&#39;") in text(again)
    assert len(list((folders / "mail").glob("*.eml"))) == 1
    with app.app_context(), tenant_context(world.loire.tenant.id):
        assert db.session.scalars(sa.select(AuditEvent.action).where(
            AuditEvent.object_type == "reminder_outbox").order_by(AuditEvent.id)).all() == [
            "reminders.retry", "reminders.sent"]
        db.session.remove()
