"""Accounts in a real browser, at desktop and phone widths: an admin invites someone, who chooses
a first password from the emailed link, logs in, then uses « Mot de passe oublié ». Every page
is checked by axe-core (zero violations) and screenshotted."""

from __future__ import annotations

import re

import pytest

from asll.models import Role
from tests.accounts.conftest import link_in, sent_mails
from tests.browser.conftest import BrowserCheck, log_in

pytestmark = pytest.mark.browser

FIRST = "Girafe-lundi-47-parapluie"
SECOND = "Hibou-mardi-83-trottinette"


def _log_out(b: BrowserCheck) -> None:
    b.page.get_by_role("button", name="Se déconnecter").click()
    b.page.wait_for_url(re.compile(r"/connexion"))


def _no_sideways_scroll(b: BrowserCheck, width: int) -> None:
    overflow = b.page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{b.page.url} scrolls sideways by {overflow}px at {width}px"


def _choose_password(b: BrowserCheck, name: str, width: int) -> None:
    b.check(f"{name} - formulaire")
    b.page.get_by_label("Nouveau mot de passe").fill("aaaaaaaaaaaa")
    b.page.get_by_label("Confirmez le mot de passe").fill("aaaaaaaaaaaa")
    b.page.get_by_role("button", name="Enregistrer le mot de passe").click()
    assert "Ce mot de passe est trop facile à deviner." in b.page.locator("main").inner_text()
    b.check(f"{name} - mot de passe refusé")
    _no_sideways_scroll(b, width)
    b.page.get_by_label("Nouveau mot de passe").fill(name == "invitation" and FIRST or SECOND)
    b.page.get_by_label("Confirmez le mot de passe").fill(name == "invitation" and FIRST or SECOND)
    b.page.get_by_role("button", name="Enregistrer le mot de passe").click()
    b.page.wait_for_url(re.compile(r"/connexion$"))
    assert "Votre mot de passe est enregistré." in b.page.locator(".notice").first.inner_text()
    b.check(f"{name} - mot de passe enregistré")


@pytest.mark.parametrize("width", [1366, 390])
def test_invitation_first_password_login_and_forgotten_password(app, world, live_server, browser_context,
                                                                artifacts_folder, folders, width):
    page = browser_context.new_page()
    page.set_viewport_size({"width": width, "height": 900 if width > 800 else 844})
    b = BrowserCheck(page, live_server, artifacts_folder)

    # -- the département admin invites someone -----------------------------------------------
    log_in(b, world.loire.users[Role.DEPT_ADMIN].email, world.password)
    b.goto("/administration/utilisateurs", "utilisateurs")
    details = page.locator("details.action").filter(has=page.locator("summary", has_text="Inviter une personne"))
    details.locator("summary").click()
    page.get_by_label("Nom et prénom (obligatoire)").fill("Zoé Nouvelle")
    page.get_by_label("Adresse électronique").fill("zoe.nouvelle@test.asll.fr")
    page.get_by_label("Rôle (obligatoire)").select_option(label="Auditeur (lecture seule)")
    b.check("invitation - formulaire")
    page.get_by_role("button", name="Envoyer l'invitation").click()
    assert "Invitation envoyée à zoe.nouvelle@test.asll.fr" in page.locator(".notice").first.inner_text()
    assert "Invitation en attente" in page.locator("main").inner_text()
    b.check("invitation envoyée")
    _log_out(b)

    # -- the invited person chooses a first password, then logs in ------------------------------
    b.goto(link_in(sent_mails(folders)[-1], "/invitation/"))
    assert "Choisir votre mot de passe" in page.locator("h1").inner_text()
    _choose_password(b, "invitation", width)
    log_in(b, "zoe.nouvelle@test.asll.fr", FIRST, "nouvelle personne")
    page.get_by_role("link", name="Mon compte").click()
    b.check("mon compte")
    _no_sideways_scroll(b, width)
    _log_out(b)

    # -- « Mot de passe oublié » ---------------------------------------------------------------
    page.get_by_role("link", name="Mot de passe oublié ?").click()
    b.check("mot de passe oublié")
    page.get_by_label("Adresse électronique").fill("zoe.nouvelle@test.asll.fr")
    page.get_by_role("button", name="Recevoir un lien").click()
    assert "Si un compte actif correspond à cette adresse" in page.locator("main").inner_text()
    b.check("mot de passe oublié - lien envoyé")
    link = link_in(sent_mails(folders)[-1], "/mot-de-passe-oublie/")
    b.goto(link)
    _choose_password(b, "réinitialisation", width)
    log_in(b, "zoe.nouvelle@test.asll.fr", SECOND)
    # The link served once: opened again, it says so.
    page.goto(f"{live_server}{link}")
    assert "déjà été utilisé" in page.locator("main").inner_text()
    b.check("lien déjà utilisé")
