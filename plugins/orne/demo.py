"""Demo cases of the Orne: internal and external measures in every state, under the Orne's rules.

Played through the services by the core (``asll demo-data``). Every circonscription starts
with its head validating alone (the plugin's default settings), so decisions are taken by a
single decider; a circonscription switched to the monthly commission records its date.
"""

from __future__ import annotations

from datetime import date

from asll.toolkit import DemoCase, DemoStep, organisation_ids_by_name

from .plugin import CHRS_SUITE, INTERNE, JEUNES_ALT, MODE_COMMISSION
from .rules import settings_of


def _d(value: str) -> date:
    return date.fromisoformat(value)


def _household(sector: str, housing: str = "public_tenant", *, born: str | None = None, last: str = "",
               first: str = "", resources: str = "") -> dict:
    found = {"city": sector, "sector": sector, "housing_status": housing}
    if resources:
        found["monthly_resources"] = resources
    if born:
        found["members"] = [{"last_name": last, "first_name": first, "birth_date": born, "is_reference": True}]
    return found


def _request(origin: str, name: str, **extra) -> dict:
    return {"origin": origin, "consent_given_by": name, "consent_date": "2026-01-05",
            "extra": {"origine": origin, **extra}}


def _start(on: str, domains: list[str], resources: str = "minima_sociaux",
           situation: str = "recherche_emploi") -> DemoStep:
    return DemoStep("start", _d(on), {"start_date": on, "extra": {
        "domaines": domains, "ressources_entree": resources, "situation_pro_entree": situation}})


def _end(on: str, result: str, reason: str = "term", resources: str = "minima_sociaux",
         situation: str = "recherche_emploi") -> DemoStep:
    return DemoStep("end", _d(on), {"end_date": on, "reason": reason, "extra": {
        "ressources_sortie": resources, "situation_pro_sortie": situation, "resultat_logement": result}})


def _plan(on: str) -> DemoStep:
    return DemoStep("record_action_plan", _d(on), {"plan_date": on, "objectives": "Objectifs partagés."})


def _bilan(on: str) -> DemoStep:
    return DemoStep("record_bilan", _d(on), {"bilan_date": on, "summary": "Objectifs atteints, relais pris.",
                                             "signed_by_household": True})


