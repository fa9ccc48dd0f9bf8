"""Who may call the API: personal tokens (bearer), the site's session with its CSRF header, nobody else."""

from __future__ import annotations

import hashlib

import sqlalchemy as sa

from asll.extensions import db
from asll.models import AuditEvent, Household, Membership, Role, User
from asll.models.api import ApiToken
from asll.tenancy import tenant_context, unscoped
from tests.api.conftest import ApiClient
from tests.conftest import login

NEW_HOUSEHOLD = {"city": "Roanne", "members": [{"last_name": "Petit", "first_name": "Jean"}]}


def _households(app, tenant_id: int) -> list[str]:
    with app.app_context(), tenant_context(tenant_id):
        names = [m.last_name for h in db.session.scalars(sa.select(Household)) for m in h.members]
        db.session.remove()
    return names


def test_without_authentication_the_api_answers_401_in_french(client, world):
    anonymous = ApiClient(client)
    for method, path in (("GET", "/households"), ("POST", "/households"), ("GET", "/me"),
                         ("POST", f"/measures/{world.loire.measure.id}/transitions/start")):
        response = anonymous.open(method, path, json=NEW_HOUSEHOLD)
        assert response.status_code == 401, path
        assert response.get_json() == {
            "code": "authentification_requise", "errors": {},
            "message": "Authentification requise : envoyez un jeton d'accès (en-tête « Authorization: Bearer "
                       "<jeton> ») ou connectez-vous."}
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="asll"'


def test_a_wrong_token_is_refused_and_audited(app, client, world, issue_token):
    secret = issue_token(world.loire, Role.PRESCRIBER)
    for header in (f"Bearer {secret[:-1]}x", "Bearer ", f"Basic {secret}", "Bearer pas-un-jeton"):
        response = client.get("/api/v1/me", headers={"Authorization": header})
        assert response.status_code == 401, header
        assert response.get_json()["code"] == "jeton_invalide"
        assert response.get_json()["message"].startswith("Jeton d'accès invalide")
        assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    with app.app_context():
        failures = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "auth.token_failed").order_by(AuditEvent.id)).all()
        # The two bearer attempts (a malformed header authenticates nobody and is not an attempt).
        assert [(f.tenant_id, f.changes["prefix"][1]) for f in failures] == [
            (None, secret[:12]), (None, "pas-un-jeton")]
        db.session.remove()


def test_a_token_acts_as_its_user_in_its_tenant_and_needs_no_csrf(app, client, world, issue_token, clock):
    secret = issue_token(world.loire, Role.PRESCRIBER)
    api = ApiClient(client, secret)
    me = api.get("/me").get_json()
    assert me["user"]["email"] == world.loire.users[Role.PRESCRIBER].email
    assert (me["tenant"]["code"], me["roles"], me["authentication"]) == ("42", ["prescriber"], "jeton")

    created = api.post("/households", json=NEW_HOUSEHOLD)  # no X-CSRFToken: a token request carries no cookie
    assert created.status_code == 201, created.get_json()
    assert "Petit" in _households(app, world.loire.tenant.id)

    with app.app_context(), unscoped():
        token = db.session.scalar(sa.select(ApiToken))
        # Only the SHA-256 of the secret is stored, and it is used now.
        assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
        assert secret not in (token.prefix, token.label, token.token_hash) and secret.startswith(token.prefix)
        assert token.last_used_at is not None
        db.session.remove()


def test_session_requests_that_change_something_need_the_csrf_header(app, client, world):
    login(client, world.loire.users[Role.PRESCRIBER].email, world.password)
    me = client.get("/api/v1/me")
    assert me.status_code == 200
    assert me.get_json()["authentication"] == "session"
    csrf = me.get_json()["csrf_token"]
    assert csrf

    refused = client.post("/api/v1/households", json=NEW_HOUSEHOLD)
    assert refused.status_code == 400
    assert refused.get_json()["code"] == "csrf"
    assert "X-CSRFToken" in refused.get_json()["message"]
    wrong = client.post("/api/v1/households", json=NEW_HOUSEHOLD, headers={"X-CSRFToken": "faux"})
    assert wrong.status_code == 400 and wrong.get_json()["code"] == "csrf"
    assert _households(app, world.loire.tenant.id) == ["Martin"]

    accepted = client.post("/api/v1/households", json=NEW_HOUSEHOLD, headers={"X-CSRFToken": csrf})
    assert accepted.status_code == 201, accepted.get_json()
    assert sorted(_households(app, world.loire.tenant.id)) == ["Martin", "Petit"]


