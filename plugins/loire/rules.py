"""The Loire's rules, from the PDALD leaflet (seed 000) and the ASLL charter (seed 003).

Refusals are blocking :class:`Violation` objects with a French message; what the seeds
state as a guide rather than a bar (an operator's sector and monthly capacity, the same
worker keeping the household after a move) comes back as a warning the user sees.
"""

from __future__ import annotations

import unicodedata
from datetime import date, timedelta

from marshmallow import fields, validate

from asll.toolkit import (
    DATE,
    NO_BILAN_REASONS,
    ObligationDef,
    Violation,
    add_months,
    db,
    field_metadata,
    household_measures,
    household_profile,
    measure_documents,
    notifying_commission,
    operator_load,
    organisation_profile,
    request_prescriber_name,
    today,
)

from .models import AML_BAIL_GLISSANT, AML_MANDAT_GESTION, LoireAmlDwelling
from .plugin import ACCES, ARALIS, ARIV, BAIL_GLISSANT, CLT, CLU, DIAGNOSTIC, MAINTIEN, NAME

PREFIX = f"{NAME}."
CLU_TYPES = (ACCES, MAINTIEN, DIAGNOSTIC)
# Actions spécifiques: the association is seized directly and runs the measure itself.
DIRECT_TYPES = {ARIV: "ARIV", ARALIS: "ARALIS"}
CLOSED_STATUSES = ("ended", "bilan_received", "closed")
COMMISSION_NAMES = {CLU: "la CLU", CLT: "la CLT"}
COMMISSION_BY_SHORT_NAME = {"CLU": CLU, "CLT": CLT}
# Charter: "en général 6 mois", "dans des cas particuliers ... 3 mois".
GRANT_MONTHS = (6, 3)
# Seeds give no delay for these; chosen so that reminders fire while the facts are fresh.
LANDLORD_NOTICE_DAYS = 15
BILAN_MONTHS = 1

# Charter: "La mesure d'A.S.L.L. peut être préconisée par la C.L.T., le F.S.L., la S.D.A.P.L." and
# the leaflet: "La CLU peut aussi alerter un travailleur social sur l'opportunité d'une mesure".
RECOMMENDERS = {
    "CLT": "Commission logement territorialisée (CLT)",
    "FSL": "Commission du Fonds de solidarité logement (FSL)",
    "SDAPL": "Section départementale des aides publiques au logement (SDAPL)",
    "CLU": "Alerte de la Commission logement unique (CLU)",
}
# Leaflet: "La CLT ou la DDASS (gestionnaire du fichier prioritaire) instruit la demande."
INSTRUCTIONS = {
    "clt": "Commission logement territorialisée (CLT)",
    "ddass": "DDASS, gestionnaire du fichier prioritaire",
}
# Leaflet: "Une prolongation est possible sur demande auprès de la CLU ou CLT qui a notifié la mesure."
COMMISSION_LABELS = {
    "CLU": "Commission logement unique (CLU)",
    "CLT": "Commission logement territorialisée (CLT)",
}

MESSAGES = {
    "imprime_42": "L'imprimé 42 doit accompagner la demande : la CLU instruit la demande sur l'imprimé 42 et la "
                  "fiche ASLL.",
    "fiche_asll": "La fiche ASLL doit accompagner la demande : la CLU instruit la demande sur l'imprimé 42 et la "
                  "fiche ASLL.",
    "instruction": "Indiquez qui instruit la demande de bail glissant : la CLT ou la DDASS (fichier prioritaire).",
    "preconisee_par": "Instance inconnue : une mesure peut être préconisée par la CLT, le FSL ou la SDAPL, ou "
                      "faire suite à une alerte de la CLU.",
    "gens_du_voyage": "L'action spécifique ARIV est réservée aux gens du voyage en voie de sédentarisation.",
    "resident_aralis": "L'action spécifique ARALIS est réservée aux résidents des foyers ARALIS.",
    "sortie_aralis": "L'action spécifique ARALIS accompagne des résidents en capacité d'accéder à un logement "
                     "autonome, en vue de leur sortie du foyer.",
    "commission": "Commission inconnue : la prolongation est examinée par la CLU ou la CLT.",
}


def is_loire(measure_type: str | None) -> bool:
    return bool(measure_type) and measure_type.startswith(PREFIX)


def _must_be_true(message: str, label: str, description: str | None = None) -> fields.Boolean:
    return fields.Boolean(required=True, validate=validate.Equal(True, error=message),
                          error_messages={"required": message, "null": message, "invalid": "Oui ou non attendu."},
                          metadata=field_metadata(label, description))