def demo_cases(tenant) -> list[DemoCase]:
    ids = organisation_ids_by_name()
    circ = {name: ids.get(f"Circonscription d'action sociale – {name}")
            for name in ("Alençon", "Argentan", "Flers", "L'Aigle-Mortagne")}
    aoltj = ids.get("AOLTJ – Association pour le logement temporaire des jeunes")
    chrs = ids.get("CHRS – service de suite")
    if None in (*circ.values(), aoltj, chrs):
        return []  # the cases need the seed's organisations, which the demo data creates first
    modes = settings_of(tenant)["validation_modes"]
    submit = DemoStep("submit", _d("2026-01-06"))

    def grant(on: str, operator: int | None, circonscription: str, **data) -> DemoStep:
        decision = {"outcome": "granted", **data}
        if operator:
            decision["operator_id"] = operator
        if modes.get(circonscription) == MODE_COMMISSION:
            decision.setdefault("extra", {})["date_commission_mensuelle"] = on
        return DemoStep("decide", _d(on), decision)

    return [
        # -- requests: draft, submitted, refused ---------------------------------------------------
        DemoCase("Lebrun", "Anaïs", INTERNE, household=_household("Alençon"),
                 request={"origin": "famille", "extra": {"origine": "famille"}}),
        DemoCase("Marie", "Jordan", INTERNE, household=_household("Argentan"),
                 request=_request("bailleur", "Jordan Marie"), steps=(submit,)),
        DemoCase("Nicolle", "Paulette", INTERNE, household=_household("Flers", "owner"),
                 request=_request("travailleur_social", "Paulette Nicolle"),
                 steps=(submit, DemoStep("decide", _d("2026-01-20"), {
                     "outcome": "refused", "reason": "Situation relevant d'une aide financière du FSL seule."}))),
        # -- measures in every status ---------------------------------------------------------------
        DemoCase("Olivier", "Sami", INTERNE, household=_household("Flers"),
                 request=_request("cdapl", "Sami Olivier"), steps=(submit, grant("2026-02-02", None, "Flers"))),
        DemoCase("Pichon", "Kevin", JEUNES_ALT,
                 household=_household("Alençon", "accommodation", born="2004-06-12", last="Pichon", first="Kevin"),
                 request=_request("association_insertion", "Kevin Pichon", alt=True, association_agreee=True,
                                  exercee_par_association=True),
                 steps=(submit, grant("2026-02-03", aoltj, "Alençon"))),
        DemoCase("Quentin", "Aline", CHRS_SUITE, household=_household("Argentan", "accommodation"),
                 request=_request("travailleur_social", "Aline Quentin", sortie_chrs_le="2026-01-31"),
                 steps=(submit, grant("2026-02-04", chrs, "Argentan"),
                        _start("2026-02-10", ["acces", "appropriation"]))),
        DemoCase("Renault", "Gisèle", INTERNE, household=_household("L'Aigle-Mortagne", "private_tenant",
                                                                    resources="2400.00"),
                 request=_request("fsl", "Gisèle Renault"),
                 steps=(submit, grant("2026-02-05", circ["L'Aigle-Mortagne"], "L'Aigle-Mortagne"),
                        _start("2026-02-12", ["endettement", "mediation"], "revenus_activite", "emploi"),
                        _plan("2026-03-10"))),
        DemoCase("Simon", "Éric", INTERNE, household=_household("Alençon"),
                 request=_request("travailleur_social", "Éric Simon"),
                 steps=(submit, grant("2026-01-12", circ["Alençon"], "Alençon"),
                        _start("2026-01-19", ["organisation_budgetaire", "appropriation"]), _plan("2026-02-16"),
                        DemoStep("request_prolongation", _d("2026-07-01"), {
                            "request_date": "2026-07-01", "months": 6, "reason": "Plan d'apurement en cours."}))),
        DemoCase("Thomas", "Inès", INTERNE, household=_household("Flers"),
                 request=_request("commission_concertation", "Inès Thomas"),
                 steps=(submit, grant("2026-01-13", circ["Flers"], "Flers"),
                        _start("2026-01-20", ["insertion", "mediation"]),
                        DemoStep("suspend", _d("2026-03-01"), {"from_date": "2026-03-01",
                                                               "reason": "Hospitalisation."}))),
        DemoCase("Usse", "Bruno", INTERNE, household=_household("Argentan", "hosted"),
                 request=_request("travailleur_social", "Bruno Usse"),
                 steps=(submit, grant("2026-01-14", circ["Argentan"], "Argentan"),
                        _start("2026-01-21", ["acces", "organisation_budgetaire"]), _plan("2026-02-20"),
                        _end("2026-07-21", "acces"))),
        DemoCase("Vasseur", "Léo", JEUNES_ALT,
                 household=_household("Flers", "accommodation", born="2002-09-30", last="Vasseur", first="Léo"),
                 request=_request("travailleur_social", "Léo Vasseur", alt=True),
                 steps=(submit, grant("2026-01-15", aoltj, "Flers"), _start("2026-01-22", ["acces", "insertion"]),
                        _end("2026-07-22", "acces", situation="emploi", resources="revenus_activite"),
                        _bilan("2026-08-10"))),
        DemoCase("Wallet", "Chantal", INTERNE, household=_household("Alençon"),
                 request=_request("famille", "Chantal Wallet"),
                 steps=(submit, grant("2026-01-07", circ["Alençon"], "Alençon"),
                        _start("2026-01-12", ["endettement", "appropriation"]), _plan("2026-02-09"),
                        _end("2026-04-30", "maintien", resources="pension", situation="foyer_invalide_retraite"),
                        _bilan("2026-05-15"),
                        DemoStep("close", _d("2026-11-02"), {"close_date": "2026-11-02", "extra": {
                            "contact_6_mois_le": "2026-11-02",
                            "contact_6_mois_point": "Loyer payé, aucun nouvel impayé."}}))),
    ]