def test_a_session_without_a_chosen_tenant_is_refused(client, world):
    login(client, world.platform_admin.email, world.password)
    response = client.get("/api/v1/households")
    assert response.status_code == 403
    assert response.get_json()["code"] == "departement_requis"


def test_users_create_list_and_revoke_their_own_tokens(app, client, world, issue_token, clock):
    login(client, world.loire.users[Role.OPERATOR_WORKER].email, world.password)
    csrf = client.get("/api/v1/me").get_json()["csrf_token"]
    created = client.post("/api/v1/tokens", json={"label": "Logiciel de suivi"}, headers={"X-CSRFToken": csrf})
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    secret = body["token"]
    assert secret.startswith("asll_") and secret.startswith(body["prefix"]) and body["revoked"] is False

    api = ApiClient(app.test_client(), secret)  # no session: the token alone
    assert api.get("/me").get_json()["user"]["email"] == world.loire.users[Role.OPERATOR_WORKER].email
    listed = api.get("/tokens").get_json()
    assert [(t["id"], t["label"]) for t in listed] == [(body["id"], "Logiciel de suivi")]
    assert "token" not in listed[0]

    # Another user (the département admin, of the same tenant) cannot see nor revoke it.
    other = ApiClient(app.test_client(), issue_token(world.loire, Role.DEPT_ADMIN))
    assert body["id"] not in [t["id"] for t in other.get("/tokens").get_json()]
    assert other.delete(f"/tokens/{body['id']}").status_code == 404
    assert api.get("/me").status_code == 200  # still valid

    revoked = api.delete(f"/tokens/{body['id']}")
    assert revoked.status_code == 200 and revoked.get_json()["revoked"] is True
    assert api.get("/me").status_code == 401
    with app.app_context(), tenant_context(world.loire.tenant.id):
        actions = db.session.scalars(sa.select(AuditEvent.action).where(
            AuditEvent.object_type == "api_token", AuditEvent.object_id == body["id"]).order_by(AuditEvent.seq)).all()
        assert actions == ["api_token.create", "api_token.revoke"]
        db.session.remove()


def test_a_token_stops_working_when_its_user_or_membership_is_deactivated(app, client, world, issue_token):
    prescriber = ApiClient(client, issue_token(world.loire, Role.PRESCRIBER))
    agent = ApiClient(client, issue_token(world.loire, Role.DEPT_AGENT))
    assert prescriber.get("/me").status_code == 200 and agent.get("/me").status_code == 200
    with app.app_context():
        db.session.execute(sa.update(User).where(User.id == world.loire.users[Role.PRESCRIBER].id).values(active=False))
        with tenant_context(world.loire.tenant.id):
            db.session.execute(sa.update(Membership).where(
                Membership.user_id == world.loire.users[Role.DEPT_AGENT].id).values(active=False))
        db.session.commit()
        db.session.remove()
    assert prescriber.get("/me").status_code == 401
    assert agent.get("/me").status_code == 401


def test_the_command_line_issues_a_token_shown_once(app, client, world):
    runner = app.test_cli_runner()
    email = world.orne.users[Role.DEPT_AGENT].email
    result = runner.invoke(args=["asll", "api-token", "create", email, "61", "--label", "Tableau de bord"])
    assert result.exit_code == 0, result.output
    secret = result.output.strip().splitlines()[-1]
    me = ApiClient(client, secret).get("/me").get_json()
    assert (me["user"]["email"], me["tenant"]["code"], me["roles"]) == (email, "61", ["dept_agent"])

    not_member = runner.invoke(args=["asll", "api-token", "create", email, "42"])
    assert not_member.exit_code == 1
    assert "n'est membre d'aucun service du département Loire" in not_member.output
    unknown = runner.invoke(args=["asll", "api-token", "create", "personne@exemple.fr", "61"])
    assert unknown.exit_code == 1 and "Aucun compte actif" in unknown.output