def _text(label: str, description: str | None = None, max_length: int = 2000) -> fields.String:
    return fields.String(allow_none=True, validate=validate.Length(max=max_length,
                                                                   error=f"{max_length} caractères au plus."),
                         metadata=field_metadata(label, description))


def _date(label: str, description: str | None = None) -> fields.Date:
    return fields.Date(allow_none=True, error_messages={"invalid": DATE["invalid"]},
                       metadata=field_metadata(label, description))


# Charter: "Le bailleur doit être informé de la fin de la mesure ou de son interruption par le prestataire".
LANDLORD_INFORMED = ("Bailleur informé de la fin de la mesure le",
                     "Date à laquelle l'association a informé le bailleur de la fin de la mesure ou de son "
                     "interruption, comme le prévoit la charte.")


# -- requests ----------------------------------------------------------------------------
def request_fields(measure_type: str) -> dict:
    """What the Loire asks with a request, by measure type."""
    if not is_loire(measure_type):
        return {}
    found: dict = {}
    if measure_type in CLU_TYPES:
        found["imprime_42"] = _must_be_true(
            MESSAGES["imprime_42"], "Imprimé 42 joint à la demande",
            "La CLU instruit les demandes de mesure individuelle d'ASLL sur l'imprimé 42 et la fiche ASLL.")
        found["fiche_asll"] = _must_be_true(
            MESSAGES["fiche_asll"], "Fiche ASLL jointe",
            "Fiche ASLL jointe à l'imprimé 42 : la CLU instruit la demande sur ces deux documents.")
    if measure_type == BAIL_GLISSANT:
        found["instruction"] = fields.String(
            required=True, validate=validate.OneOf(list(INSTRUCTIONS), error=MESSAGES["instruction"]),
            error_messages={"required": MESSAGES["instruction"], "null": MESSAGES["instruction"]},
            metadata=field_metadata("Instruction du bail glissant",
                               "La CLT ou la DDASS (gestionnaire du fichier prioritaire) instruit la demande de "
                               "bail glissant.", choice_labels=dict(INSTRUCTIONS)))
    if measure_type == ARIV:
        found["gens_du_voyage_sedentarisation"] = _must_be_true(
            MESSAGES["gens_du_voyage"], "Gens du voyage en voie de sédentarisation",
            "Critère de l'action spécifique ARIV, saisie directement par le service instructeur.")
    elif measure_type == ARALIS:
        found["resident_foyer_aralis"] = _must_be_true(
            MESSAGES["resident_aralis"], "Résident d'un foyer ARALIS",
            "Critère de l'action spécifique ARALIS, saisie directement par le service instructeur.")
        found["capacite_logement_autonome"] = _must_be_true(
            MESSAGES["sortie_aralis"], "En capacité d'accéder à un logement autonome",
            "ARALIS accompagne les résidents de ses foyers en vue de leur sortie vers un logement autonome.")
    else:
        found["preconisee_par"] = fields.String(
            allow_none=True, validate=validate.OneOf(list(RECOMMENDERS), error=MESSAGES["preconisee_par"]),
            metadata=field_metadata("Préconisée par",
                               "Si la mesure a été préconisée par la CLT, le FSL ou la SDAPL, ou fait suite à une "
                               "alerte de la CLU ; à laisser vide sinon.", choice_labels=dict(RECOMMENDERS)))
    return found


