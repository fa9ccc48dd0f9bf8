"""Demo cases of the Loire: every state of a request and a measure, under the Loire's rules.

Each case is played through the services by the core (``asll demo-data``). Decisions of
one commission fall on distinct dates: the demo holds one session per commission and day.
"""

from __future__ import annotations

from datetime import date

from asll.toolkit import DemoCase, DemoStep, organisation_ids_by_name

from .plugin import ACCES, ARALIS, ARIV, BAIL_GLISSANT, DIAGNOSTIC, MAINTIEN

DIAGNOSTIC_TEXT = {
    "family_situation": "Couple avec deux enfants scolarisés.",
    "administrative_situation": "Droits CAF ouverts, pièces d'identité à jour.",
    "financial_situation": "Revenus d'activité irréguliers ; dette de loyer de 900 €.",
    "housing_conditions": "T2 suroccupé du parc public.",
    "housing_path": "Locataires depuis 2019, premiers impayés en 2025.",
    "difficulties": "Gestion du budget logement, démarches administratives.",
    "strengths": "Ménage mobilisé, lien régulier avec l'assistante sociale.",
    "steps_taken": "Plan d'apurement proposé au bailleur, demande de mutation déposée.",
    "objectives": "Assainir le budget logement et accéder à un logement adapté.",
}
CLU_FORMS = {"imprime_42": True, "fiche_asll": True}


def _d(value: str) -> date:
    return date.fromisoformat(value)


def _request(consent: str, name: str, **extra) -> dict:
    return {"origin": "service social", "diagnostic": DIAGNOSTIC_TEXT, "consent_given_by": name,
            "consent_date": consent, "extra": extra}


def _household(sector: str, *, landlord: int | None = None, housing: str = "public_tenant") -> dict:
    found = {"city": "Saint-Étienne" if "Roann" not in sector else "Roanne",
             "postcode": "42000" if "Roann" not in sector else "42300", "sector": sector, "housing_status": housing}
    if landlord:
        found.update(landlord_id=landlord, landlord_consent=True)
    return found


def _start(on: str, **extra) -> DemoStep:
    return DemoStep("start", _d(on), {"start_date": on, **({"extra": extra} if extra else {})})


def _plan(on: str) -> DemoStep:
    return DemoStep("record_action_plan", _d(on), {"plan_date": on, "objectives": "Objectifs du contrat écrit."})


def _grant(on: str, operator: int | None, **data) -> DemoStep:
    decision = {"outcome": "granted", **data}
    if operator:
        decision["operator_id"] = operator
    return DemoStep("decide", _d(on), decision)


