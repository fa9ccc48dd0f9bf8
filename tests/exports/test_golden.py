"""Golden tests: the seeds' activity figures come out of the statistics computed on measures
played through the workflow services (not inserted as totals).

* Loire 2006 (seed 000): 733 ASLL follow-ups = 619 accès (84 %) + 57 maintien (8 %) +
  57 diagnostic (8 %).
* Orne 2008 (seed 001): 224 households, 1,457 mois-mesures.

Each test also plays cases that must *not* count (ended the year before, started the year
after, ended exactly on 1 January, never started, refused), so the figures cannot come out
right by counting everything.
"""

from __future__ import annotations

from asll.extensions import db
from asll.models import OrganisationKind, Role
from asll.services.actor import Actor
from asll.services import statistics
from asll.services.statistics import as_dict, table
from asll.tenancy import tenant_context
from tests.exports.support import Actors, CasePlan, play

LOIRE_ACCES, LOIRE_MAINTIEN, LOIRE_DIAGNOSTIC = "loire.acces", "loire.maintien", "loire.diagnostic"


def _loire_plans() -> list[CasePlan]:
    plans: list[CasePlan] = []

    def add(count, measure_type, **shape):
        for i in range(count):
            plans.append(CasePlan(measure_type=measure_type, sector=("Ondaine", "Forez", "Roannais")[i % 3],
                                  request_extra={"imprime_42": True, "fiche_asll": True},
                                  prolongation_extra={"commission": "CLU"}, **shape))

    for measure_type, before, during, prolonged in ((LOIRE_ACCES, 100, 480, 39), (LOIRE_MAINTIEN, 10, 47, 0),
                                                    (LOIRE_DIAGNOSTIC, 5, 52, 0)):
        # Followed in 2006 but started in 2005: ended at term in April 2006.
        add(before, measure_type, decided="2005-09-20", started="2005-10-03", ended="2006-04-03")
        # Started in 2006: half ended at term in 2006, half still running into 2007.
        add(during // 2, measure_type, decided="2006-03-14", started="2006-04-03", ended="2006-10-03")
        add(during - during // 2, measure_type, decided="2006-09-12", started="2006-10-02")
        # Started in 2006 and prolonged once, ended at term in 2007.
        add(prolonged, measure_type, decided="2006-01-17", started="2006-02-06", prolonged=6, ended="2007-02-06")
    # Not followed in 2006.
    add(20, LOIRE_ACCES, decided="2004-12-14", started="2005-01-10", ended="2005-07-10")  # ended in 2005
    add(15, LOIRE_ACCES, decided="2006-12-12", started="2007-01-08")  # starts in 2007
    add(4, LOIRE_MAINTIEN, decided="2006-09-12")  # granted, never started
    add(6, LOIRE_ACCES, decided="2006-09-12", outcome="refused")
    return plans


def test_loire_2006_follow_ups_by_kind(app, app_ctx, world, clock):
    loire = world.loire
    actors = Actors(prescriber=loire.actor(Role.PRESCRIBER), operator=loire.actor(Role.OPERATOR_WORKER),
                    decider=loire.actor(Role.COMMISSION_SECRETARY), agent=loire.actor(Role.DEPT_AGENT),
                    operator_org_id=loire.orgs[OrganisationKind.OPERATOR].id, commission="loire.clu")
    with tenant_context(loire.tenant.id):
        play(_loire_plans(), actors, clock)
        clock.to("2007-02-15")
        tables = statistics.tables_for(loire.actor(Role.DEPT_ADMIN), 2006)

    by_kind = as_dict(table(tables, "par_nature"))
    assert by_kind["Accès au logement"][1:3] == (619, 84)
    assert by_kind["Maintien dans le logement"][1:3] == (57, 8)
    assert by_kind["Diagnostic"][1:3] == (57, 8)
    assert by_kind["Total"][1:3] == (733, 100)
    assert list(by_kind) == ["Accès au logement", "Maintien dans le logement", "Diagnostic", "Total"]
    summary = as_dict(table(tables, "synthese"))
    assert summary["Mesures suivies dans l'année"][1] == 733
    assert summary["dont mesures commencées avant l'année"][1] == 115
    assert summary["Ménages accompagnés"][1] == 733
    decisions = as_dict(table(tables, "decisions"))
    assert decisions["Refusée"][1] == 6


ORNE_START = {"domaines": ["endettement", "appropriation"],
              "ressources_entree": "minima_sociaux", "situation_pro_entree": "sans_activite"}
ORNE_END = {"ressources_sortie": "minima_sociaux", "situation_pro_sortie": "sans_activite",
            "resultat_logement": "maintien"}


def _orne_plans(circonscriptions: dict[str, int]) -> list[CasePlan]:
    """``circonscriptions``: the operator (circonscription) id of each sector."""
    plans: list[CasePlan] = []
    sectors = list(circonscriptions)

    def add(count, group, **shape):
        for i in range(count):
            sector = sectors[i % len(sectors)]
            plans.append(CasePlan(measure_type="orne.interne", household=f"{group}{i}", sector=sector,
                                  operator_id=circonscriptions[sector],
                                  request_extra={"origine": "travailleur_social"}, start_extra=ORNE_START,
                                  end_extra=ORNE_END, **shape))

    # Households followed in 2008, with the calendar months of 2008 each measure ran in.
    add(40, "A", decided="2007-09-04", started="2007-09-15", ended="2008-03-15")  # Jan-Mar: 3
    add(19, "A", decided="2008-04-15", started="2008-05-01", ended="2008-11-01")  # same households, May-Oct: 6
    add(69, "B", decided="2008-01-22", started="2008-02-01", ended="2008-08-01")  # Feb-Jul: 6
    add(11, "C", decided="2007-12-18", started="2008-01-10", ended="2008-07-10")  # Jan-Jul: 7
    add(60, "D", decided="2008-02-26", started="2008-03-10", prolonged=6)  # Mar-Dec: 10, running in 2009
    add(24, "E", decided="2008-10-07", started="2008-10-20")  # Oct-Dec: 3, running in 2009
    add(20, "F", decided="2008-05-06", started="2008-05-15", ended="2008-07-03", end_reason="broke_off")  # May-Jul: 3
    # 40 + 69 + 11 + 60 + 24 + 20 = 224 households;
    # 40x3 + 19x6 + 69x6 + 11x7 + 60x10 + 24x3 + 20x3 = 1,457 mois-mesures.
    # Not followed in 2008.
    add(5, "N", decided="2006-12-19", started="2007-01-10", ended="2007-07-10")  # ended in 2007
    add(2, "J", decided="2007-06-19", started="2007-07-01", ended="2008-01-01")  # ended on 1 January 2008
    add(4, "L", decided="2008-12-16", started="2009-01-12")  # starts in 2009
    add(3, "G", decided="2008-06-10")  # granted, never started
    add(3, "R", decided="2008-06-10", outcome="refused")
    return plans


def _orne_circonscriptions(tenant_id: int) -> tuple[dict[str, int], Actor]:
    """The Orne plugin's four circonscriptions (the operators of internal measures) and their ASLL worker."""
    from asll.services import plugins as plugin_service
    from asll.services import tenants, users

    system = Actor.system(tenant_id)
    worker = users.create_user(Actor.system(), {"email": "ts.asll.61@test.asll.fr", "full_name": "TS ASLL Orne",
                                                "password": "mot-de-passe-de-test-2026"})
    found = {}
    for _plugin, spec in plugin_service.collect(tenant_id, "asll_organisations"):
        if spec.name.startswith("Circonscription"):
            organisation = tenants.create_organisation(system, spec)
            users.add_membership(system, worker, tenant_id, Role.OPERATOR_WORKER, organisation.id)
            found[spec.sectors[0]] = organisation.id
    db.session.commit()
    return found, Actor.for_user(worker, users.memberships_of(worker.id), tenant_id)


def test_orne_2008_households_and_month_measures(app, app_ctx, world, clock):
    orne = world.orne
    with tenant_context(orne.tenant.id):
        circonscriptions, worker = _orne_circonscriptions(orne.tenant.id)
        actors = Actors(prescriber=orne.actor(Role.PRESCRIBER), operator=worker, decider=orne.actor(Role.DEPT_AGENT),
                        agent=orne.actor(Role.DEPT_AGENT), operator_org_id=0, commission=None)
        play(_orne_plans(circonscriptions), actors, clock)
        clock.to("2009-02-15")
        tables = statistics.tables_for(orne.actor(Role.AUDITOR), 2008)

    summary = as_dict(table(tables, "synthese"))
    assert summary["Ménages accompagnés"][1] == 224
    assert summary["Mois-mesures"][1] == 1457
    assert summary["Mesures suivies dans l'année"][1] == 243
    assert summary["Mesures prolongées au moins une fois"][1] == 60
    monthly = table(tables, "par_mois")
    assert sum(row[1] for row in monthly.rows) == 1457  # the months table adds up to the same figure
