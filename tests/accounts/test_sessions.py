"""Server-side sessions: a copied cookie stops working at logout, password change, suspension,
« déconnecter mes autres sessions », after 30 minutes idle and 12 hours in all; tokens expire."""

from __future__ import annotations

import sqlalchemy as sa

from asll.extensions import db
from asll.models import Membership, Role, UserSession
from asll.models.api import ApiToken
from asll.services import sessions, users
from asll.services.actor import Actor
from asll.tenancy import tenant_context, unscoped
from tests.accounts.conftest import clone_client, logged_in, post_form, text
from tests.conftest import csrf_token


def _refused(client, world) -> None:
    """The web sends to the login page, the API answers 401: the cookie gives nothing any more."""
    page = client.get(f"/menages/{world.loire.household.id}")
    assert page.status_code == 302 and "/connexion" in page.headers["Location"]
    api = client.get("/api/v1/households")
    assert api.status_code == 401 and api.get_json()["code"] == "authentification_requise"


def _allowed(client, world) -> None:
    assert client.get(f"/menages/{world.loire.household.id}").status_code == 200
    assert client.get("/api/v1/households").status_code == 200


def test_a_cookie_replayed_after_logout_gets_the_login_page_and_a_401(app, world):
    client = logged_in(app, world.loire.users[Role.PRESCRIBER].email, world.password)
    copy = clone_client(app, client)
    _allowed(copy, world)
    dashboard = client.get("/tableau-de-bord")
    client.post("/deconnexion", data={"csrf_token": csrf_token(text(dashboard))})
    _refused(copy, world)
    # Nor can the replayed cookie create an API token.
    me = copy.get("/api/v1/me")
    assert me.status_code == 401
    assert copy.post("/api/v1/tokens", json={"label": "volé"}).status_code == 401
    with app.app_context(), unscoped():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0
        assert db.session.scalars(sa.select(UserSession.revoked_reason)).all() == ["deconnexion"]


def test_a_password_change_ends_the_other_sessions_and_the_old_cookie(app, world):
    email = world.loire.users[Role.PRESCRIBER].email
    laptop = logged_in(app, email, world.password)
    phone = logged_in(app, email, world.password)
    copy_before = clone_client(app, laptop)
    changed = post_form(laptop, "/compte/mot-de-passe", {
        "current": world.password, "password": "Girafe-lundi-47-parapluie", "confirmation": "Girafe-lundi-47-parapluie"},
        page_url="/compte")
    assert changed.status_code == 302
    assert "Vos autres sessions ont été fermées." in text(laptop.get("/compte"))
    _allowed(laptop, world)  # this session goes on, with a new secret
    _refused(phone, world)  # every other device is logged out
    _refused(copy_before, world)  # and a copy of this very cookie made before the change is worthless
    # The new password works, the old one no more.
    assert logged_in(app, email, "Girafe-lundi-47-parapluie")
    assert post_form(app.test_client(), "/connexion", {"email": email, "password": world.password}).status_code == 401


def test_a_suspended_role_ends_the_persons_sessions_at_once(app, world, as_role):
    worker = world.loire.users[Role.OPERATOR_WORKER]
    client = logged_in(app, worker.email, world.password)
    copy = clone_client(app, client)
    _allowed(copy, world)
    admin = as_role(Role.DEPT_ADMIN)
    with app.app_context(), tenant_context(world.loire.tenant.id):
        membership_id = db.session.scalar(sa.select(Membership.id).where(Membership.user_id == worker.id))
    post_form(admin, "/administration/utilisateurs/habilitation", {"membership_id": membership_id, "active": "0"},
              page_url="/administration/utilisateurs")
    _refused(client, world)
    _refused(copy, world)
    with app.app_context(), unscoped():
        assert db.session.scalars(sa.select(UserSession.revoked_reason).where(
            UserSession.user_id == worker.id)).all() == ["suspension"]


def test_a_suspended_account_loses_its_sessions_and_its_tokens(app, world, clock):
    agent = world.loire.users[Role.DEPT_AGENT]
    client = logged_in(app, agent.email, world.password)
    secret = client.post("/api/v1/tokens", json={"label": "tableur"},
                         headers={"X-CSRFToken": client.get("/api/v1/me").get_json()["csrf_token"]}).get_json()["token"]
    bearer = {"Authorization": f"Bearer {secret}"}
    assert app.test_client().get("/api/v1/households", headers=bearer).status_code == 200
    with app.app_context():
        users.set_account_active(Actor.system(label="test"), agent.id, False)
    _refused(client, world)
    assert app.test_client().get("/api/v1/households", headers=bearer).status_code == 401
    with app.app_context():
        users.set_account_active(Actor.system(label="test"), agent.id, True)
    # Restoring the account does not bring its tokens back: they were revoked with it.
    assert app.test_client().get("/api/v1/households", headers=bearer).status_code == 401
    assert logged_in(app, agent.email, world.password)


def test_end_my_other_sessions(app, world):
    email = world.loire.users[Role.AUDITOR].email
    here = logged_in(app, email, world.password)
    elsewhere = logged_in(app, email, world.password)
    account = here.get("/compte")
    assert account.status_code == 200 and text(account).count("Cette session") == 1
    here.post("/compte/sessions", data={"csrf_token": csrf_token(text(account))})
    assert "Vos autres sessions sont fermées." in text(here.get("/compte"))
    _allowed(here, world)
    _refused(elsewhere, world)