def demo_cases() -> list[DemoCase]:
    ids = organisation_ids_by_name()
    agasef, anef, callpact = ids.get("AGASEF"), ids.get("ANEF"), ids.get("CALL-PACT St Etienne")
    roanne, ariv, aralis = ids.get("ADSEA 42 – SIESI Roanne"), ids.get("ARIV"), ids.get("ARALIS")
    landlord = ids.get("Bailleur social (organisme HLM)")
    if None in (agasef, anef, callpact, roanne, ariv, aralis, landlord):
        return []  # the cases need the seed's organisations, which the demo data creates first
    submit = DemoStep("submit", _d("2026-01-05"))
    return [
        # -- requests: draft, submitted, refused, adjourned -------------------------------------
        DemoCase("Brun", "Julie", ACCES, household=_household("Ondaine"),
                 request={"origin": "service social", "diagnostic": {"family_situation": "Mère isolée."},
                          "extra": {"imprime_42": True}}),
        DemoCase("Colin", "Marc", MAINTIEN, household=_household("Forez"),
                 request=_request("2026-01-04", "Marc Colin", **CLU_FORMS, preconisee_par="SDAPL"), steps=(submit,)),
        DemoCase("Dumas", "Sophie", DIAGNOSTIC, household=_household("Ondaine"),
                 request=_request("2026-01-04", "Sophie Dumas", **CLU_FORMS),
                 steps=(submit, DemoStep("decide", _d("2026-02-03"), {
                     "outcome": "refused", "reason": "Le suivi social en cours suffit : pas de problématique "
                                                     "logement à traiter de manière spécifique."}))),
        DemoCase("Evrard", "Paul", ACCES, household=_household("St Etienne Gier/Pilat"),
                 request=_request("2026-01-04", "Paul Evrard", **CLU_FORMS),
                 steps=(submit, DemoStep("decide", _d("2026-02-10"), {
                     "outcome": "adjourned", "reason": "Diagnostic à compléter par le service instructeur."}))),
        # -- measures in every status -----------------------------------------------------------
        DemoCase("Faure", "Inès", ACCES, household=_household("Ondaine"),
                 request=_request("2026-01-04", "Inès Faure", **CLU_FORMS, preconisee_par="CLU"),
                 steps=(submit, _grant("2026-02-17", None))),
        DemoCase("Giraud", "Karim", BAIL_GLISSANT, household=_household("Forez", housing="hosted"),
                 request=_request("2026-01-04", "Karim Giraud", instruction="ddass"),
                 steps=(submit, _grant("2026-03-03", callpact))),
        DemoCase("Hubert", "Lucie", ACCES, household=_household("Ondaine"),
                 request=_request("2026-01-04", "Lucie Hubert", **CLU_FORMS),
                 steps=(submit, _grant("2026-03-10", agasef, duration_months=3,
                                       extra={"cas_particulier": "Relogement déjà trouvé : installation seule."}),
                        _start("2026-03-20"))),
        DemoCase("Joly", "Nadia", MAINTIEN, household=_household("St Etienne Gier/Pilat", landlord=landlord),
                 request=_request("2026-01-04", "Nadia Joly", **CLU_FORMS, preconisee_par="FSL"),
                 steps=(submit, _grant("2026-03-17", anef, reinforced=True,
                                       extra={"motif_suivi_renforce": "Difficultés psychologiques importantes."}),
                        _start("2026-03-25"), _plan("2026-04-20"))),
        DemoCase("Leroy", "Hugo", ACCES, household=_household("Ondaine"),
                 request=_request("2026-01-04", "Hugo Leroy", **CLU_FORMS),
                 steps=(submit, _grant("2026-01-13", agasef), _start("2026-01-20"), _plan("2026-02-15"),
                        DemoStep("request_prolongation", _d("2026-07-01"), {
                            "request_date": "2026-07-01", "months": 6,
                            "reason": "Attribution d'un logement attendue à l'automne."}))),
        DemoCase("Morel", "Chloé", DIAGNOSTIC, household=_household("Roannais"),
                 request=_request("2026-01-04", "Chloé Morel", **CLU_FORMS),
                 steps=(submit, _grant("2026-01-20", roanne), _start("2026-01-28"),
                        DemoStep("suspend", _d("2026-03-02"), {"from_date": "2026-03-02",
                                                               "reason": "Hospitalisation de Mme Morel."}))),
        DemoCase("Noël", "Yanis", ACCES, household=_household("Ondaine", landlord=landlord),
                 request=_request("2026-01-04", "Yanis Noël", **CLU_FORMS),
                 steps=(submit, _grant("2026-01-27", agasef), _start("2026-02-02", logement_mandat_gestion=True),
                        _plan("2026-03-01"),
                        DemoStep("end", _d("2026-08-02"), {"end_date": "2026-08-02", "reason": "term",
                                                           "extra": {"bailleur_informe_fin_le": "2026-08-05"}}))),
        DemoCase("Perrin", "Léa", BAIL_GLISSANT, household=_household("Ondaine", housing="hosted"),
                 request=_request("2026-01-04", "Léa Perrin", instruction="clt"),
                 steps=(submit, _grant("2026-01-06", callpact), _start("2026-01-15"), _plan("2026-02-10"),
                        DemoStep("request_prolongation", _d("2026-06-20"), {
                            "request_date": "2026-06-20", "months": 6, "reason": "Glissement du bail à préparer."}),
                        DemoStep("grant_prolongation", _d("2026-07-07"), {"decision_date": "2026-07-07",
                                                                          "extra": {"commission": "CLT"}}),
                        DemoStep("end", _d("2026-10-15"), {"end_date": "2026-10-15", "reason": "term",
                                                           "extra": {"bail_glisse_le": "2026-10-01"}}),
                        DemoStep("record_bilan", _d("2026-10-30"), {
                            "bilan_date": "2026-10-30", "summary": "Bail glissé au ménage, loyer réglé.",
                            "signed_by_household": True, "extra": {"signe_par_intervenant": True}}))),
        DemoCase("Roux", "Amine", MAINTIEN, household=_household("Ondaine", landlord=landlord),
                 request=_request("2026-01-04", "Amine Roux", **CLU_FORMS),
                 steps=(submit, _grant("2026-02-24", agasef), _start("2026-03-02"), _plan("2026-03-30"),
                        DemoStep("end", _d("2026-09-02"), {"end_date": "2026-09-02", "reason": "term",
                                                           "hand_over_to": "CCAS de Firminy",
                                                           "extra": {"bailleur_informe_fin_le": "2026-09-04"}}),
                        DemoStep("record_bilan", _d("2026-09-20"), {
                            "bilan_date": "2026-09-20", "summary": "Dette apurée, loyer courant payé.",
                            "signed_by_household": True, "extra": {"signe_par_intervenant": True}}),
                        DemoStep("close", _d("2026-09-30"), {"close_date": "2026-09-30"}))),
        DemoCase("Weber", "Lina", ACCES, household=_household("Ondaine", landlord=landlord),
                 request=_request("2026-01-04", "Lina Weber", **CLU_FORMS),
                 steps=(submit, _grant("2026-03-24", agasef), _start("2026-04-01"),
                        DemoStep("end", _d("2026-05-15"), {"end_date": "2026-05-15", "reason": "broke_off"}))),
        # -- actions spécifiques: straight to the association ---------------------------------------
        DemoCase("Sauvage", "Tony", ARIV, household=_household("Forez", housing="homeless"),
                 request=_request("2026-03-20", "Tony Sauvage", gens_du_voyage_sedentarisation=True),
                 steps=(submit, _grant("2026-04-02", ariv), _start("2026-04-10"))),
        DemoCase("Tissot", "Malik", ARALIS, household=_household("Forez", housing="accommodation"),
                 request=_request("2026-03-20", "Malik Tissot", resident_foyer_aralis=True,
                                  capacite_logement_autonome=True),
                 steps=(submit, _grant("2026-04-09", aralis), _start("2026-04-15"), _plan("2026-05-10"))),
        # -- a warning: an operator outside the household's sector ---------------------------------
        DemoCase("Vidal", "Rose", ACCES, household=_household("Roannais"),
                 request=_request("2026-04-01", "Rose Vidal", **CLU_FORMS),
                 steps=(submit, _grant("2026-05-05", agasef))),
    ]
