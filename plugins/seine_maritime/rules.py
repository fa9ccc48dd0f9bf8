"""The référentiel's rules on each transition (``asll_validate_transition``), with French messages.

A blocking :class:`Violation` refuses the transition; a non-blocking one is a warning shown to
the user (a document sent late is still recorded, with the delay noted). Rules the référentiel
lets the commission locale waive (§2.4.4) are *derogable*: with a derogation examined by the
commission after the SLS's opinion, a favourable commission turns them into warnings.
"""

from __future__ import annotations

from datetime import date

from asll.toolkit import Violation, add_months, household_profile, organisation_profile, request_profile
from asll.toolkit import french_date as fmt
from asll.toolkit import json_date as iso

from . import periods
from .codes import ACCES, ASLL_TYPES, COMMISSION_LOCALE, DIAGNOSTIC_CCAPEX, OWN_TYPES
from .fields import EXCLUDED_STRUCTURES

SLS_MISSING = "cet avis manque."


def validate(measure, transition: str, data: dict) -> list[Violation]:
    if measure.measure_type not in OWN_TYPES:
        return []
    check = CHECKS.get(transition)
    if check is None:
        return []
    extra = data.get("extra") or {}
    found: list[Violation] = []
    derogable: list[Violation] = []
    check(measure, data, extra, found, derogable)
    return found + with_derogation(derogable, extra.get("derogation"))


def with_derogation(violations: list[Violation], derogation: dict | None) -> list[Violation]:
    """§2.4.4: the commission locale examines a derogation after the SLS's opinion; if favourable, it applies."""
    if not violations:
        return []
    if not derogation:
        return violations
    if not derogation.get("avis_sls") or not derogation.get("date_avis_sls"):
        return violations + [Violation(
            "derogation_sans_avis_sls", "Une dérogation est étudiée en commission locale ASLL après avis du service "
            "logement et solidarités : " + SLS_MISSING, "derogation")]
    when = fmt(derogation["date_commission"])
    if derogation["avis_commission"] == "favorable":
        return [Violation(v.code, f"{v.message} Dérogation accordée par la commission locale ASLL le {when}.",
                          v.field, blocking=False) for v in violations]
    return [Violation(v.code, f"{v.message} La commission locale ASLL a refusé la dérogation le {when}.", v.field)
            for v in violations]


# -- decision (§2.1.2, §1.3, §2.4.2, §3.2-3.3) ------------------------------------------------
def _grant(measure, data, extra, found, derogable):
    profile = request_profile(measure.request_id) or {"extra": {}}
    asked = profile["extra"]
    if measure.measure_type in ASLL_TYPES:
        session = data.get("session")
        if session is None or session.commission_code != COMMISSION_LOCALE:
            found.append(Violation(
                "avis_conforme_requis", "Une mesure d'ASLL est accordée par le Président du Département sur avis "
                "conforme de la commission locale ASLL : enregistrez la décision en séance de la commission locale."))
        if measure.measure_type == ACCES and asked.get("sortie_structure") in EXCLUDED_STRUCTURES:
            derogable.append(Violation(
                "exclusion_avdl", f"Les ménages sortant de {asked['sortie_structure']} qui accèdent à un logement "
                "relèvent de l'accompagnement vers et dans le logement (AVDL) de l'État : l'ASLL ne peut être "
                "accordée."))
        if asked.get("bailleur_public_informe"):
            household = household_profile(measure.household_id) or {}
            if not household.get("landlord_consent"):
                found.append(Violation(
                    "bailleur_sans_accord", "Le bailleur public n'est informé de la demande qu'avec l'accord du "
                    "ménage : cet accord n'est pas enregistré sur la fiche du ménage."))
        if asked.get("mesure_origine_separation"):
            opinion = asked.get("avis_sls_separation")
            if not opinion:
                found.append(Violation(
                    "separation_avis_sls", "Après une séparation, une nouvelle mesure est accordée sur avis du "
                    "service logement et solidarités : " + SLS_MISSING))
            elif opinion == "defavorable":
                found.append(Violation(
                    "separation_avis_defavorable", "Le service logement et solidarités a rendu un avis défavorable "
                    "à une nouvelle mesure après la séparation."))
        return
    # The CCAPEX diagnostic (§3).
    if not asked.get("date_cpex"):
        found.append(Violation(
            "diagnostic_hors_ccapex", "Le diagnostic ASLL est demandé par le Département à l'initiative de la "
            "CCAPEX : la date d'examen du ménage en CPEX manque à la demande."))
    if measure.granted_months != 2:
        found.append(Violation("diagnostic_deux_mois", "Le diagnostic ASLL a une durée de deux mois.",
                               "duration_months"))
    if measure.operator_id is None:
        found.append(Violation("diagnostic_sans_association", "Le diagnostic est demandé par courrier à une "
                               "association : désignez-la dans la décision.", "operator_id"))
    letter = extra.get("date_courrier_association")
    if letter is not None and measure.decision_date and letter < measure.decision_date:
        found.append(Violation("courrier_avant_decision", "Le courrier à l'association ne peut précéder la "
                               "décision du Département.", "date_courrier_association"))


