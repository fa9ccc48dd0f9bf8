"""Second factor (TOTP): enrolment, login with a code, codes used once, and the setting that
requires it of département and platform administrators."""

from __future__ import annotations

import re

import pyotp

from asll.models import Role
from tests.accounts.conftest import logged_in, post_form, text
from tests.conftest import login


def _key(page) -> str:
    return re.search(r'id="cle-totp">([A-Z2-7 ]+)<', text(page)).group(1).replace(" ", "")


def _enrol(client, url: str = "/compte/double-authentification") -> str:
    page = client.get(url)
    assert page.status_code == 200 and 'src="data:image/svg+xml;base64,' in text(page)
    key = _key(page)
    wrong = post_form(client, url, {"code": "000000" if pyotp.TOTP(key).now() != "000000" else "111111"})
    assert wrong.status_code in (401, 422) and "Code incorrect ou expiré" in text(wrong)
    done = post_form(client, url, {"code": pyotp.TOTP(key).now()})
    assert done.status_code == 302, text(done)[:500]
    return key


def test_enrolment_then_every_login_asks_for_a_fresh_code(app, world, later):
    email = world.loire.users[Role.PRESCRIBER].email
    client = logged_in(app, email, world.password)
    key = _enrol(client)
    assert "Activée" in text(client.get("/compte"))
    later(seconds=31)
    second = app.test_client()
    first_step = login(second, email, world.password)
    assert first_step.status_code == 302 and first_step.headers["Location"].endswith("/connexion/code")
    assert second.get("/tableau-de-bord").status_code == 302  # half-way: nothing opens yet
    wrong = post_form(second, "/connexion/code", {"code": "12345"})
    assert wrong.status_code == 401 and "Code incorrect ou expiré" in text(wrong)
    code = pyotp.TOTP(key).now()
    assert post_form(second, "/connexion/code", {"code": code}).status_code == 302
    assert second.get("/tableau-de-bord").status_code == 200
    # The same code cannot open a second session, even within its 30 seconds.
    third = app.test_client()
    login(third, email, world.password)
    replay = post_form(third, "/connexion/code", {"code": code})
    assert replay.status_code == 401
    later(seconds=30)
    assert post_form(third, "/connexion/code", {"code": pyotp.TOTP(key).now()}).status_code == 302


def test_the_second_step_times_out_after_5_minutes(app, world, later):
    email = world.loire.users[Role.PRESCRIBER].email
    key = _enrol(logged_in(app, email, world.password))
    later(seconds=31)
    client = app.test_client()
    login(client, email, world.password)
    later(minutes=5, seconds=1)
    late = post_form(client, "/connexion/code", {"code": pyotp.TOTP(key).now()}, page_url="/connexion")
    assert late.status_code == 302 and late.headers["Location"].endswith("/connexion")
    assert "saisissez à nouveau votre mot de passe" in text(client.get("/connexion"))


def test_administrators_must_enrol_when_the_setting_says_so(app, world, later):
    app.config["TOTP_REQUIRED_FOR_ADMINS"] = True
    try:
        admin_email = world.loire.users[Role.DEPT_ADMIN].email
        client = app.test_client()
        first_step = login(client, admin_email, world.password)
        assert first_step.headers["Location"].endswith("/connexion/double-authentification")
        assert client.get("/administration").status_code == 302
        page = client.get("/connexion/double-authentification")
        assert "administrateur demande une double authentification" in text(page)
        key = _enrol(client, "/connexion/double-authentification")
        assert client.get("/administration").status_code == 200
        # Required: it cannot be turned off.
        refused = post_form(client, "/compte/double-authentification/desactivation",
                            {"code": pyotp.TOTP(key).now()}, page_url="/compte")
        assert refused.status_code == 302
        assert "obligatoire pour les administrateurs" in text(client.get("/compte"))
        # The platform admin too; other roles are not asked.
        assert login(app.test_client(), world.platform_admin.email, world.password).headers["Location"].endswith(
            "/connexion/double-authentification")
        assert logged_in(app, world.loire.users[Role.PRESCRIBER].email, world.password)
        # Next login: the code, not a new enrolment.
        later(seconds=31)
        again = app.test_client()
        assert login(again, admin_email, world.password).headers["Location"].endswith("/connexion/code")
        assert post_form(again, "/connexion/code", {"code": pyotp.TOTP(key).now()}).status_code == 302
    finally:
        app.config["TOTP_REQUIRED_FOR_ADMINS"] = False


def test_an_optional_second_factor_can_be_turned_off_with_a_code(app, world, later):
    email = world.loire.users[Role.AUDITOR].email
    client = logged_in(app, email, world.password)
    key = _enrol(client)
    later(seconds=31)
    assert post_form(client, "/compte/double-authentification/desactivation", {"code": "000001"},
                     page_url="/compte").status_code == 422
    assert post_form(client, "/compte/double-authentification/desactivation", {"code": pyotp.TOTP(key).now()},
                     page_url="/compte").status_code == 302
    assert login(app.test_client(), email, world.password).headers["Location"].endswith("/departement")


def test_the_command_line_removes_a_lost_second_factor_and_suspends_an_account(app, world):
    email = world.loire.users[Role.PRESCRIBER].email
    client = logged_in(app, email, world.password)
    _enrol(client)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["asll", "account", "totp-reset", email])
    assert result.exit_code == 0 and "Double authentification retirée" in result.output
    assert client.get("/tableau-de-bord").status_code == 302  # its sessions were closed
    assert login(app.test_client(), email, world.password).headers["Location"].endswith("/departement")
    result = runner.invoke(args=["asll", "account", "suspend", email])
    assert result.exit_code == 0 and "suspendu" in result.output
    assert login(app.test_client(), email, world.password).status_code == 401
    assert runner.invoke(args=["asll", "account", "restore", email]).exit_code == 0
    unknown = runner.invoke(args=["asll", "account", "suspend", "personne@test.asll.fr"])
    assert unknown.exit_code == 1 and "aucun compte" in unknown.output
