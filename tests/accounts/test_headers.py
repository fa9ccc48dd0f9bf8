"""Headers: nothing holding personal data may be kept by a cache; HSTS in production."""

from __future__ import annotations

from asll.models import Role
from tests.accounts.conftest import logged_in


def test_pages_downloads_and_the_api_are_not_stored(app, world):
    with app.app_context():
        world.loire.add_document()
    client = logged_in(app, world.loire.users[Role.PRESCRIBER].email, world.password)
    responses = {
        "page": client.get(f"/menages/{world.loire.household.id}"),
        "download": client.get(f"/documents/{world.loire.document.id}"),
        "api": client.get("/api/v1/households"),
        "api error": client.get("/api/v1/households/2147483647"),
        "login": app.test_client().get("/connexion"),
        "account": client.get("/compte"),
    }
    for name, response in responses.items():
        assert response.status_code in (200, 404), name
        assert response.headers["Cache-Control"] == "no-store", name
    assert responses["download"].data.startswith(b"%PDF")
    static = client.get("/static/asll.css")
    assert static.status_code == 200 and "no-store" not in static.headers.get("Cache-Control", "")


def test_hsts_is_sent_in_production_only(app, monkeypatch):
    from asll.config import load_config

    monkeypatch.setenv("ASLL_ENV", "production")
    assert load_config()["HSTS_SECONDS"] == 31536000
    monkeypatch.setenv("ASLL_ENV", "development")
    assert load_config()["HSTS_SECONDS"] == 0
    assert "Strict-Transport-Security" not in app.test_client().get("/connexion").headers  # the test app
    saved = app.config["HSTS_SECONDS"]
    app.config["HSTS_SECONDS"] = 31536000  # what production loads
    try:
        response = app.test_client().get("/connexion")
    finally:
        app.config["HSTS_SECONDS"] = saved
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