# -- start and documents (§2.2.2, §3.3) -------------------------------------------------------
def _start(measure, data, extra, found, derogable):
    start = data["start_date"]
    if measure.measure_type == DIAGNOSTIC_CCAPEX:
        letter = periods.diagnostic_letter_date(measure)
        if letter is not None and start != letter:
            found.append(Violation(
                "debut_diagnostic", "La date de début du diagnostic ASLL est celle du courrier adressé à "
                f"l'association ({fmt(letter)}).", "start_date"))
        return
    limit = periods.start_deadline(measure)
    if start > limit:
        derogable.append(Violation(
            "demarrage_tardif", "L'organisme doit débuter l'accompagnement dans le mois qui suit la décision de la "
            f"commission locale ASLL du {fmt(measure.decision_date)} : au plus tard le {fmt(limit)}.", "start_date"))


def _contract_sent(measure, data, extra, found, derogable):
    limit = add_months(measure.start_date, 1)
    if data["sent_date"] > limit:
        found.append(Violation(
            "contrat_tardif", "Contrat d'accompagnement transmis au service logement et solidarités plus d'un mois "
            f"après sa signature (échéance : {fmt(limit)}).", "sent_date", blocking=False))


def _action_plan(measure, data, extra, found, derogable):
    limit = add_months(measure.start_date, 3)
    if data["plan_date"] > limit:
        found.append(Violation(
            "plan_tardif", "Plan d'action établi plus de trois mois après le début de la mesure "
            f"(échéance : {fmt(limit)}).", "plan_date", blocking=False))


# -- prolongations (§2.2.1, §3.3) -------------------------------------------------------------
def _request_prolongation(measure, data, extra, found, derogable):
    asked_on = data["request_date"]
    if measure.measure_type == DIAGNOSTIC_CCAPEX:
        if data["months"] != 4:
            found.append(Violation("poursuite_quatre_mois", "À l'issue du diagnostic, l'ASLL se poursuit pour "
                                   "quatre mois supplémentaires.", "months"))
        if not extra.get("souhait_menage"):
            found.append(Violation(
                "poursuite_sans_souhait", "L'ASLL ne se poursuit après le diagnostic que si le ménage le souhaite ; "
                "sinon, l'organisme l'oriente vers la mesure d'accompagnement la plus adaptée.", "souhait_menage"))
        if measure.planned_end_date and asked_on > measure.planned_end_date:
            found.append(Violation("poursuite_apres_diagnostic", "La poursuite se demande à l'issue du diagnostic, "
                                   f"au plus tard le {fmt(measure.planned_end_date)}.", "request_date"))
        bilan = extra.get("date_bilan_diagnostic")
        if bilan is not None:
            if bilan > asked_on:
                found.append(Violation("bilan_apres_demande", "Le bilan du diagnostic accompagne la demande de "
                                       "poursuite : il ne peut lui être postérieur.", "date_bilan_diagnostic"))
            due = periods.diagnostic_bilan_due(measure)
            if due is not None and bilan > due:
                found.append(_late_diagnostic_bilan(due))
        return
    limit = periods.prolongation_request_deadline(measure)
    if asked_on > limit:
        derogable.append(Violation(
            "demande_prolongation_tardive", "Toute demande de prolongation est formulée au plus tard un mois avant "
            f"la fin de la mesure : le {fmt(limit)} pour une fin prévue le {fmt(measure.planned_end_date)}.",
            "request_date"))
    if measure.prolongation_count == 1:
        synthesis = data.get("synthesis_meeting_date")
        if synthesis is None:
            found.append(Violation(
                "synthese_requise", "Avant une deuxième demande de prolongation, l'organisme convie le service "
                "logement et solidarités à une synthèse en présence du ménage : indiquez sa date.",
                "synthesis_meeting_date"))
        elif synthesis > asked_on:
            found.append(Violation("synthese_apres_demande", "La synthèse doit précéder la demande de "
                                   "prolongation.", "synthesis_meeting_date"))
        if not extra.get("menage_present_synthese"):
            found.append(Violation("synthese_sans_menage", "La synthèse se tient en présence du ménage.",
                                   "menage_present_synthese"))


