"""Rate limits: failed logins per account and per IP, password reset, token creation, the API per
token; a French 429 (page or JSON) saying how long to wait, with Retry-After; waits that grow
with the failures and always end."""

from __future__ import annotations

from asll.models import Role
from tests.accounts.conftest import logged_in, text
from tests.conftest import csrf_token


def _attempt(client, email: str, password: str, ip: str = "127.0.0.1"):
    page = client.get("/connexion", environ_base={"REMOTE_ADDR": ip})
    return client.post("/connexion", data={"email": email, "password": password,
                                           "csrf_token": csrf_token(text(page))}, environ_base={"REMOTE_ADDR": ip})


def test_the_11th_failed_login_of_an_account_waits_and_so_does_the_right_password(app, world, later):
    email = world.loire.users[Role.PRESCRIBER].email
    client = app.test_client()
    # Ten failures from ten addresses: each is an ordinary « incorrect » answer.
    for i in range(10):
        assert _attempt(client, email, f"mauvais-{i}", ip=f"192.0.2.{i + 1}").status_code == 401
    refused = _attempt(client, email, "mauvais-10", ip="192.0.2.50")
    assert refused.status_code == 429
    assert "Trop de tentatives" in text(refused) and "patientez 15 minutes" in text(refused)
    assert refused.headers["Retry-After"] == "900"
    assert refused.headers["Cache-Control"] == "no-store"
    # The right password waits too, from anywhere, while another account is not affected.
    right = _attempt(client, email, world.password, ip="198.51.100.7")
    assert right.status_code == 429 and "patientez" in text(right)
    assert _attempt(client, world.loire.users[Role.AUDITOR].email, world.password).status_code == 302
    # The wait ends: 15 minutes after the first failure the right password logs in.
    later(minutes=14)
    wait = int(_attempt(app.test_client(), email, world.password).headers["Retry-After"])
    assert 0 < wait <= 60
    later(minutes=1, seconds=1)
    assert _attempt(app.test_client(), email, world.password).status_code == 302


def test_the_wait_grows_with_the_failures_but_never_locks_for_good(app, world, later):
    email = world.loire.users[Role.PRESCRIBER].email
    client = app.test_client()
    for i in range(10):
        _attempt(client, email, f"mauvais-{i}", ip=f"192.0.2.{i + 1}")
    first_wait = int(_attempt(client, email, "x" * 12).headers["Retry-After"])
    later(minutes=15, seconds=1)
    for i in range(10):  # ten more within the hour
        assert _attempt(client, email, f"encore-{i}", ip=f"192.0.2.{i + 20}").status_code == 401
    second = _attempt(client, email, world.password)
    second_wait = int(second.headers["Retry-After"])
    assert second.status_code == 429 and first_wait == 900 < second_wait <= 3600
    assert "patientez 44 minutes" in text(second)
    later(seconds=second_wait + 1)
    assert _attempt(app.test_client(), email, world.password).status_code == 302


def test_failed_logins_from_one_address_are_limited_whatever_the_account(app, world):
    client = app.test_client()
    for i in range(30):
        assert _attempt(client, f"inconnu-{i}@test.asll.fr", "mauvais-mot-de-passe", ip="203.0.113.9").status_code == 401
    blocked = _attempt(client, world.loire.users[Role.AUDITOR].email, world.password, ip="203.0.113.9")
    assert blocked.status_code == 429 and blocked.headers["Retry-After"]
    # Another address is not affected; successful logins never count.
    for _ in range(3):
        assert _attempt(app.test_client(), world.loire.users[Role.AUDITOR].email, world.password,
                        ip="203.0.113.10").status_code == 302


def test_password_reset_requests_are_limited_per_account(app, world, folders):
    email = world.loire.users[Role.AUDITOR].email
    client = app.test_client()

    def ask(address):
        page = client.get("/mot-de-passe-oublie")
        return client.post("/mot-de-passe-oublie", data={"email": address, "csrf_token": csrf_token(text(page))})

    for _ in range(3):
        assert ask(email).status_code == 200
    refused = ask(email)
    assert refused.status_code == 429 and "Trop de tentatives" in text(refused)
    assert ask("autre@test.asll.fr").status_code == 200


def test_token_creation_and_the_api_per_token_answer_a_french_429_in_json(app, world):
    client = logged_in(app, world.loire.users[Role.DEPT_AGENT].email, world.password)
    csrf = {"X-CSRFToken": client.get("/api/v1/me").get_json()["csrf_token"]}
    secrets = [client.post("/api/v1/tokens", json={"label": f"jeton {i}"}, headers=csrf) for i in range(11)]
    assert [r.status_code for r in secrets] == [201] * 10 + [429]
    body = secrets[-1].get_json()
    assert body["code"] == "trop_de_requetes" and body["message"].startswith("Trop de requêtes : réessayez dans ")
    assert int(secrets[-1].headers["Retry-After"]) > 0
    saved = app.config["RATELIMIT_API"]
    app.config["RATELIMIT_API"] = "3 per minute"
    try:
        first, second = ({"Authorization": f"Bearer {r.get_json()['token']}"} for r in secrets[:2])
        api = app.test_client()
        assert [api.get("/api/v1/households", headers=first).status_code for _ in range(4)] == [200, 200, 200, 429]
        limited = api.get("/api/v1/households", headers=first)
        assert limited.get_json()["message"].startswith("Trop de requêtes : réessayez dans ")
        assert limited.headers["Cache-Control"] == "no-store"
        assert api.get("/api/v1/households", headers=second).status_code == 200  # per token
    finally:
        app.config["RATELIMIT_API"] = saved
