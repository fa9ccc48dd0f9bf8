"""Moselle's yearly activity report: priority publics, FSL aids, indicators per PDALPD action, per tenant."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from asll.extensions import db
from asll.models import Measure
from asll.services import decisions
from asll.services import plugins as plugin_service
from asll.tenancy import tenant_context
from asll_moselle.codes import (
    ACCES,
    AIDE_RECHERCHE,
    BAIL_GLISSANT,
    MAINTIEN,
    PREVENTION_IMPAYES,
    SITUATION_ATYPIQUE,
    SITUATIONS_ATYPIQUES,
)
from tests.plugins.moselle.conftest import MEMBERS, ORGANISATIONS, Moselle
from tests.plugins.departement import build_departement

PLAN = {"plan_actions": [{"action": "Proposer un logement PLAI adapté", "pilote": "Bailleur social"}],
        "relogement_decide": True}


def statistics(tenant_id: int, year: int) -> dict:
    return {t.key: t for group in plugin_service.call(tenant_id, "asll_statistics", year=year) for t in group}


def aid(nature: str, amount: str) -> dict:
    return {"nature": nature, "montant": amount}


def test_the_yearly_report_counts_priority_publics_fsl_aids_and_each_actions_indicators(moselle):
    m = moselle
    m.clock.to("2025-06-01")
    old_request = m.request(ACCES, m.household("Ancien", {"code": "P1", "date_decision_dalo": "2025-05-01"}),
                            date_diagnostic="2025-06-01")
    old = m.decide(old_request, "2025-06-10", extra={"aides_fsl": [aid("premier_loyer", "999")]}).measure_id
    m.act("metz", old, "start", start_date="2025-07-01")
    m.act("metz", old, "end", end_date="2025-12-31", reason="term")
    m.clock.to("2026-01-05")

    schmitt = m.granted(ACCES, "2026-01-20", m.household("Schmitt", {"code": "P1", "date_decision_dalo": "2025-12-01"}),
                        extra={"aides_fsl": [aid("premier_loyer", "380"), aid("depot_garantie", "450")]})
    m.act("metz", schmitt, "start", start_date="2026-02-02")
    m.granted(AIDE_RECHERCHE, "2026-02-10", m.household("Muller", {"code": "P2", "critere": "chrs",
                                                                   "orientation": "siao_57"}),
              extra={"aides_fsl": [aid("demenagement", "600")]})
    klein = m.granted(MAINTIEN, "2026-03-03", m.household("Klein", {"code": "P3", "critere": "menace_expulsion"}),
                      extra={"aides_fsl": [aid("impayes_loyer", "1200"), aid("energie", "310.50")]})
    m.act("metz", klein, "start", start_date="2026-03-10")
    lambert = m.household("Lambert", {"code": "P4", "critere": "situations_atypiques"})
    m.granted(SITUATION_ATYPIQUE, "2026-04-07", lambert, extra=PLAN)
    refused_plan = m.request(SITUATION_ATYPIQUE, m.household("Sanssuite"))
    decisions.decide_in_session(m.actor("secretary"), m.session(SITUATIONS_ATYPIQUES, "2026-04-08", refused_plan),
                                {refused_plan: {"outcome": "refused", "reason": "Relève du droit commun."}})
    m.granted(PREVENTION_IMPAYES, "2026-05-12", m.household("Fischer"),
              extra={"aides_fsl": [aid("impayes_loyer", "540")]})
    becker_request = m.request(PREVENTION_IMPAYES, m.household("Becker"), date_premier_impaye="2026-06-01",
                               montant_impaye="300")
    m.decide(becker_request, "2026-06-09", PREVENTION_IMPAYES)
    m.granted(BAIL_GLISSANT, "2026-06-16", m.household("Weber", {"code": "P3", "critere": "heberge_tiers"}))

    # Another département running the plugin: its figures stay its own.
    with tenant_context(None):
        other = build_departement("99", "Département test", "moselle", ORGANISATIONS,
                                  {k: MEMBERS[k] for k in ("prescriber", "secretary", "agent")})
    with tenant_context(other.tenant_id):
        elsewhere = Moselle(dept=other, clock=m.clock)
        elsewhere.granted(ACCES, "2026-01-20", elsewhere.household("Ailleurs", {"code": "P1",
                                                                                "date_decision_dalo": "2026-01-02"}),
                          extra={"aides_fsl": [aid("premier_loyer", "999")]})

    found = statistics(m.dept.tenant_id, 2026)
    assert found["moselle_publics_prioritaires"].rows == (
        ("P1 – relogement reconnu prioritaire et urgent par la commission de médiation DALO", 1, 1),
        ("P2 – sortant de structure d'hébergement (orienté par la structure ou le SIAO 57)", 1, 1),
        ("P3 – répondant à un critère DALO, sans décision de la commission de médiation", 2, 2),
        ("P4 – situation particulière, relogement demandé par le Préfet ou ses services", 1, 1),
        ("Sans priorité du contingent préfectoral", 2, 2),
    )
    assert found["moselle_publics_prioritaires_criteres"].rows == (
        ("P2", "CHRS", 1),
        ("P3", "Hébergé chez des tiers non soumis à l'obligation alimentaire", 1),
        ("P3", "Menacé d'expulsion", 1),
        ("P4", "Relogement décidé en commission des situations atypiques", 1),
        ("P2", "Orienté par le SIAO 57", 1),
    )
    euros = Decimal
    assert found["moselle_aides_fsl"].rows == (
        ("FSL Accès", "Paiement du 1er loyer", 1, euros("380.00")),
        ("FSL Accès", "Dépôt de garantie", 1, euros("450.00")),
        ("FSL Accès", "Première assurance locative", 0, euros("0.00")),
        ("FSL Accès", "Frais de déménagement", 1, euros("600.00")),
        ("FSL Accès", "Frais d'agence", 0, euros("0.00")),
        ("FSL Accès", "Total", 3, euros("1430.00")),
        ("FSL Maintien", "Factures énergétiques", 1, euros("310.50")),
        ("FSL Maintien", "Loyers en retard", 2, euros("1740.00")),
        ("FSL Maintien", "Abonnement téléphonique", 0, euros("0.00")),
        ("FSL Maintien", "Total", 3, euros("2050.50")),
    )
    assert [row[1:] for row in found["moselle_indicateurs_actions"].rows] == [
        ("Sous-locations avec bail glissant accordées par la commission unique de sous-location", 1),
        ("Ménages prioritaires (P1 à P4) ayant obtenu une mesure", 5),
        ("Aides à l'accès accordées", 3),
        ("Montant des aides à l'accès (€)", euros("1430.00")),
        ("Aides au maintien accordées", 3),
        ("Montant des aides au maintien (€)", euros("2050.50")),
        ("Aides à la recherche accordées", 1),
        ("Suivis ouverts dès le premier impayé de loyer", 2),
        ("Montant moyen du premier impayé (€)", euros("420.00")),
        ("Mesures d'accès au logement accordées", 1),
        ("Mesures de maintien dans le logement accordées", 1),
        ("Mesures d'accès et de maintien en cours au 31 décembre", 2),
        ("Situations examinées en commission des situations atypiques", 2),
        ("Plans d'actions élaborés", 1),
        ("dont relogements décidés", 1),
    ]
    assert {row[0] for row in found["moselle_indicateurs_actions"].rows} == {
        "Action 8 – Intermédiation locative", "Action 9 – Publics prioritaires", "Action 11 – FSL",
        "Action 12 – Prévention des impayés", "Action 14 – ASLL", "Action 15 – Publics atypiques"}
    assert found["moselle_activite"].rows == (
        # type, submitted, granted, started, ended, running at 31/12
        ("ASLL accès au logement", 1, 1, 1, 0, 1),
        ("ASLL maintien dans le logement", 1, 1, 1, 0, 1),
        ("Aide à la recherche du FSL", 1, 1, 0, 0, 0),
        ("Sous-location avec bail glissant", 1, 1, 0, 0, 0),
        ("Plan d'actions – situation atypique", 2, 1, 0, 0, 0),
        ("Suivi de prévention des impayés", 2, 2, 0, 0, 0),
    )
    previous = statistics(m.dept.tenant_id, 2025)
    assert previous["moselle_aides_fsl"].rows[0] == ("FSL Accès", "Paiement du 1er loyer", 1, euros("999.00"))
    assert previous["moselle_activite"].rows[0] == ("ASLL accès au logement", 1, 1, 1, 1, 0)
    with tenant_context(other.tenant_id):
        theirs = statistics(other.tenant_id, 2026)
    assert theirs["moselle_aides_fsl"].rows[5] == ("FSL Accès", "Total", 1, euros("999.00"))
    assert theirs["moselle_publics_prioritaires"].rows[0][1:] == (1, 1)


def test_export_columns_give_the_priority_public_and_the_fsl_aids(moselle):
    klein = moselle.granted(MAINTIEN, "2026-03-03", moselle.household("Klein", {"code": "P3",
                                                                                "critere": "menace_expulsion"}),
                            extra={"aides_fsl": [aid("impayes_loyer", "1200"), aid("energie", "310.50")]})
    plain = moselle.granted(ACCES, "2026-03-04")
    columns = [c for group in plugin_service.call(moselle.dept.tenant_id, "asll_export_columns") for c in group]
    assert [c.label for c in columns] == ["Public prioritaire (P1-P4)", "Aides FSL accordées (€)"]
    rows = {measure.id: [c.value(measure) for c in columns]
            for measure in db.session.scalars(sa.select(Measure).where(Measure.id.in_([klein, plain])))}
    assert rows == {klein: ["P3 – Menacé d'expulsion", Decimal("1510.50")], plain: ["", Decimal("0.00")]}
