"""The digest's one-click unsubscribe link: confirmation first, then back to one e-mail per reminder."""

import sqlalchemy as sa

from asll.extensions import db
from asll.models import AuditEvent, Role
from asll.services import reminders
from asll.tenancy import tenant_context
from tests.conftest import csrf_token


def test_digest_unsubscribe_link_asks_then_unsubscribes(world, client, app):
    user = world.loire.users[Role.OPERATOR_WORKER]
    with app.app_context():
        token = reminders.digest_unsubscribe_token(world.loire.tenant.id, user.id)
    page = client.get(f"/rappels/desabonnement/{token}")
    assert page.status_code == 200 and "Ne plus recevoir le récapitulatif quotidien" in page.get_data(as_text=True)
    done = client.post(f"/rappels/desabonnement/{token}", data={"csrf_token": csrf_token(page.get_data(as_text=True))})
    assert "vous ne recevrez plus de récapitulatif quotidien" in done.get_data(as_text=True)
    with app.app_context(), tenant_context(world.loire.tenant.id):
        actions = db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.actor_id == user.id)).all()
    assert any("preference" in action for action in actions), actions


def test_a_forged_unsubscribe_link_is_refused(world, client):
    page = client.get("/rappels/desabonnement/pas-un-vrai-jeton")
    response = client.post("/rappels/desabonnement/pas-un-vrai-jeton",
                           data={"csrf_token": csrf_token(page.get_data(as_text=True))})
    assert response.status_code == 404
    assert "Lien de désabonnement invalide ou expiré." in response.get_data(as_text=True)
