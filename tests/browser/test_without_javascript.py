"""The essential paths with JavaScript turned off, and the pages on a phone-sized screen.

Without JavaScript: log in, file a household and a request (with an error summary on the
way), decide it in a session, start the measure (its collapsed action opens natively), log
out. axe-core needs JavaScript to run, so this test takes screenshots only; the same pages are
checked by axe in ``test_case_journey.py`` and ``test_phone_screen`` below.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from asll.domain.calendar import today
from asll.extensions import db
from asll.models import Measure, MeasureStatus, Role
from asll.tenancy import tenant_context
from tests.browser.conftest import BrowserCheck, log_in

pytestmark = pytest.mark.browser


def test_essential_paths_work_without_javascript(app, world, live_server, browser_context_without_js,
                                                 artifacts_folder):
    page = browser_context_without_js.new_page()
    b = BrowserCheck(page, live_server, artifacts_folder, axe=False)
    loire, day = world.loire, today()

    log_in(b, loire.users[Role.PRESCRIBER].email, world.password)
    b.goto("/menages/nouveau")
    page.get_by_role("button", name="Créer le ménage").click()
    assert "Au moins un membre du ménage est nécessaire." in page.locator(".error-summary").inner_text()
    # asll.js, had it run, would have moved the focus to the summary (test_case_journey checks it does)
    assert not page.evaluate("document.activeElement.classList.contains('error-summary')")
    b.check("sans javascript - erreurs")
    page.get_by_label("Nom (obligatoire)", exact=True).fill("Lefèvre")
    page.get_by_label("Prénom (obligatoire)", exact=True).fill("Sam")
    page.get_by_label("Secteur").fill("Centre")
    page.get_by_role("button", name="Créer le ménage").click()
    page.get_by_role("link", name="Nouvelle demande pour ce ménage").click()
    page.get_by_label("ASLL maintien (prévention des expulsions)").check()
    page.get_by_role("button", name="Continuer").click()
    page.get_by_label("Adhésion donnée par (nom du ou des signataires)").fill("Sam Lefèvre")
    page.get_by_label("Date de signature du diagnostic par le ménage (obligatoire)").fill(day.isoformat())
    for box in page.locator("fieldset", has_text="Informations demandées par le département").locator(
            "input[type=checkbox]").all():
        box.check()
    page.get_by_role("button", name="Enregistrer et déposer la demande").click()
    # The diagnostic is missing: the draft is kept and the summary lists the nine sections.
    summary = page.locator(".error-summary")
    assert "ne peut pas encore être déposée" in summary.inner_text()
    assert summary.get_by_role("link").count() == 9
    b.check("sans javascript - diagnostic manquant")
    for area in page.locator("fieldset", has_text="Diagnostic social préalable").locator("textarea").all():
        area.fill("Renseigné lors de la visite à domicile.")
    page.get_by_role("button", name="Enregistrer et déposer la demande").click()
    assert "déposée" in page.locator(".notice").first.inner_text()
    reference = page.locator("h1").inner_text().split()[1]
    page.get_by_role("button", name="Se déconnecter").click()

    log_in(b, loire.users[Role.COMMISSION_SECRETARY].email, world.password)
    b.goto("/commissions")
    page.get_by_label("Commission (obligatoire)").select_option(label="Commission Logement Unique (CLU)")
    page.get_by_label("Date de la séance (obligatoire)").fill(day.isoformat())
    page.get_by_role("button", name="Programmer la séance").click()
    page.get_by_role("button", name="Inscrire à l'ordre du jour").click()
    decision = page.locator("fieldset", has_text=reference)
    decision.get_by_label("Décision").select_option(label="Accordée")
    decision.get_by_label("Opérateur désigné").select_option(label="Opérateur (association) 42")
    page.get_by_role("button", name="Enregistrer les décisions").click()
    assert "1 décision(s) enregistrée(s)" in page.locator(".notice").first.inner_text()
    b.check("sans javascript - séance")
    page.get_by_role("button", name="Se déconnecter").click()

    log_in(b, loire.users[Role.OPERATOR_WORKER].email, world.password)
    page.get_by_role("region", name="Mesures à démarrer").locator("li", has_text="LEFÈVRE").get_by_role("link").click()
    page.locator("details.action > summary", has_text="Démarrer la mesure").click()  # native <details>
    page.get_by_role("button", name="Démarrer la mesure (contrat signé)").click()
    assert "Démarrée (contrat signé)" in page.locator(".notice").first.inner_text()
    b.check("sans javascript - mesure démarrée")
    with app.app_context(), tenant_context(loire.tenant.id):
        started = db.session.scalars(sa.select(Measure).where(Measure.status == MeasureStatus.STARTED)).one()
        assert started.household.display_name == "LEFÈVRE Sam" and started.start_date == day


@pytest.mark.parametrize("width", [390])
def test_phone_screen(app, world, live_server, browser_context, artifacts_folder, width):
    """Pages fit a phone's width (no horizontal scrolling of the page) and pass axe-core there."""
    page = browser_context.new_page()
    page.set_viewport_size({"width": width, "height": 844})
    b = BrowserCheck(page, live_server, artifacts_folder)
    log_in(b, world.loire.users[Role.DEPT_AGENT].email, world.password)
    for path, name in [("/tableau-de-bord", "mobile tableau de bord"), ("/demandes", "mobile demandes"),
                       (f"/mesures/{world.loire.measure.id}", "mobile mesure"),
                       (f"/menages/{world.loire.household.id}", "mobile ménage"),
                       ("/menages/nouveau", "mobile nouveau ménage"), ("/commissions", "mobile commissions")]:
        b.goto(path, name)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at {width}px"
