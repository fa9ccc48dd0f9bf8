"""Login, logout, CSRF, session cookies and the explicit choice of tenant."""

import sqlalchemy as sa

from asll.extensions import db
from asll.models import AuditEvent, Role
from asll.services import users
from asll.services.actor import Actor
from asll.tenancy import unscoped
from tests.conftest import csrf_token, login


def test_bad_login_gets_a_french_error_and_no_session(world, client):
    response = login(client, world.loire.users[Role.PRESCRIBER].email, "mauvais-mot-de-passe")
    assert response.status_code == 401
    assert "Adresse électronique ou mot de passe incorrect." in response.get_data(as_text=True)
    with client.session_transaction() as session:
        assert "_user_id" not in session
    follow = client.get("/tableau-de-bord")
    assert follow.status_code == 302 and "/connexion" in follow.headers["Location"]


def test_unknown_email_gets_the_same_error_and_is_audited(world, client, app):
    response = login(client, "personne@test.asll.fr", "peu-importe-1234")
    assert "Adresse électronique ou mot de passe incorrect." in response.get_data(as_text=True)
    with app.app_context(), unscoped():
        event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "auth.login_failed")).one()
    assert event.actor_label == "personne@test.asll.fr" and event.tenant_id is None


def test_empty_login_form_lists_french_field_errors(world, client):
    page = client.get("/connexion")
    response = client.post("/connexion", data={"email": "pas-une-adresse", "password": "",
                                               "csrf_token": csrf_token(page.get_data(as_text=True))})
    html = response.get_data(as_text=True)
    assert "Adresse électronique invalide." in html and "Saisissez votre mot de passe." in html
    assert 'href="#password"' in html  # the error summary links to the field


def test_login_without_csrf_token_is_refused(world, client):
    response = client.post("/connexion", data={"email": world.loire.users[Role.PRESCRIBER].email,
                                               "password": world.password})
    assert response.status_code == 400
    assert "Le formulaire a expiré" in response.get_data(as_text=True)
    with client.session_transaction() as session:
        assert "_user_id" not in session


def test_good_login_reaches_the_dashboard_of_the_only_tenant(world, client):
    response = login(client, world.loire.users[Role.PRESCRIBER].email, world.password)
    assert response.status_code == 302
    page = client.get("/tableau-de-bord")
    assert page.status_code == 200
    assert "Tableau de bord – Loire (42)" in page.get_data(as_text=True)


def test_logout_needs_a_post_with_csrf(world, client):
    login(client, world.loire.users[Role.PRESCRIBER].email, world.password)
    assert client.get("/deconnexion").status_code == 405
    assert client.post("/deconnexion").status_code == 400  # no CSRF token
    dashboard = client.get("/tableau-de-bord")
    assert dashboard.status_code == 200  # still logged in
    client.post("/deconnexion", data={"csrf_token": csrf_token(dashboard.get_data(as_text=True))})
    assert client.get("/tableau-de-bord").status_code == 302


def test_session_cookie_is_httponly_and_samesite(world, client):
    response = login(client, world.loire.users[Role.PRESCRIBER].email, world.password)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_production_config_uses_secure_cookies(monkeypatch):
    from asll.config import load_config

    monkeypatch.delenv("ASLL_SECURE_COOKIES", raising=False)
    monkeypatch.setenv("ASLL_ENV", "production")
    config = load_config()
    assert config["SESSION_COOKIE_SECURE"] and config["REMEMBER_COOKIE_SECURE"]
    assert config["SESSION_COOKIE_HTTPONLY"] and config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_user_with_two_tenants_must_choose_and_can_switch(world, client, app):
    with app.app_context():
        user = users.create_user(Actor.system(), {"email": "double@test.asll.fr", "full_name": "Double Appartenance",
                                                  "password": world.password})
        users.add_membership(Actor.system(world.loire.tenant.id), user, world.loire.tenant.id, Role.AUDITOR)
        users.add_membership(Actor.system(world.orne.tenant.id), user, world.orne.tenant.id, Role.AUDITOR)
        db.session.commit()
    login(client, "double@test.asll.fr", world.password)
    assert client.get("/tableau-de-bord").headers["Location"].endswith("/departement")
    choice = client.get("/departement")
    html = choice.get_data(as_text=True)
    assert "Loire (42)" in html and "Orne (61)" in html
    client.post("/departement", data={"tenant_id": world.orne.tenant.id, "csrf_token": csrf_token(html)})
    assert "Orne (61)" in client.get("/tableau-de-bord").get_data(as_text=True)
    # The Orne measure is visible, the Loire one is not, until the user switches.
    assert client.get(f"/mesures/{world.orne.measure.id}").status_code == 200
    assert client.get(f"/mesures/{world.loire.measure.id}").status_code == 404
    html = client.get("/departement").get_data(as_text=True)
    client.post("/departement", data={"tenant_id": world.loire.tenant.id, "csrf_token": csrf_token(html)})
    assert client.get(f"/mesures/{world.loire.measure.id}").status_code == 200


def test_choosing_a_tenant_without_membership_is_refused(world, client):
    login(client, world.loire.users[Role.PRESCRIBER].email, world.password)
    html = client.get("/tableau-de-bord").get_data(as_text=True)
    response = client.post("/departement", data={"tenant_id": world.orne.tenant.id, "csrf_token": csrf_token(html)})
    assert response.status_code == 422  # the form is shown again with its French message, nothing chosen
    assert "Département : N&#39;est pas un choix valide." in response.get_data(as_text=True)
    assert "Tableau de bord – Loire (42)" in client.get("/tableau-de-bord").get_data(as_text=True)


def test_platform_admin_has_no_access_to_households(world, client):
    login(client, world.platform_admin.email, world.password)
    assert client.get(f"/menages/{world.loire.household.id}").status_code in (302, 404)
    response = client.get(f"/menages/{world.loire.household.id}", follow_redirects=True)
    assert "M-42-0001" not in response.get_data(as_text=True)
