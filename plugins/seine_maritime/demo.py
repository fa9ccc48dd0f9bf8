"""Demo cases (``asll_demo_cases``): one household per rule of the référentiel, played through the services.

Every case respects the rules (the demo shows them at work, refusals are in the tests): dates
sit on or near the deadlines, the derogation goes through the SLS and the commission locale,
the household leaving a CHRS is redirected to the AVDL. Each commission locale decision has its
own session date (a session is held once its decisions are recorded).
"""

from __future__ import annotations

from datetime import date

from asll.toolkit import DemoCase, DemoStep, organisation_ids_by_name

from .codes import ACCES, DIAGNOSTIC_CCAPEX, MAINTIEN

ROUEN = "Association d'accompagnement ASLL – secteur de Rouen (exemple)"
LE_HAVRE = "Association d'accompagnement ASLL – secteur du Havre (exemple)"
LANDLORD = "Bailleur public (exemple)"

DIAGNOSTIC = {
    "family_situation": "Couple avec deux enfants scolarisés.",
    "administrative_situation": "Droits CAF ouverts, couverture maladie à jour.",
    "financial_situation": "Salaire à temps partiel et prestations familiales ; dette de loyer de 1 450 €.",
    "housing_conditions": "T3 du parc public, charges élevées.",
    "housing_path": "Locataire depuis 2019, premier incident de paiement en 2024.",
    "difficulties": "Gestion budgétaire, démarches numériques.",
    "strengths": "Ménage mobilisé, en lien avec le CCAS.",
    "steps_taken": "Plan d'apurement proposé par le bailleur, dossier FSL maintien.",
    "objectives": "Se maintenir dans le logement et apurer la dette.",
}


def d(value: str) -> date:
    return date.fromisoformat(value)


def _request(professional: str, consent: str, when: str, **extra) -> dict:
    extra = {"demandeur": "medico_social", "professionnel": professional, **extra}
    return {"origin": "prescripteur", "diagnostic": DIAGNOSTIC, "consent_given_by": consent, "consent_date": when,
            "extra": extra}


def _household(sector: str, **values) -> dict:
    return {"city": {"Rouen": "Rouen", "Le Havre": "Le Havre"}.get(sector, "Dieppe"), "sector": sector,
            "housing_status": values.pop("housing_status", "public_tenant"), **values}


