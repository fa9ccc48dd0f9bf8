"""Demo cases (``asll_demo_cases``): one household per rule of the 7th PDALPD, played through the services.

Priority publics P1-P4 on the households; ASLL accès and maintien on a prior social diagnostic
with their FSL aids; the aide à la recherche within 2/3 of the net SMIC; a sliding lease before
the commission unique de sous-location; an action plan of the commission des situations atypiques;
a prevention follow-up opened on a first unpaid rent; an ASLL refused for cumulation with a MAJ.
"""

from __future__ import annotations

from datetime import date

from asll.toolkit import DemoCase, DemoStep, organisation_ids_by_name

from .codes import (
    ACCES,
    AIDE_RECHERCHE,
    BAIL_GLISSANT,
    MAINTIEN,
    PREVENTION_IMPAYES,
    SITUATION_ATYPIQUE,
)

METZ = "Opérateur ASLL – bassin de Metz (exemple)"
THIONVILLE = "Opérateur ASLL – bassin de Thionville (exemple)"
LANDLORD = "Bailleur social (exemple)"

DIAGNOSTIC = {
    "family_situation": "Mère isolée avec un enfant de 2 ans.",
    "administrative_situation": "Droits CAF ouverts.",
    "financial_situation": "RSA et prestations familiales, pas de dette.",
    "housing_conditions": "Hébergée chez une amie.",
    "housing_path": "Sortie de CHRS en 2024, hébergements successifs.",
    "difficulties": "Recherche de logement, gestion du budget.",
    "strengths": "Motivée, inscrite comme demandeuse de logement social.",
    "steps_taken": "Demande de logement social déposée, dossier SIAO.",
    "objectives": "Accéder à un logement autonome et s'y installer.",
}


def d(value: str) -> date:
    return date.fromisoformat(value)


def _request(consent: str, when: str, diagnostic: bool = True, **extra) -> dict:
    request = {"origin": "prescripteur", "consent_given_by": consent, "consent_date": when, "extra": extra}
    if diagnostic:
        request["diagnostic"] = DIAGNOSTIC
    return request


def _household(sector: str, priority: dict | None = None, **values) -> dict:
    household = {"city": {"Bassin de Metz": "Metz", "Bassin de Thionville": "Thionville"}.get(sector, "Forbach"),
                 "sector": sector, **values}
    if priority:
        household["extra"] = {"public_prioritaire": priority}
    return household


def _decide(on: str, operator: int, **extra) -> DemoStep:
    return DemoStep("decide", d(on), {"outcome": "granted", "duration_months": 6, "operator_id": operator,
                                      "extra": extra})