# -- transitions --------------------------------------------------------------------------
def transition_fields(measure, transition: str) -> dict:
    """Extra inputs of the Loire's transitions (stored in the measure's ``extra``)."""
    measure_type = measure.measure_type
    if not is_loire(measure_type):
        return {}
    if transition == "grant":
        return {
            "cas_particulier": _text("Cas particulier justifiant une mesure de 3 mois",
                                     "À préciser si la mesure est attribuée pour 3 mois au lieu de 6 (charte : "
                                     "« dans des cas particuliers »)."),
            "motif_suivi_renforce": _text("Motif du suivi renforcé",
                                          "Difficultés particulières du ménage, notamment sur le plan "
                                          "psychologique, qui justifient un suivi renforcé."),
            "validation_clu_le": _date("Suivi renforcé validé par la CLU le",
                                       "Un suivi renforcé en bail glissant est validé par la CLU."),
        }
    if transition == "start" and measure_type != BAIL_GLISSANT:
        return {"logement_mandat_gestion": fields.Boolean(allow_none=True, metadata=field_metadata(
            "Logement mobilisé en mandat de gestion (AML)",
            "À cocher si l'association, titulaire d'une carte d'agent immobilier, a mobilisé ce logement auprès "
            "d'un bailleur privé : il est compté dans l'aide à la médiation locative."))}
    if transition in ("grant_prolongation", "refuse_prolongation") and measure_type not in DIRECT_TYPES:
        # Optional: the request goes to the commission that notified the measure; naming another is refused.
        return {"commission": fields.String(
            allow_none=True, validate=validate.OneOf(list(COMMISSION_BY_SHORT_NAME), error=MESSAGES["commission"]),
            metadata=field_metadata("Commission saisie de la prolongation",
                               "La prolongation se demande à la CLU ou à la CLT qui a notifié la mesure.",
                               choice_labels=dict(COMMISSION_LABELS)))}
    if transition == "end":
        found = {"bailleur_informe_fin_le": _date(*LANDLORD_INFORMED)}
        if measure_type == BAIL_GLISSANT:
            found["bail_glisse_le"] = _date("Bail glissé au ménage le",
                                            "Date à laquelle le ménage est devenu locataire en titre du logement "
                                            "(bail glissé, compté dans l'aide à la médiation locative).")
        return found
    if transition == "record_bilan":
        return {"signe_par_intervenant": fields.Boolean(allow_none=True, metadata=field_metadata(
                    "Bilan signé par l'intervenant en ASLL",
                    "Le bilan est signé par l'intervenant en ASLL et par le ménage, puis retourné à la CLU ou à "
                    "la CLT.")),
                "bailleur_informe_fin_le": _date(*LANDLORD_INFORMED)}
    if transition == "close":
        return {"bailleur_informe_fin_le": _date(*LANDLORD_INFORMED)}
    return {}


def validate_transition(measure, transition: str, data: dict) -> list[Violation]:
    if not is_loire(measure.measure_type):
        return []
    extra = data.get("extra") or {}
    if transition == "grant":
        return _grant_rules(measure, data, extra)
    if transition == "assign_operator":
        return _operator_rules(measure, data["operator_id"], data.get("notified_date") or today(),
                               measure.reinforced)
    if transition == "transfer":
        found = _operator_rules(measure, data["operator_id"], data["transfer_date"], measure.reinforced)
        if data.get("reason") == "move":
            found.append(Violation(
                "meme_intervenant", "La charte recommande que la mesure soit assurée par le même intervenant, "
                "même lorsqu'il y a déménagement.", blocking=False))
        return found
    if transition in ("grant_prolongation", "refuse_prolongation"):
        return _prolongation_rules(measure, extra)
    if transition == "end":
        glided = extra.get("bail_glisse_le")
        if glided and (glided > data["end_date"] or (measure.start_date and glided < measure.start_date)):
            return [Violation("date_glissement", "Le bail doit avoir glissé au ménage pendant la mesure "
                              "(entre son début et sa fin).", "bail_glisse_le")]
        return []
    if transition == "record_bilan":
        if not (data.get("signed_by_household") and extra.get("signe_par_intervenant")):
            return [Violation("bilan_non_signe", "Le bilan doit être signé par l'intervenant ASLL et par le ménage.")]
        return []
    if transition == "close":
        if _informs_landlord(measure) and not (measure.extra.get("bailleur_informe_fin_le")
                                               or extra.get("bailleur_informe_fin_le")):
            return [Violation("bailleur_non_informe", "Le bailleur doit être informé de la fin ou de l'interruption "
                              "de la mesure avant sa clôture : indiquez la date à laquelle l'opérateur l'a informé.",
                              "bailleur_informe_fin_le")]
    return []


def _grant_rules(measure, data: dict, extra: dict) -> list[Violation]:
    found: list[Violation] = []
    months = measure.granted_months
    if months not in GRANT_MONTHS:
        found.append(Violation("duree_charte", "Une mesure d'ASLL est attribuée pour 6 mois, ou pour 3 mois dans des "
                               f"cas particuliers (et non pour {months} mois).", "duration_months"))
    elif months == 3 and not (extra.get("cas_particulier") or "").strip():
        found.append(Violation("cas_particulier_manquant", "Précisez le cas particulier qui justifie une mesure de "
                               "3 mois.", "cas_particulier"))
    if measure.reinforced:
        if not (extra.get("motif_suivi_renforce") or "").strip():
            found.append(Violation("motif_suivi_renforce", "Précisez les difficultés particulières (notamment "
                                   "psychologiques) qui justifient un suivi renforcé.", "motif_suivi_renforce"))
        if measure.measure_type == BAIL_GLISSANT and not extra.get("validation_clu_le"):
            found.append(Violation("validation_clu_manquante", "Un suivi renforcé en bail glissant est validé par la "
                                   "CLU : indiquez la date de sa validation.", "validation_clu_le"))
    running = [m for m in household_measures(measure.household_id)
               if is_loire(m["measure_type"]) and m["status"] not in CLOSED_STATUSES and m["id"] != measure.id]
    if running:
        found.append(Violation("reintervention_prematuree", f"Le ménage bénéficie déjà de la mesure "
                               f"{running[0]['reference']} en cours : une ré-intervention ne peut être demandée "
                               "qu'après sa fin."))
    association = DIRECT_TYPES.get(measure.measure_type)
    if association and measure.operator_id is None:
        found.append(Violation("association_a_designer", f"Une action spécifique {association} est confiée "
                               f"directement à l'association {association} : désignez-la comme opérateur.",
                               "operator_id"))
    if measure.operator_id is not None:
        found += _operator_rules(measure, measure.operator_id, measure.decision_date, measure.reinforced)
    return found


