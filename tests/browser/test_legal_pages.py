"""The footer's legal links in a real browser, on a wide screen and a phone, with axe-core on every page.

Nobody logged in: from the login page, each footer link reaches its page (and the choice of the
département). Logged in: from the dashboard, the households list and the RGPD pages (the DPO's
search and file page, the admin's retention, legal texts and record), each footer link reaches
its page with the département's texts. Zero axe-core violation anywhere.
"""

from __future__ import annotations

import re

import pytest

from asll.models import Role
from tests.browser.conftest import BrowserCheck, log_in

pytestmark = pytest.mark.browser

LINKS = {"Mentions légales": ("/mentions-legales", "Mentions légales"),
         "Données personnelles": ("/donnees-personnelles", "Données personnelles"),
         "Accessibilité : non conforme": ("/accessibilite", "Déclaration d'accessibilité"),
         "Aide et contact": ("/aide", "Aide et contact")}


def _follow_footer(b: BrowserCheck, start: str, name: str, heading_suffix: str = "") -> None:
    """From ``start``, click each footer link and check the page it opens."""
    for link, (path, title) in LINKS.items():
        b.goto(start)
        footer = b.page.get_by_role("navigation", name="Informations légales")
        footer.get_by_role("link", name=link, exact=True).click()
        b.page.wait_for_url(re.compile(re.escape(path) + r"(\?.*)?$"))
        assert b.page.locator("h1").inner_text() == title + heading_suffix
        b.check(f"{name} - {title}")


@pytest.mark.parametrize("width", [1366, 390])
def test_the_footer_links_reach_the_four_legal_pages_with_no_axe_violation(app, world, live_server,
                                                                          browser_context, artifacts_folder, width):
    page = browser_context.new_page()
    page.set_viewport_size({"width": width, "height": 900 if width > 800 else 844})
    b = BrowserCheck(page, live_server, artifacts_folder)

    _follow_footer(b, "/connexion", f"{width} anonyme")
    page.get_by_role("link", name="Loire (42)").click()  # the visitor's département's own texts
    assert page.locator("h1").inner_text() == "Aide et contact – Département de la Loire"
    b.check(f"{width} aide de la Loire")

    loire = world.loire
    log_in(b, loire.users[Role.DEPT_ADMIN].email, world.password)
    for start, name in (("/tableau-de-bord", "tableau de bord"), ("/menages", "ménages"),
                        ("/administration/conservation", "conservation"), ("/rgpd", "droits")):
        b.goto(start, f"{width} {name}")
        _follow_footer(b, start, f"{width} {name}", " – Département de la Loire")
    for path, name in (("/administration/pages-legales", "pages légales"), ("/administration/registre", "registre"),
                       (f"/rgpd?q={loire.household.reference}", "recherche de dossier"),
                       (f"/rgpd/menages/{loire.household.id}", "droits du ménage")):
        b.goto(path, f"{width} {name}")
        assert page.get_by_role("navigation", name="Informations légales").get_by_role("link").count() == 4
