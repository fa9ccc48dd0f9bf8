"""Seine-Maritime's activity tables and export columns: SQL figures per operator and quarter, per tenant."""

from __future__ import annotations

import sqlalchemy as sa

from asll.models import Measure
from asll.services import plugins as plugin_service
from asll.tenancy import tenant_context
from asll_seine_maritime.codes import DIAGNOSTIC_CCAPEX
from tests.plugins.seine_maritime.conftest import MEMBERS, ORGANISATIONS, SM
from tests.plugins.departement import build_departement, measure_row


def statistics(tenant_id: int, year: int) -> dict:
    tables = plugin_service.call(tenant_id, "asll_statistics", year=year)
    return {table.key: table for group in tables for table in (group or [])}


def test_quarterly_committee_figures_per_operator_diagnostics_and_prolongations(sm, app):
    # Rouen: A (Q1 start, 1st prolongation in Q2), B (Q2 start, suspension, ended and bilan in Q3),
    # a diagnostic D continued in Q1 and ended in Q3; a 2025 measure outside the year.
    a = sm.running("2026-01-31")
    sm.first_prolongation(a, "2026-06-01", "2026-06-08")
    b = sm.running("2026-04-15", decided="2026-03-20")
    sm.act("agent", b, "suspend", from_date="2026-05-04", reason="Hospitalisation.",
           extra={"avis_sls": "favorable", "motif_indisponibilite": "hospitalisation"})
    sm.act("rouen", b, "resume", resume_date="2026-06-01")
    sm.act("rouen", b, "end", end_date="2026-07-31", reason="no_adhesion")
    sm.act("rouen", b, "record_bilan", bilan_date="2026-08-10", summary="Fin anticipée.")
    d = sm.diagnostic(decided="2026-01-12", letter="2026-01-15")
    sm.act("rouen", d, "request_prolongation", request_date="2026-03-10", months=4, reason="Souhait du ménage.",
           extra={"souhait_menage": True, "date_bilan_diagnostic": "2026-03-09"})
    sm.act("agent", d, "grant_prolongation", decision_date="2026-03-10",
           extra={"date_information_commission": "2026-03-10"})
    sm.act("rouen", d, "end", end_date="2026-07-15", reason="term")
    old = sm.running("2025-07-01", decided="2025-06-10")
    sm.act("rouen", old, "end", end_date="2025-12-31", reason="term")
    # Le Havre: C started late on a derogation (Q3); diagnostics E (not met) and F (met, oriented).
    c = sm.granted("2026-06-10", operator_id=sm.org("havre"))
    sm.act("havre", c, "start", start_date="2026-07-20", extra={"derogation": {
        "objet": "Ménage absent en juin.", "avis_sls": "favorable", "date_avis_sls": "2026-07-06",
        "avis_commission": "favorable", "date_commission": "2026-07-13"}})
    # A household leaving a CHRS, granted on a derogation at the decision (§1.3, §2.4.4).
    sm.decide(sm.request(sortie_structure="CHRS"), "2026-02-24", operator_id=sm.org("havre"), extra={"derogation": {
        "objet": "Sortie de CHRS sans AVDL disponible.", "avis_sls": "favorable", "date_avis_sls": "2026-02-17",
        "avis_commission": "favorable", "date_commission": "2026-02-24"}})
    e = sm.diagnostic(decided="2026-02-01", letter="2026-02-02", operator="havre", motif_ccapex="sans_reponse")
    sm.act("havre", e, "end", end_date="2026-04-02", reason="not_met", extra={"menage_rencontre": False})
    f = sm.diagnostic(decided="2026-02-01", letter="2026-02-03", operator="havre")
    sm.act("havre", f, "end", end_date="2026-04-03", reason="hand_over", hand_over_to="MASP",
           extra={"menage_rencontre": True})

    # Another tenant running the same plugin: none of its figures may leak into the 76's.
    with tenant_context(None):
        other = build_departement("99", "Département test", "seine_maritime", ORGANISATIONS,
                                  {k: v for k, v in MEMBERS.items() if k in ("prescriber", "secretary", "agent",
                                                                              "rouen")})
    with tenant_context(other.tenant_id):
        SM(dept=other, clock=sm.clock).running("2026-01-31")
        SM(dept=other, clock=sm.clock).diagnostic()

    found = statistics(sm.dept.tenant_id, 2026)
    assert found["seine_maritime_comites_trimestriels"].rows == (
        # operator, quarter, started, running, prolongations, suspensions, ended, bilans
        ("Association secteur de Rouen", "T1 2026", 2, 2, 1, 0, 0, 0),
        ("Association secteur de Rouen", "T2 2026", 1, 3, 1, 1, 0, 0),
        ("Association secteur de Rouen", "T3 2026", 0, 3, 0, 0, 2, 1),
        ("Association secteur de Rouen", "T4 2026", 0, 1, 0, 0, 0, 0),
        ("Association secteur du Havre", "T1 2026", 2, 2, 0, 0, 0, 0),
        ("Association secteur du Havre", "T2 2026", 0, 2, 0, 0, 2, 0),
        ("Association secteur du Havre", "T3 2026", 1, 1, 0, 0, 0, 0),
        ("Association secteur du Havre", "T4 2026", 0, 1, 0, 0, 0, 0),
    )
    assert dict(found["seine_maritime_diagnostics"].rows) == {
        "Diagnostics ordonnés par le Département": 3,
        "dont indices de vulnérabilité relevés en CPEX": 2,
        "dont ménages ne répondant ni aux travailleurs sociaux ni au bailleur": 1,
        "Diagnostics démarrés (courrier à l'association)": 3,
        "Poursuites de quatre mois validées par le SLS (commission locale informée)": 1,
        "Diagnostics terminés sans poursuite": 2,
        "dont ménages rencontrés": 1,
        "dont ménages orientés vers une autre mesure": 1,
    }
    assert dict(found["seine_maritime_prolongations"].rows) == {
        "Premières prolongations accordées": 1,
        "Premières prolongations refusées": 0,
        "Deuxièmes prolongations accordées (après synthèse et avis de la commission locale)": 0,
        "Deuxièmes prolongations refusées": 0,
        "Suspensions (indisponibilité du ménage)": 1,
        "Relais pour déménagement hors secteur": 0,
        "Transferts après séparation du couple": 0,
        "Dérogations accordées par la commission locale ASLL": 2,
    }
    # The 2025 measure appears in the 2025 committees only.
    assert [row[:4] for row in statistics(sm.dept.tenant_id, 2025)["seine_maritime_comites_trimestriels"].rows
            if row[3]] == [("Association secteur de Rouen", "T3 2025", 1, 1),
                           ("Association secteur de Rouen", "T4 2025", 0, 1)]
    with tenant_context(other.tenant_id):
        other_figures = statistics(other.tenant_id, 2026)
    assert other_figures["seine_maritime_comites_trimestriels"].rows[0] == (
        "Association secteur de Rouen", "T1 2026", 2, 2, 0, 0, 0, 0)
    assert dict(other_figures["seine_maritime_diagnostics"].rows)["Diagnostics ordonnés par le Département"] == 1
    assert measure_row(d).measure_type == DIAGNOSTIC_CCAPEX


def test_export_columns_give_the_requester_the_binding_opinion_and_the_ccapex_reason(sm):
    landlord_request = sm.request(demandeur="bailleur_public")
    measure_id = sm.decide(landlord_request, "2026-01-20").measure_id
    diagnostic_id = sm.diagnostic(start=False, motif_ccapex="sans_reponse")
    columns = [c for group in plugin_service.call(sm.dept.tenant_id, "asll_export_columns") for c in group]
    assert [c.label for c in columns] == ["Demandeur (référentiel 76)", "Avis conforme de la commission locale ASLL",
                                          "Motif du diagnostic CCAPEX"]
    rows = {m.id: [c.value(m) for c in columns]
            for m in sm_measures([measure_id, diagnostic_id])}
    assert rows[measure_id] == ["Professionnel d'un bailleur public", "2026-01-20", ""]
    assert rows[diagnostic_id] == ["", "", "Le ménage ne répond ni aux travailleurs sociaux ni à son bailleur"]


def sm_measures(ids):
    from asll.extensions import db

    return list(db.session.scalars(sa.select(Measure).where(Measure.id.in_(ids))))