def cases(tenant) -> list[DemoCase]:
    ids = organisation_ids_by_name()
    rouen, havre, landlord = ids.get(ROUEN), ids.get(LE_HAVRE), ids.get(LANDLORD)
    if rouen is None or havre is None:
        return []
    grant = {"outcome": "granted", "duration_months": 6, "operator_id": rouen}
    as_ = "Mme Roussel, assistante sociale du centre médico-social"
    derogation = {"objet": "Démarrage différé : ménage hospitalisé en juillet.", "avis_sls": "favorable",
                  "date_avis_sls": "2025-08-12", "avis_commission": "favorable", "date_commission": "2025-08-19"}
    return [
        # §2.2.1-2.2.3: full life, 1st prolongation on the SLS's opinion, 2nd after a synthesis and the
        # commission's opinion, 18 months exactly, hand-over one month at most after the next measure starts.
        DemoCase("Lefebvre", "Nadia", ACCES,
                 household=_household("Rouen", landlord_id=landlord, landlord_consent=True, housing_status="hosted"),
                 request=_request(as_, "Nadia Lefebvre", "2025-01-03", bailleur_public_informe=True),
                 steps=(DemoStep("submit", d("2025-01-06")),
                        DemoStep("decide", d("2025-01-14"), grant),
                        DemoStep("start", d("2025-02-10"), {"start_date": "2025-02-10"}),
                        DemoStep("record_contract_sent", d("2025-02-28"), {"sent_date": "2025-02-28"}),
                        DemoStep("record_action_plan", d("2025-04-15"), {
                            "plan_date": "2025-04-15", "objectives": "Accès à un T2 du parc public."}),
                        DemoStep("request_prolongation", d("2025-07-10"), {
                            "request_date": "2025-07-10", "months": 6,
                            "reason": "Attribution d'un logement en cours, installation à accompagner."}),
                        DemoStep("grant_prolongation", d("2025-07-17"), {
                            "decision_date": "2025-07-17", "opinion": "Avis favorable du SLS.", "opinion_by": "SLS",
                            "extra": {"avis_sls": "favorable"}}),
                        DemoStep("request_prolongation", d("2026-01-05"), {
                            "request_date": "2026-01-05", "months": 6, "synthesis_meeting_date": "2025-12-15",
                            "reason": "Objectifs non atteints dans les douze mois : appropriation du logement.",
                            "extra": {"menage_present_synthese": True}}),
                        DemoStep("grant_prolongation", d("2026-01-20"), {
                            "decision_date": "2026-01-20", "opinion": "Avis favorable de la commission locale.",
                            "opinion_by": "Commission locale ASLL",
                            "extra": {"avis_commission": "favorable", "date_avis_commission": "2026-01-20"}}),
                        DemoStep("support_measure", d("2026-07-20"), {"code": "MASP", "start_date": "2026-07-20",
                                                                      "notes": "Relais vers une MASP."}),
                        DemoStep("end", d("2026-08-10"), {"end_date": "2026-08-10", "reason": "hand_over",
                                                          "hand_over_to": "MASP du Département"}),
                        DemoStep("record_bilan", d("2026-09-04"), {"bilan_date": "2026-09-04",
                                                                   "summary": "Relogée, loyer réglé, relais MASP.",
                                                                   "signed_by_household": True}),
                        DemoStep("close", d("2026-09-15"), {"close_date": "2026-09-15"}))),
        # §2.2.1 and §2.4.3: SLS negative on the 1st prolongation → commission locale; suspension of 2 months.
        DemoCase("Benali", "Karim", MAINTIEN, household=_household("Rouen"),
                 request=_request(as_, "Karim Benali", "2025-03-03"),
                 steps=(DemoStep("submit", d("2025-03-04")),
                        DemoStep("decide", d("2025-03-11"), grant),
                        DemoStep("start", d("2025-04-01"), {"start_date": "2025-04-01"}),
                        DemoStep("record_contract_sent", d("2025-04-20"), {"sent_date": "2025-04-20"}),
                        DemoStep("record_action_plan", d("2025-06-20"), {"plan_date": "2025-06-20"}),
                        DemoStep("suspend", d("2025-07-01"), {
                            "from_date": "2025-07-01", "reason": "Hospitalisation du demandeur.",
                            "extra": {"avis_sls": "favorable", "motif_indisponibilite": "hospitalisation"}}),
                        DemoStep("resume", d("2025-09-01"), {"resume_date": "2025-09-01"}),
                        DemoStep("request_prolongation", d("2025-10-20"), {
                            "request_date": "2025-10-20", "months": 6, "reason": "Dette en cours d'apurement."}),
                        DemoStep("grant_prolongation", d("2025-11-04"), {
                            "decision_date": "2025-11-04", "opinion": "SLS défavorable, commission favorable.",
                            "extra": {"avis_sls": "defavorable", "avis_commission": "favorable",
                                      "date_avis_commission": "2025-11-04"}}),
                        DemoStep("end", d("2026-06-02"), {"end_date": "2026-06-02", "reason": "term"}),
                        DemoStep("record_bilan", d("2026-06-25"), {"bilan_date": "2026-06-25",
                                                                   "summary": "Dette apurée, maintien assuré."}))),
        # §2.1.1 and §2.4.1: request by a public landlord; the household moved to Le Havre → relais by the SLS.
        DemoCase("Marchand", "Julie", ACCES,
                 household=_household("Le Havre", landlord_id=landlord, landlord_consent=True),
                 request=_request("M. Leroy, chargé de gestion locative", "Julie Marchand", "2025-05-02",
                                  demandeur="bailleur_public", bailleur_public_informe=True),
                 steps=(DemoStep("submit", d("2025-05-05")),
                        DemoStep("decide", d("2025-05-13"), grant),
                        DemoStep("start", d("2025-06-02"), {"start_date": "2025-06-02"}),
                        DemoStep("record_contract_sent", d("2025-06-16"), {"sent_date": "2025-06-16"}),
                        DemoStep("transfer", d("2025-09-01"), {"operator_id": havre, "transfer_date": "2025-09-01",
                                                               "reason": "move"}))),
        # §2.4.2: separation: the measure goes to one member on the SLS's opinion...
        DemoCase("Girard", "Sophie", ACCES, household=_household("Le Havre"),
                 request=_request(as_, "Sophie Girard", "2025-06-02"),
                 steps=(DemoStep("submit", d("2025-06-03")),
                        DemoStep("decide", d("2025-06-10"), grant),
                        DemoStep("start", d("2025-07-01"), {"start_date": "2025-07-01"}),
                        DemoStep("transfer", d("2025-10-01"), {
                            "operator_id": havre, "transfer_date": "2025-10-01", "reason": "separation",
                            "member": "Sophie Girard", "extra": {"avis_sls": "favorable"}}))),
        # ... and a new measure for the other member, also on the SLS's opinion.
        DemoCase("Girard", "Thomas", ACCES, household=_household("Rouen"),
                 request=_request(as_, "Thomas Girard", "2025-10-06", mesure_origine_separation="Couple Girard 2025",
                                  avis_sls_separation="favorable"),
                 steps=(DemoStep("submit", d("2025-10-07")),
                        DemoStep("decide", d("2025-10-14"), grant))),
        # §2.4.4: a late start, allowed by the commission locale after the SLS's opinion.
        DemoCase("Petit", "Louis", MAINTIEN, household=_household("Rouen"),
                 request=_request(as_, "Louis Petit", "2025-07-01"),
                 steps=(DemoStep("submit", d("2025-07-02")),
                        DemoStep("decide", d("2025-07-08"), grant),
                        DemoStep("start", d("2025-08-25"), {"start_date": "2025-08-25",
                                                            "extra": {"derogation": derogation}}),
                        DemoStep("record_contract_sent", d("2025-10-01"), {"sent_date": "2025-10-01"}))),
        # §1.3: a household leaving a CHRS to access housing goes to the State's AVDL.
        DemoCase("Morel", "Inès", ACCES, household=_household("Rouen", housing_status="accommodation"),
                 request=_request(as_, "Inès Morel", "2025-09-01", sortie_structure="CHRS"),
                 steps=(DemoStep("submit", d("2025-09-02")),
                        DemoStep("decide", d("2025-09-09"), {
                            "outcome": "redirected", "redirected_to": "AVDL (accompagnement vers et dans le logement)",
                            "reason": "Ménage sortant de CHRS accédant à un logement : exclu de l'ASLL."}))),
        # §2.2.1: 1st prolongation refused, the SLS then the commission locale being negative.
        DemoCase("Roux", "Émile", MAINTIEN, household=_household("Le Havre"),
                 request=_request(as_, "Émile Roux", "2025-11-03"),
                 steps=(DemoStep("submit", d("2025-11-04")),
                        DemoStep("decide", d("2025-11-12"), {**grant, "operator_id": havre}),
                        DemoStep("start", d("2025-12-01"), {"start_date": "2025-12-01"}),
                        DemoStep("record_contract_sent", d("2025-12-15"), {"sent_date": "2025-12-15"}),
                        DemoStep("record_action_plan", d("2026-02-20"), {"plan_date": "2026-02-20"}),
                        DemoStep("request_prolongation", d("2026-04-20"), {
                            "request_date": "2026-04-20", "months": 6, "reason": "Budget encore fragile."}),
                        DemoStep("refuse_prolongation", d("2026-05-05"), {
                            "decision_date": "2026-05-05",
                            "reason": "Objectifs atteints selon le SLS et la commission.",
                            "extra": {"avis_sls": "defavorable", "avis_commission": "defavorable"}}),
                        DemoStep("end", d("2026-06-01"), {"end_date": "2026-06-01", "reason": "term"}),
                        DemoStep("record_bilan", d("2026-06-20"), {"bilan_date": "2026-06-20",
                                                                   "summary": "Autonomie budgétaire acquise."}))),
        # §3: CCAPEX diagnostic, household willing: 4 more months validated at once, commission informed.
        _diagnostic("Caron", "Paul", rouen, "vulnerabilite", "2025-02-04", "2025-02-10", "2025-05-20", (
            DemoStep("start", d("2025-02-12"), {"start_date": "2025-02-12"}),
            DemoStep("request_prolongation", d("2025-04-08"), {
                "request_date": "2025-04-08", "months": 4, "reason": "Le ménage souhaite poursuivre l'ASLL.",
                "extra": {"souhait_menage": True, "date_bilan_diagnostic": "2025-04-07"}}),
            DemoStep("grant_prolongation", d("2025-04-08"), {
                "decision_date": "2025-04-08", "extra": {"date_information_commission": "2025-04-08"}}),
            DemoStep("end", d("2025-08-12"), {"end_date": "2025-08-12", "reason": "term"}),
            DemoStep("record_bilan", d("2025-09-05"), {"bilan_date": "2025-09-05", "summary": "Dette apurée."}),
            DemoStep("close", d("2025-09-10"), {"close_date": "2025-09-10"}))),
        # §3.3: household never met; bilan the day before the CPEX re-examination.
        _diagnostic("Fontaine", "Alice", havre, "sans_reponse", "2025-09-09", "2025-09-15", "2025-11-18", (
            DemoStep("start", d("2025-09-16"), {"start_date": "2025-09-16"}),
            DemoStep("end", d("2025-11-16"), {"end_date": "2025-11-16", "reason": "not_met",
                                              "extra": {"menage_rencontre": False}}),
            DemoStep("record_bilan", d("2025-11-17"), {"bilan_date": "2025-11-17",
                                                       "summary": "Ménage non rencontré malgré trois visites."}))),
        # §3.3: household met and oriented towards the most suitable support.
        _diagnostic("Dumont", "Chloé", rouen, "vulnerabilite", "2026-03-03", "2026-03-09", None, (
            DemoStep("start", d("2026-03-10"), {"start_date": "2026-03-10"}),
            DemoStep("end", d("2026-05-07"), {"end_date": "2026-05-07", "reason": "hand_over",
                                              "hand_over_to": "MASP (travailleur social de secteur)",
                                              "extra": {"menage_rencontre": True}}))),
    ]


def _diagnostic(last: str, first: str, operator: int, reason: str, cpex: str, decided: str,
                reexamination: str | None, steps: tuple[DemoStep, ...]) -> DemoCase:
    """A diagnostic the Département orders after the household's examination in CPEX (§3.2)."""
    extra = {"date_cpex": cpex, "motif_ccapex": reason}
    if reexamination:
        extra["date_reexamen_cpex"] = reexamination
    letter = steps[0].data["start_date"]
    return DemoCase(last, first, DIAGNOSTIC_CCAPEX, household={"city": "Dieppe", "sector": "Dieppe",
                                                                "housing_status": "public_tenant"},
                    request={"origin": "CCAPEX", "consent_given_by": "Orientation CCAPEX (démarche d'aller-vers)",
                             "consent_date": cpex, "extra": extra},
                    steps=(DemoStep("submit", d(cpex)),
                           DemoStep("decide", d(decided), {"outcome": "granted", "duration_months": 2,
                                                           "operator_id": operator,
                                                           "extra": {"date_courrier_association": letter}}),
                           *steps))