def cases(tenant) -> list[DemoCase]:
    ids = organisation_ids_by_name()
    metz, thionville, landlord = ids.get(METZ), ids.get(THIONVILLE), ids.get(LANDLORD)
    if metz is None or thionville is None:
        return []
    return [
        # P1 (DALO), ASLL accès on a prior diagnostic, with FSL accès aids; complete life.
        DemoCase("Schmitt", "Laura", ACCES,
                 household=_household("Bassin de Metz", {"code": "P1", "date_decision_dalo": "2025-01-20"},
                                      housing_status="hosted"),
                 request=_request("Laura Schmitt", "2025-02-03", date_diagnostic="2025-01-30"),
                 steps=(DemoStep("submit", d("2025-02-04")),
                        _decide("2025-02-18", metz, aides_fsl=[
                            {"nature": "depot_garantie", "montant": "450.00"},
                            {"nature": "premier_loyer", "montant": "380.00"},
                            {"nature": "assurance", "montant": "120.00"}]),
                        DemoStep("start", d("2025-03-03"), {"start_date": "2025-03-03"}),
                        DemoStep("record_contract_sent", d("2025-03-10"), {"sent_date": "2025-03-10"}),
                        DemoStep("record_action_plan", d("2025-04-01"), {"plan_date": "2025-04-01"}),
                        DemoStep("end", d("2025-09-03"), {"end_date": "2025-09-03", "reason": "term"}),
                        DemoStep("record_bilan", d("2025-09-20"), {"bilan_date": "2025-09-20",
                                                                   "summary": "Installée dans un T2, budget tenu."}),
                        DemoStep("close", d("2025-09-30"), {"close_date": "2025-09-30"}))),
        # P3 (threatened with eviction), ASLL maintien with FSL maintien aids (arrears, energy).
        DemoCase("Klein", "Marc", MAINTIEN,
                 household=_household("Bassin de Thionville", {"code": "P3", "critere": "menace_expulsion"},
                                      housing_status="public_tenant", landlord_id=landlord, landlord_consent=True),
                 request=_request("Marc Klein", "2025-04-01", date_diagnostic="2025-03-25"),
                 steps=(DemoStep("submit", d("2025-04-02")),
                        _decide("2025-04-15", thionville, aides_fsl=[
                            {"nature": "impayes_loyer", "montant": "1200.00"},
                            {"nature": "energie", "montant": "310.50"}]),
                        DemoStep("start", d("2025-05-05"), {"start_date": "2025-05-05"}),
                        DemoStep("record_action_plan", d("2025-06-02"), {"plan_date": "2025-06-02"}),
                        DemoStep("request_prolongation", d("2025-10-01"), {
                            "request_date": "2025-10-01", "months": 6, "reason": "Plan d'apurement en cours."}),
                        DemoStep("grant_prolongation", d("2025-10-15"), {"decision_date": "2025-10-15"}))),
        # P2 (leaving a CHRS via the SIAO 57): aide à la recherche, family quotient within 2/3 of the net SMIC.
        DemoCase("Muller", "Yasmina", AIDE_RECHERCHE,
                 household=_household("Bassin de Metz", {"code": "P2", "critere": "chrs", "orientation": "siao_57"},
                                      housing_status="accommodation"),
                 request=_request("Yasmina Muller", "2025-05-05", quotient_familial="850.00",
                                  situation_recherche="chrs"),
                 steps=(DemoStep("submit", d("2025-05-06")),
                        _decide("2025-05-20", metz, aides_fsl=[{"nature": "demenagement", "montant": "600.00"}]),
                        DemoStep("start", d("2025-06-02"), {"start_date": "2025-06-02"}))),
        # Action 8: sub-letting with a sliding lease, decided by the commission unique de sous-location.
        DemoCase("Weber", "Julien", BAIL_GLISSANT,
                 household=_household("Bassin de Metz", {"code": "P3", "critere": "heberge_tiers"},
                                      housing_status="hosted"),
                 request=_request("Julien Weber", "2025-06-02", bailleur_hlm="Bailleur social (exemple)"),
                 steps=(DemoStep("submit", d("2025-06-03")),
                        _decide("2025-06-17", metz, aides_fsl=[{"nature": "frais_agence", "montant": "150.00"}]),
                        DemoStep("start", d("2025-07-01"), {"start_date": "2025-07-01"}))),
        # Action 15 and P4: the commission des situations atypiques draws up an action plan with rehousing.
        DemoCase("Lambert", "Didier", SITUATION_ATYPIQUE,
                 household=_household("Bassin de Thionville", {"code": "P4", "critere": "situations_atypiques"},
                                      housing_status="homeless"),
                 request=_request("Didier Lambert", "2025-09-01",
                                  problematiques=["mode_de_vie_atypique", "addictions"]),
                 steps=(DemoStep("submit", d("2025-09-02")),
                        DemoStep("decide", d("2025-09-23"), {
                            "outcome": "granted", "duration_months": 6, "operator_id": thionville,
                            "extra": {"relogement_decide": True, "plan_actions": [
                                {"action": "Proposer un logement PLAI adapté", "pilote": "Bailleur social",
                                 "echeance": "2025-12-31"},
                                {"action": "Orientation vers un CSAPA", "pilote": "Opérateur référent"},
                                {"action": "Ouverture des droits et domiciliation", "pilote": "CCAS"}]}}),
                        DemoStep("start", d("2025-10-06"), {"start_date": "2025-10-06"}))),
        # Action 12: a first unpaid rent opens a prevention follow-up, with an FSL maintien aid.
        DemoCase("Fischer", "Sandrine", PREVENTION_IMPAYES,
                 household=_household("Bassin de Metz", housing_status="private_tenant"),
                 request=_request("Sandrine Fischer", "2026-02-10", diagnostic=False,
                                  date_premier_impaye="2026-02-05", montant_impaye="540.00", signale_par="bailleur"),
                 steps=(DemoStep("submit", d("2026-02-10")),
                        _decide("2026-02-12", metz, aides_fsl=[{"nature": "impayes_loyer", "montant": "540.00"}]),
                        DemoStep("start", d("2026-02-16"), {"start_date": "2026-02-16"}))),
        # P4 (woman victim of violence), ASLL accès prolonged once.
        DemoCase("Meyer", "Claire", ACCES,
                 household=_household("Bassin de Thionville", {"code": "P4", "critere": "violences"},
                                      housing_status="hosted"),
                 request=_request("Claire Meyer", "2026-01-05", date_diagnostic="2026-01-02"),
                 steps=(DemoStep("submit", d("2026-01-06")),
                        _decide("2026-01-13", thionville),
                        DemoStep("start", d("2026-02-02"), {"start_date": "2026-02-02"}),
                        DemoStep("record_action_plan", d("2026-03-02"), {"plan_date": "2026-03-02"}),
                        DemoStep("request_prolongation", d("2026-07-01"), {
                            "request_date": "2026-07-01", "months": 6, "reason": "Relogement en cours."}),
                        DemoStep("grant_prolongation", d("2026-07-08"), {"decision_date": "2026-07-08"}))),
        # Non-cumulation: the household has a MAJ, so the ASLL is refused.
        DemoCase("Becker", "Paul", MAINTIEN, household=_household("Bassin de Metz", housing_status="private_tenant"),
                 request=_request("Paul Becker", "2026-03-02", date_diagnostic="2026-02-27"),
                 steps=(DemoStep("support_measure", d("2026-01-10"), {"code": "MAJ", "start_date": "2026-01-10",
                                                                      "notes": "Mesure d'accompagnement judiciaire."}),
                        DemoStep("submit", d("2026-03-03")),
                        DemoStep("decide", d("2026-03-10"), {
                            "outcome": "refused", "reason": "Cumul impossible : le ménage bénéficie d'une MAJ."}))),
    ]