def _prolongation_opinions(measure, extra, granting: bool) -> list[Violation]:
    """1st: on the SLS's opinion, the commission locale's if it is negative; 2nd: the commission's."""
    sls, commission = extra.get("avis_sls"), extra.get("avis_commission")
    found = []
    if measure.prolongation_count == 0:
        if not sls:
            return [Violation("avis_sls_requis", "La première prolongation est accordée sur avis du service "
                              "logement et solidarités : " + SLS_MISSING, "avis_sls")]
        if sls == "favorable":
            if not granting:
                found.append(Violation(
                    "refus_malgre_avis_favorable", "Le service logement et solidarités a rendu un avis favorable : "
                    "la première prolongation est accordée sur cet avis.", "avis_sls"))
            return found
        if not commission:
            return [Violation("avis_commission_requis", "L'avis du service logement et solidarités étant "
                              "défavorable, l'avis de la commission locale ASLL doit être demandé.", "avis_commission")]
    elif not commission:
        return [Violation("avis_commission_requis", "La deuxième prolongation, exceptionnelle, nécessite l'avis de "
                          "la commission locale ASLL.", "avis_commission")]
    if granting and commission == "defavorable":
        found.append(Violation("avis_commission_defavorable", "La commission locale ASLL a rendu un avis "
                               "défavorable : la prolongation ne peut être accordée.", "avis_commission"))
    if not granting and commission == "favorable":
        found.append(Violation("refus_malgre_avis_commission", "La commission locale ASLL a rendu un avis "
                               "favorable : la prolongation ne peut être refusée.", "avis_commission"))
    return found


def _grant_prolongation(measure, data, extra, found, derogable):
    if measure.measure_type == DIAGNOSTIC_CCAPEX:
        asked_on = iso((measure.extra or {}).get("pending_prolongation", {}).get("request_date"))
        if asked_on is not None and data["decision_date"] > asked_on:
            found.append(Violation(
                "poursuite_non_immediate", "Le service logement et solidarités valide sans délai la poursuite "
                f"demandée le {fmt(asked_on)}.", "decision_date", blocking=False))
        informed = extra.get("date_information_commission")
        if informed is not None and informed < data["decision_date"]:
            found.append(Violation("information_avant_validation", "La commission locale ASLL est informée de la "
                                   "poursuite une fois celle-ci validée.", "date_information_commission"))
        return
    found.extend(_prolongation_opinions(measure, extra, granting=True))


def _refuse_prolongation(measure, data, extra, found, derogable):
    if measure.measure_type in ASLL_TYPES:
        found.extend(_prolongation_opinions(measure, extra, granting=False))


# -- special cases (§2.4) -----------------------------------------------------------------------
def _suspend(measure, data, extra, found, derogable):
    opinion = extra.get("avis_sls")
    if not opinion:
        found.append(Violation("suspension_avis_sls", "La mesure est suspendue sur avis du service logement et "
                               "solidarités : " + SLS_MISSING, "avis_sls"))
    elif opinion == "defavorable":
        found.append(Violation("suspension_avis_defavorable", "Le service logement et solidarités a rendu un avis "
                               "défavorable à la suspension.", "avis_sls"))


def _resume(measure, data, extra, found, derogable):
    limit = periods.suspension_limit(measure)
    if data["resume_date"] > limit:
        derogable.append(Violation(
            "suspension_trop_longue", "La suspension est limitée à deux mois : reprise au plus tard le "
            f"{fmt(limit)} pour une mesure suspendue le {fmt(measure.suspended_from)}.", "resume_date"))


def _serves(sectors: list[str], sector: str) -> bool:
    """An operator with no declared sector works in the whole département."""
    wanted = sector.strip().casefold()
    return not sectors or any(s.strip().casefold() == wanted for s in sectors)