# -- operators: the association of an action spécifique, sector, capacities -----------------
def _norm(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode().lower().strip()
    return " ".join(plain.replace("saint ", "st ").replace("-", " ").split())


ROANNE_AREA = {"roanne", "roannais"}
# The seed's sector names as they cover the households' sectors (the leaflet's own words;
# "Saint Etienne Forez Sud" read as Saint-Étienne and the south of the Forez).
COVERAGE = {
    "departement": None,  # everywhere
    "st etienne forez sud": {"st etienne forez sud", "st etienne gier/pilat", "forez"},
}


def covers(operator_sectors: list[str], household_sector: str) -> bool:
    """Whether an operator's sectors (seed wording) cover a household's sector."""
    sector = _norm(household_sector)
    for raw in operator_sectors:
        own = _norm(raw)
        if own in COVERAGE and (COVERAGE[own] is None or sector in COVERAGE[own]):
            return True
        if own == "loire sauf roanne" and sector not in ROANNE_AREA:
            return True
        if own == sector or (own in ROANNE_AREA and sector in ROANNE_AREA):
            return True
    return False


def _is_association(profile: dict, association: str) -> bool:
    return _norm(profile["name"]).split(" ")[0] == _norm(association)


def _operator_rules(measure, operator_id: int, on: date, reinforced: bool) -> list[Violation]:
    """The association a measure may go to, and warnings with the figures on sector and capacity."""
    profile = organisation_profile(operator_id)
    if profile is None:
        return []
    name, found = profile["name"], []
    association = DIRECT_TYPES.get(measure.measure_type)
    if association and not _is_association(profile, association):
        found.append(Violation("association_imposee", f"L'action spécifique {association} est exercée par "
                               f"l'association {association}, pas par {name}.", "operator_id"))
    sectors = profile["sectors"]
    household = household_profile(measure.household_id) or {"sector": ""}
    if sectors and not household["sector"]:
        found.append(Violation("secteur_inconnu", "Le secteur du ménage n'est pas renseigné : impossible de vérifier "
                               f"qu'il relève du secteur de {name} ({', '.join(sectors)}).", blocking=False))
    elif sectors and not covers(sectors, household["sector"]):
        found.append(Violation("hors_secteur", f"Hors secteur : le ménage relève du secteur « {household['sector']} » "
                               f"et {name} intervient sur : {', '.join(sectors)}.", "operator_id", blocking=False))
    load = operator_load(operator_id, on, exclude_measure_id=measure.id)
    capacity = profile["capacity"]
    if capacity is not None and profile["capacity_unit"] == "year" and load["notified_in_year"] >= capacity:
        used = load["notified_in_year"]
        found.append(Violation("capacite_depassee", f"Capacité dépassée : {name} a déjà reçu {used} mesure(s) en "
                               f"{on.year} pour une capacité de {capacity} ménages à l'année ({used + 1} avec "
                               "celle-ci).", "operator_id", blocking=False))
    elif capacity is not None and profile["capacity_unit"] != "year" and load["open"] >= capacity:
        used = load["open"]
        found.append(Violation("capacite_depassee", f"Capacité dépassée : {name} suit déjà {used} ménage(s) pour une "
                               f"capacité de {capacity} ménages par mois ({used + 1} avec celui-ci).", "operator_id",
                               blocking=False))
    if reinforced:
        limit = profile["reinforced_capacity"] or 0
        if limit == 0:
            found.append(Violation("suivi_renforce_sans_capacite", f"{name} n'a pas de capacité de suivis renforcés "
                                   "dans la liste des associations.", "operator_id", blocking=False))
        elif load["open_reinforced"] >= limit:
            used = load["open_reinforced"]
            found.append(Violation("capacite_renforcee_depassee", f"Suivis renforcés : {name} en assure déjà {used} "
                                   f"pour une capacité de {limit} ({used + 1} avec celui-ci).", "operator_id",
                                   blocking=False))
    return found


# -- prolongation, end, bilan, landlord ------------------------------------------------------
def _prolongation_rules(measure, extra: dict) -> list[Violation]:
    expected = notifying_commission(measure)
    given = COMMISSION_BY_SHORT_NAME.get(extra.get("commission") or "", expected)
    if expected in COMMISSION_NAMES and given != expected:
        return [Violation("commission_non_notifiante", f"La prolongation se demande à {COMMISSION_NAMES[expected]}, "
                          "qui a notifié la mesure.", "commission")]
    return []


def _informs_landlord(measure) -> bool:
    household = household_profile(measure.household_id)
    return bool(household and household["landlord_id"] and household["landlord_consent"])


def after_transition(measure, transition: str, data: dict) -> None:
    """Records what the Loire keeps: re-interventions, AML dwellings, hand-over and bilan's addressee."""
    if not is_loire(measure.measure_type):
        return
    extra = data.get("extra") or {}
    if transition == "grant":
        earlier = [m for m in household_measures(measure.household_id)
                   if is_loire(m["measure_type"]) and m["id"] != measure.id and m["status"] in CLOSED_STATUSES]
        if earlier:
            measure.extra = {**measure.extra, "reintervention_apres": earlier[-1]["reference"]}
    elif transition == "start" and extra.get("logement_mandat_gestion"):
        _record_aml(measure, AML_MANDAT_GESTION, data["start_date"])
    elif transition == "end":
        if extra.get("bail_glisse_le"):
            _record_aml(measure, AML_BAIL_GLISSANT, extra["bail_glisse_le"])
        if data["reason"] not in NO_BILAN_REASONS and not measure.hand_over_to:
            # "Relais avec le service instructeur initial ou un autre": the first one unless told otherwise.
            prescriber = request_prescriber_name(measure.request_id) or "inconnu"
            measure.hand_over_to = f"Service instructeur initial : {prescriber}"[:200]
    elif transition in ("grant_prolongation", "refuse_prolongation"):
        commission = notifying_commission(measure)
        if commission:
            measure.extra = {**measure.extra, "prolongation_examinee_par": commission}
    elif transition == "record_bilan":
        commission = notifying_commission(measure)
        if commission:
            measure.extra = {**measure.extra, "bilan_retourne_a": commission}


def _record_aml(measure, mode: str, on: date) -> None:
    if measure.operator_id is None:
        return
    db.session.add(LoireAmlDwelling(operator_id=measure.operator_id, measure_id=measure.id, mode=mode,
                                    year=on.year, event_date=on))


# -- obligations ---------------------------------------------------------------------------
def obligations(measure) -> list[ObligationDef]:
    if not is_loire(measure.measure_type):
        return []
    found: list[ObligationDef] = []
    commission = COMMISSION_NAMES.get(notifying_commission(measure) or "")
    landlord = None
    if measure.measure_type in (ACCES, MAINTIEN) and measure.decision_date:
        landlord = _informs_landlord(measure)
        if landlord:
            sent = ("decision_letter", "landlord") in measure_documents(measure.id)
            found.append(ObligationDef("loire_bailleur_attribution", "Informer le bailleur de l'attribution de la "
                                       "mesure (secrétariat du FSL)",
                                       measure.decision_date + timedelta(days=LANDLORD_NOTICE_DAYS),
                                       "commission_secretary", done=sent))
    if measure.start_date and measure.planned_end_date:
        to = f" à {commission}" if commission else ""
        found.append(ObligationDef("loire_echeance", f"Échéance : fin de la mesure ou demande de reconduction{to}",
                                   measure.planned_end_date, "operator_worker", done=measure.end_date is not None))
    if measure.end_date is not None:
        broke_off = measure.end_reason in NO_BILAN_REASONS
        if not broke_off and measure.start_date is not None:
            to = commission or "l'instance qui a décidé la mesure"
            found.append(ObligationDef("loire_bilan", f"Bilan signé par l'intervenant et le ménage, retourné à {to}",
                                       add_months(measure.end_date, BILAN_MONTHS), "operator_worker",
                                       done=measure.bilan_date is not None))
        if landlord is None:
            landlord = _informs_landlord(measure)
        if landlord:
            what = "de l'interruption" if broke_off else "de la fin"
            found.append(ObligationDef("loire_bailleur_fin", f"Informer le bailleur {what} de la mesure",
                                       measure.end_date + timedelta(days=LANDLORD_NOTICE_DAYS), "operator_worker",
                                       done=bool(measure.extra.get("bailleur_informe_fin_le"))))
    return found
