"""Moselle's rules on decisions and starts (``asll_validate_transition``), and what a grant records.

The seed sets no deadline: the rules are about who decides (the département, the commission
unique de sous-location, the commission des situations atypiques), the prior social diagnostic,
non-cumulation with MASP, MAESF, MAJ and MJAGBF, the aide à la recherche's eligibility and the
rent-arrears prevention opened from a first unpaid rent.
"""

from __future__ import annotations

from decimal import Decimal

from asll.toolkit import (
    Violation,
    db,
    household_measures,
    household_support_measures,
    request_profile,
)
from asll.toolkit import french_date as fmt
from asll.toolkit import json_date as iso

from .codes import (
    AIDE_RECHERCHE,
    ASLL_TYPES,
    BAIL_GLISSANT,
    FSL_ACCES_TYPES,
    NON_CUMULATION,
    OWN_TYPES,
    PREVENTION_IMPAYES,
    SITUATION_ATYPIQUE,
    SITUATIONS_ATYPIQUES,
    SOUS_LOCATION,
)
from .models import FslAid, RentArrearsFollowUp
from .settings import euros, tenant_ceiling

ACTIVE = {"granted", "operator_assigned", "started", "running", "prolongation_requested", "suspended"}
SUPPORT_LABELS = {
    "MASP": "mesure d'accompagnement social personnalisé (MASP)",
    "MAESF": "mesure d'accompagnement en économie sociale et familiale (MAESF)",
    "MAJ": "mesure d'accompagnement judiciaire (MAJ)",
    "MJAGBF": "mesure judiciaire d'aide à la gestion du budget familial (MJAGBF)",
}


def validate(tenant, measure, transition: str, data: dict) -> list[Violation]:
    if measure.measure_type not in OWN_TYPES:
        return []
    if transition == "grant":
        return _grant(tenant, measure, data)
    if transition == "start" and measure.measure_type in ASLL_TYPES:
        return _start(measure, data)
    return []


def _grant(tenant, measure, data) -> list[Violation]:
    found = []
    profile = request_profile(measure.request_id) or {"extra": {}, "has_diagnostic": False}
    asked, decided_on = profile["extra"], measure.decision_date
    session = data.get("session")
    commission = session.commission_code if session is not None else None
    if measure.measure_type in ASLL_TYPES:
        diagnosed_on = iso(asked.get("date_diagnostic"))
        if not profile["has_diagnostic"] or diagnosed_on is None:
            found.append(Violation("diagnostic_prealable", "L'ASLL (accès ou maintien) est accordée sur la base d'un "
                                   "diagnostic social préalable : la demande n'en comporte pas."))
        elif decided_on is not None and diagnosed_on > decided_on:
            found.append(Violation("diagnostic_posterieur", f"Le diagnostic social du {fmt(diagnosed_on)} doit "
                                   f"précéder la décision du {fmt(decided_on)}."))
    if measure.measure_type == BAIL_GLISSANT and commission != SOUS_LOCATION:
        found.append(Violation("commission_sous_location", "La sous-location avec bail glissant est accordée par la "
                               "commission unique de sous-location."))
    if measure.measure_type == SITUATION_ATYPIQUE and commission != SITUATIONS_ATYPIQUES:
        found.append(Violation("commission_situations_atypiques", "Le plan d'actions d'une situation atypique est "
                               "élaboré par la commission des situations atypiques."))
    if measure.measure_type == AIDE_RECHERCHE:
        found += _research_aid(tenant, measure, asked)
    if measure.measure_type == PREVENTION_IMPAYES:
        found += _prevention(measure, asked)
    return found