def _transfer(measure, data, extra, found, derogable):
    reason = data["reason"]
    if reason == "move":
        sector = (household_profile(measure.household_id) or {}).get("sector", "").strip()
        if not sector:
            found.append(Violation("secteur_inconnu", "Indiquez le nouveau secteur du ménage sur sa fiche avant "
                                   "d'organiser le relais vers un autre organisme."))
            return
        current = organisation_profile(measure.operator_id) or {"sectors": []}
        if _serves(current["sectors"], sector):
            found.append(Violation(
                "demenagement_meme_secteur", f"L'organisme actuel intervient sur le secteur « {sector} » : un "
                "déménagement n'y justifie pas de relais.", "reason"))
        target = organisation_profile(data["operator_id"]) or {"sectors": []}
        if not _serves(target["sectors"], sector):
            found.append(Violation("operateur_hors_secteur", "L'organisme désigné n'intervient pas sur le secteur "
                                   f"« {sector} » où le ménage a déménagé.", "operator_id"))
    elif reason == "separation":
        if not (data.get("member") or "").strip():
            found.append(Violation("separation_membre", "Indiquez le membre du couple qui conserve la mesure.",
                                   "member"))
        opinion = extra.get("avis_sls")
        if not opinion:
            found.append(Violation("separation_avis_sls", "En cas de séparation, la mesure est transférée à l'un des "
                                   "membres du couple sur avis du service logement et solidarités : " + SLS_MISSING,
                                   "avis_sls"))
        elif opinion == "defavorable":
            found.append(Violation("separation_avis_defavorable", "Le service logement et solidarités a rendu un "
                                   "avis défavorable au transfert de la mesure.", "avis_sls"))
    else:
        derogable.append(Violation(
            "transfert_hors_referentiel", "Le référentiel organise un relais vers un autre organisme en cas de "
            "déménagement hors de son secteur ou de séparation du couple.", "reason"))


# -- end, hand-over and bilan (§2.2.3, §3.3) ----------------------------------------------------
def _end(measure, data, extra, found, derogable):
    end = data["end_date"]
    if data["reason"] == "hand_over" and not (data.get("hand_over_to") or "").strip():
        found.append(Violation("relais_non_precise", "Indiquez la mesure d'accompagnement vers laquelle le ménage "
                               "est orienté.", "hand_over_to"))
    if extra.get("menage_rencontre") is False and data["reason"] == "hand_over":
        found.append(Violation("orientation_sans_rencontre", "Le ménage n'a pas été rencontré : l'organisme ne "
                               "peut l'orienter vers une autre mesure.", "reason"))
    if measure.start_date is None:
        return
    cap = periods.total_duration_cap(measure, end)
    if end > cap:
        found.append(Violation("duree_totale_18_mois", "La mesure d'ASLL ne peut excéder dix-huit mois au total : "
                               f"elle prend fin au plus tard le {fmt(cap)}.", "end_date"))
    next_start = periods.next_measure_start(measure, end)
    if next_start is not None and end > periods.hand_over_limit(next_start):
        derogable.append(Violation(
            "relais_plus_d_un_mois", "La mesure d'ASLL peut se poursuivre un mois au plus après le début de la "
            f"nouvelle mesure ({fmt(next_start)}) : fin au plus tard le {fmt(periods.hand_over_limit(next_start))}.",
            "end_date"))
    term = periods.planned_end(measure, end)
    if term is not None and end > term and not (data["reason"] == "hand_over" and next_start is not None):
        found.append(Violation("fin_apres_terme", f"La mesure prend fin au terme prévu ({fmt(term)}) : au-delà, "
                               "une prolongation est nécessaire (ou un relais vers une nouvelle mesure).", "end_date"))


def _late_diagnostic_bilan(due: date) -> Violation:
    return Violation("bilan_diagnostic_tardif", f"Bilan du diagnostic transmis après l'échéance du {fmt(due)} (un "
                     "mois après le diagnostic, au plus tard la veille du réexamen en CPEX).", "bilan_date",
                     blocking=False)


def _bilan(measure, data, extra, found, derogable):
    bilan = data["bilan_date"]
    if measure.measure_type == DIAGNOSTIC_CCAPEX and not measure.prolongation_count:
        due = periods.diagnostic_bilan_due(measure)
        if due is not None and bilan > due:
            found.append(_late_diagnostic_bilan(due))
        return
    limit = add_months(measure.end_date, 1)
    if bilan > limit:
        found.append(Violation("bilan_tardif", "Bilan individuel transmis plus d'un mois après l'arrêt de la mesure "
                               f"(échéance : {fmt(limit)}).", "bilan_date", blocking=False))


def _close(measure, data, extra, found, derogable):
    if measure.start_date is not None and measure.bilan_date is None:
        found.append(Violation("bilan_requis", "L'organisme transmet un bilan individuel au service logement et "
                               "solidarités en fin de mesure : enregistrez-le avant de clôturer."))


CHECKS = {
    "grant": _grant,
    "start": _start,
    "record_contract_sent": _contract_sent,
    "record_action_plan": _action_plan,
    "request_prolongation": _request_prolongation,
    "grant_prolongation": _grant_prolongation,
    "refuse_prolongation": _refuse_prolongation,
    "suspend": _suspend,
    "resume": _resume,
    "transfer": _transfer,
    "end": _end,
    "record_bilan": _bilan,
    "close": _close,
}
