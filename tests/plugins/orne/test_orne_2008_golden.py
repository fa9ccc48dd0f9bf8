"""Golden test: the Orne's 2008 domains (seed 001) come out of ``asll_statistics``.

224 households followed in 2008, each with one measure created through the services
(request, validation by the head of circonscription, start with the domains worked on).
The domains are chosen per household so that the report's headings hold the seed's
counts; the percentages themselves are computed by the plugin's SQL aggregation:
maintien 57 %, relogement 47 %, appropriation 34 %, accès 16 %, insertion 15 %.
"""

from __future__ import annotations

import asll_orne.plugin as orne
from asll.services import plugins as plugin_service
from tests.plugins.orne.support import granted, household, step

CIRCONSCRIPTIONS = ("Alençon", "Argentan", "Flers", "L'Aigle-Mortagne")
MAINTIEN_DOMAINS = ("organisation_budgetaire", "endettement", "mediation")
HOUSEHOLDS = 224
# households per heading (index ranges below), i.e. 57 %, 47 %, 34 %, 16 %, 15 % of 224
MAINTIEN, RELOGEMENT, APPROPRIATION, ACCES, INSERTION = range(0, 128), range(83, 188), range(0, 76), \
    range(188, 224), range(40, 74)


def _case(index: int) -> tuple[str, list[str]]:
    """Housing status at entry and domains of household ``index``."""
    domains = []
    if index in MAINTIEN:
        domains.append(MAINTIEN_DOMAINS[index % 3])
    if index in RELOGEMENT or index in ACCES:
        domains.append("acces")  # relogement for a household housed at entry, accès otherwise
    if index in APPROPRIATION:
        domains.append("appropriation")
    if index in INSERTION:
        domains.append("insertion")
    housing = "hosted" if index in ACCES else ("public_tenant", "private_tenant", "owner")[index % 3]
    return housing, domains


def test_orne_2008_domains_from_the_statistics(env):
    assert (len(MAINTIEN), len(RELOGEMENT), len(APPROPRIATION), len(ACCES), len(INSERTION)) == (128, 105, 76, 36, 34)
    for index in range(HOUSEHOLDS):
        housing, domains = _case(index)
        assert domains, index
        circonscription = CIRCONSCRIPTIONS[index % 4]
        measure_id = granted(env, orne.INTERNE, env.circ(circonscription), on=f"2008-0{1 + index % 6}-10",
                             household_id=household(env, circonscription, housing, name=f"Ménage{index}"))
        step(env, measure_id, "start", {"start_date": f"2008-0{1 + index % 6}-20", "extra": {
            "domaines": domains, "ressources_entree": "minima_sociaux", "situation_pro_entree": "recherche_emploi"}})
    [domains] = [t for _plugin, t in plugin_service.collect(env.tenant_id, "asll_statistics", year=2008)
                 if t.key == "orne.domaines"]
    assert domains.rows == (
        ("Maintien dans le logement", 128, 57),
        ("Relogement", 105, 47),
        ("Appropriation du logement", 76, 34),
        ("Accès au logement", 36, 16),
        ("Insertion dans le logement et dans le quartier", 34, 15),
    )
    assert domains.note.startswith("224 ménage(s) accompagné(s) dans l'année")