def _research_aid(tenant, measure, asked) -> list[Violation]:
    """Family quotient ≤ 2/3 of the net SMIC (the tenant's setting); the sub-letting route needs its accord."""
    found = []
    ceiling = tenant_ceiling(tenant)
    quotient = asked.get("quotient_familial")
    if quotient in (None, ""):
        found.append(Violation("quotient_familial_manquant", "L'aide à la recherche suppose un quotient familial : "
                               "il manque à la demande."))
    elif Decimal(str(quotient)) > ceiling:
        found.append(Violation(
            "quotient_familial_trop_eleve", f"Quotient familial de {euros(Decimal(str(quotient)))} : l'aide à la "
            f"recherche est ouverte jusqu'à 2/3 du SMIC net, soit {euros(ceiling)}."))
    if asked.get("situation_recherche") == "accord_sous_location":
        accords = [m for m in household_measures(measure.household_id)
                   if m["measure_type"] == BAIL_GLISSANT and m["decision_date"] is not None]
        if not accords:
            found.append(Violation(
                "sans_accord_sous_location", "Au titre de la sous-location, l'aide à la recherche suppose l'accord "
                "de la commission unique de sous-location avec bail glissant pour ce ménage."))
    return found


def _prevention(measure, asked) -> list[Violation]:
    """Action 12: act from the first unpaid rent, one follow-up at a time."""
    found = []
    first_unpaid = iso(asked.get("date_premier_impaye"))
    if first_unpaid is None:
        found.append(Violation("premier_impaye_manquant", "Le suivi de prévention s'ouvre à partir du premier "
                               "impayé de loyer : sa date manque à la demande."))
    elif measure.decision_date is not None and first_unpaid > measure.decision_date:
        found.append(Violation("suivi_avant_impaye", f"Le suivi de prévention ne peut s'ouvrir avant le premier "
                               f"impayé de loyer ({fmt(first_unpaid)})."))
    if any(m["measure_type"] == PREVENTION_IMPAYES and m["status"] in ACTIVE and m["id"] != measure.id
           for m in household_measures(measure.household_id)):
        found.append(Violation("suivi_deja_ouvert", "Un suivi de prévention des impayés de loyer est déjà ouvert "
                               "pour ce ménage."))
    return found


def _start(measure, data) -> list[Violation]:
    """Action 13/14: the ASLL does not run alongside a MASP, MAESF, MAJ or MJAGBF (checked again at the start,
    since such a measure may have begun after the decision)."""
    start, end = data["start_date"], measure.planned_end_date
    found = []
    for other in household_support_measures(measure.household_id):
        if other["code"] not in NON_CUMULATION:
            continue
        overlaps = (other["end_date"] is None or other["end_date"] >= start) and (end is None or other["start_date"]
                                                                                  <= end)
        if overlaps:
            found.append(Violation(
                "cumul_interdit", f"Cumul interdit : le ménage bénéficie d'une {SUPPORT_LABELS[other['code']]} depuis "
                f"le {fmt(other['start_date'])} ; l'ASLL ne se cumule pas avec les MASP, MAESF, MAJ et MJAGBF.",
                "start_date"))
    return found


def after_transition(measure, transition: str, data: dict) -> None:
    """At the grant: the FSL aids decided with the measure and the prevention follow-up's first unpaid rent."""
    if transition != "grant" or measure.measure_type not in OWN_TYPES:
        return
    extra = data.get("extra") or {}
    kind = "acces" if measure.measure_type in FSL_ACCES_TYPES else "maintien"
    for aid in extra.get("aides_fsl") or ():
        db.session.add(FslAid(household_id=measure.household_id, measure_id=measure.id, kind=kind,
                              nature=aid["nature"], amount=aid["montant"], granted_on=measure.decision_date))
    if measure.measure_type == PREVENTION_IMPAYES:
        asked = (request_profile(measure.request_id) or {"extra": {}})["extra"]
        db.session.add(RentArrearsFollowUp(
            household_id=measure.household_id, measure_id=measure.id,
            first_unpaid_date=iso(asked["date_premier_impaye"]),
            first_unpaid_amount=Decimal(str(asked["montant_impaye"])), reported_by=asked.get("signale_par", ""),
            opened_on=measure.decision_date))