def test_a_session_ends_after_30_minutes_without_a_request(app, world, later):
    client = logged_in(app, world.loire.users[Role.PRESCRIBER].email, world.password)
    later(minutes=29)
    _allowed(client, world)  # each request restarts the idle count
    later(minutes=29)
    _allowed(client, world)
    later(minutes=31)
    page = client.get("/tableau-de-bord", follow_redirects=True)
    assert "Votre session a expiré après une période d&#39;inactivité." in text(page)
    _refused(client, world)
    with app.app_context(), unscoped():
        assert db.session.scalars(sa.select(UserSession.revoked_reason)).all() == ["inactivite"]


def test_a_session_ends_12_hours_after_login_however_active(app, world, later):
    client = logged_in(app, world.loire.users[Role.PRESCRIBER].email, world.password)
    for _ in range(35):  # a request every 20 minutes for 11 h 40
        later(minutes=20)
        assert client.get("/tableau-de-bord").status_code == 200
    later(minutes=19)
    assert client.get("/tableau-de-bord").status_code == 200  # 11 h 59
    later(minutes=2)  # 12 h 01 after login
    page = client.get("/tableau-de-bord", follow_redirects=True)
    assert "Votre session a atteint sa durée maximale." in text(page)
    _refused(client, world)


def test_idle_and_lifetime_are_configurable(app, world, later):
    saved = app.config["SESSION_IDLE_MINUTES"], app.config["SESSION_LIFETIME_HOURS"]
    app.config["SESSION_IDLE_MINUTES"], app.config["SESSION_LIFETIME_HOURS"] = 5, 1
    try:
        client = logged_in(app, world.loire.users[Role.PRESCRIBER].email, world.password)
        later(minutes=4)
        _allowed(client, world)
        later(minutes=6)
        _refused(client, world)
        other = logged_in(app, world.loire.users[Role.PRESCRIBER].email, world.password)
        for _ in range(14):
            later(minutes=4)
            assert other.get("/tableau-de-bord").status_code == 200
        later(minutes=3)
        assert other.get("/tableau-de-bord").status_code == 200  # 59 minutes after login
        later(minutes=2)
        _refused(other, world)
    finally:
        app.config["SESSION_IDLE_MINUTES"], app.config["SESSION_LIFETIME_HOURS"] = saved


def test_the_session_id_is_new_at_each_login_and_after_choosing_a_tenant(app, world):
    with app.app_context():
        user = users.create_user(Actor.system(), {"email": "double@test.asll.fr", "full_name": "Double Appartenance",
                                                  "password": world.password})
        users.add_membership(Actor.system(world.loire.tenant.id), user, world.loire.tenant.id, Role.AUDITOR)
        users.add_membership(Actor.system(world.orne.tenant.id), user, world.orne.tenant.id, Role.AUDITOR)
        db.session.commit()
    client = app.test_client()
    client.get("/connexion")
    with client.session_transaction() as before:
        assert sessions.COOKIE_KEY not in before
    logged = logged_in(app, "double@test.asll.fr", world.password)
    again = logged_in(app, "double@test.asll.fr", world.password)
    with logged.session_transaction() as first, again.session_transaction() as second:
        assert first[sessions.COOKIE_KEY] != second[sessions.COOKIE_KEY]
    copy = clone_client(app, logged)
    choice = logged.get("/departement")
    logged.post("/departement", data={"tenant_id": world.loire.tenant.id, "csrf_token": csrf_token(text(choice))})
    assert logged.get(f"/mesures/{world.loire.measure.id}").status_code == 200
    # The cookie from before the choice of tenant (other privileges) no longer opens anything.
    assert copy.get("/tableau-de-bord").status_code == 302
    assert copy.get("/api/v1/households").status_code == 401


def test_a_token_past_its_expiry_is_refused(app, world, later):
    client = logged_in(app, world.loire.users[Role.DEPT_AGENT].email, world.password)
    csrf = {"X-CSRFToken": client.get("/api/v1/me").get_json()["csrf_token"]}
    default = client.post("/api/v1/tokens", json={"label": "un an"}, headers=csrf)
    short = client.post("/api/v1/tokens", json={"label": "une semaine", "expires_in_days": 7}, headers=csrf)
    assert default.status_code == short.status_code == 201
    assert default.get_json()["expires_at"].startswith("2027-03-02")  # shown at creation: a year
    assert short.get_json()["expires_at"].startswith("2026-03-09")
    too_long = client.post("/api/v1/tokens", json={"label": "dix ans", "expires_in_days": 3650}, headers=csrf)
    assert too_long.status_code == 422 and too_long.get_json()["errors"] == {"expires_in_days": ["Au plus 365 jours."]}
    year, week = ({"Authorization": f"Bearer {r.get_json()['token']}"} for r in (default, short))
    api = app.test_client()
    assert api.get("/api/v1/households", headers=week).status_code == 200
    later(days=7, minutes=1)
    refused = api.get("/api/v1/households", headers=week)
    assert refused.status_code == 401 and refused.get_json()["code"] == "jeton_invalide"
    assert api.get("/api/v1/households", headers=year).status_code == 200
    later(days=359)
    assert api.get("/api/v1/households", headers=year).status_code == 401
    with app.app_context(), tenant_context(world.loire.tenant.id):
        used = db.session.scalars(sa.select(ApiToken.last_used_at).order_by(ApiToken.id)).all()
    assert all(used)  # last use recorded, shown on « Mon compte »
