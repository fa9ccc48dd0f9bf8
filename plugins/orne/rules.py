"""The Orne's rules, from its ASLL presentation (seed 001).

Internal measures are run by a circonscription's ASLL worker, external ones by the agreed
structures (AOLTJ for young people with an ALT, a CHRS for its after-care); requests come
from the family, a social worker, the landlord, an insertion association or an
orientation of the CDAPL, the FSL or the commission de concertation, with no means test;
each circonscription validates by its head alone or in a monthly commission (a setting);
the evaluation keeps the domains worked on and the situation at entry and exit; the
household is contacted 6 months after the end.
"""

from __future__ import annotations

import unicodedata
from datetime import date

import sqlalchemy as sa
from marshmallow import fields, validate

from asll.toolkit import (
    DATE,
    ObligationDef,
    Violation,
    add_months,
    db,
    field_metadata,
    household_profile,
    measures_table,
    operator_load,
    organisation_profile,
    request_profile,
    today,
)

from .models import OrneMeasureDomain, OrneMeasureRecord
from .plugin import (
    CHRS_SUITE,
    COMMISSION_BY_MODE,
    COMMISSION_MENSUELLE,
    INTERNE,
    JEUNES_ALT,
    MODE_COMMISSION,
    MODE_RESPONSABLE,
    NAME,
    OrneSettingsSchema,
)

PREFIX = f"{NAME}."
EXTERNAL_TYPES = (JEUNES_ALT, CHRS_SUITE)
# Which operator runs which measure type (see ``operator_role``).
OPERATOR_FOR_TYPE = {INTERNE: "interne", JEUNES_ALT: "aoltj", CHRS_SUITE: "chrs"}
OPERATOR_LABELS = {
    "interne": "le travailleur social ASLL d'une circonscription d'action sociale",
    "aoltj": "l'AOLTJ (association pour le logement temporaire des jeunes)",
    "chrs": "le CHRS, dans le cadre de son service de suite",
}
YOUNG_AGES = (18, 25)
CONTACT_AFTER_MONTHS = 6
NO_EVALUATION_REASONS = ("not_met", "no_adhesion")

# "Origines des demandes" (seed 001), in its order.
ORIGINS = {
    "famille": "La famille",
    "travailleur_social": "L'évaluation d'un travailleur social",
    "bailleur": "Le bailleur",
    "association_insertion": "Une association spécialisée dans l'insertion",
    "cdapl": "Une orientation de la CDAPL",
    "fsl": "Une orientation du FSL",
    "commission_concertation": "Une orientation de la commission de concertation",
}
# "Contenu des mesures": the six intervention domains, several per measure.
DOMAINS = {
    "acces": "Accès à un logement adapté à la situation familiale et financière",
    "organisation_budgetaire": "Organisation administrative et budgétaire liée au logement",
    "endettement": "Traitement d'une situation d'endettement lié au logement",
    "appropriation": "Appropriation du logement – maîtrise des charges",
    "insertion": "Insertion dans l'environnement locatif",
    "mediation": "Médiation locative (interface bailleur/locataire)",
}
RESOURCES = {
    "minima_sociaux": "Minima sociaux",
    "revenus_activite": "Revenus d'activité",
    "chomage": "Indemnités de chômage",
    "pension": "Pension, retraite ou allocation d'invalidité",
    "autres": "Autres ressources",
    "sans_ressources": "Sans ressources",
}
SITUATIONS = {
    "emploi": "Emploi",
    "recherche_emploi": "Demandeur d'emploi",
    "foyer_invalide_retraite": "Au foyer, invalide, handicapé ou retraité",
    "etudiant_stagiaire": "Étudiant, stagiaire ou apprenti",
    "sans_activite": "Sans activité professionnelle",
}
HOUSING_RESULTS = {
    "maintien": "Maintien dans le logement",
    "relogement": "Relogement dans un logement adapté",
    "acces": "Accès à un logement autonome",
    "hebergement": "Hébergement",
    "sans_solution": "Sans solution de logement",
}

MESSAGES = {
    "origine": "Indiquez l'origine de la demande : la famille, un travailleur social, le bailleur, une association "
               "d'insertion, ou une orientation de la CDAPL, du FSL ou de la commission de concertation.",
    "alt": "La mesure jeunes doit être adossée à une allocation de logement temporaire (ALT).",
    "sortie_chrs": "Indiquez la date de sortie du CHRS : la mesure s'inscrit dans son service de suite.",
    "domaines": "Indiquez au moins un domaine d'intervention.",
    "domaine_inconnu": "Domaine d'intervention inconnu.",
    "ressources": "Indiquez les ressources du ménage.",
    "situation": "Indiquez la situation socioprofessionnelle.",
    "resultat": "Indiquez le résultat obtenu au regard du logement.",
}


def is_orne(measure_type: str | None) -> bool:
    return bool(measure_type) and measure_type.startswith(PREFIX)


def settings_of(tenant) -> dict:
    """The tenant's settings over the schema's defaults (a bare ``TenantInfo`` has none)."""
    return {**OrneSettingsSchema().load({}), **dict(tenant.settings_for(NAME) if tenant else {})}


def _norm(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode().lower()
    return " ".join(plain.replace("'", " ").replace("-", " ").split())


def _choice(options: dict, message: str, *, required: bool, label: str, description: str | None = None
            ) -> fields.String:
    """A select whose choices are labelled by the same table as the statistics (``options``)."""
    return fields.String(required=required, allow_none=not required,
                         validate=validate.OneOf(list(options), error=message),
                         error_messages={"required": message, "null": message},
                         metadata=field_metadata(label, description, options))


def _date(message: str | None = None, *, label: str, description: str | None = None) -> fields.Date:
    errors = {"invalid": DATE["invalid"]}
    if message:
        errors.update(required=message, null=message)
    return fields.Date(required=message is not None, allow_none=message is None, error_messages=errors,
                       metadata=field_metadata(label, description))


def _domains(required: bool, *, label: str, description: str) -> fields.List:
    return fields.List(fields.String(validate=validate.OneOf(list(DOMAINS), error=MESSAGES["domaine_inconnu"])),
                       required=required, allow_none=not required,
                       validate=validate.Length(min=1, error=MESSAGES["domaines"]),
                       error_messages={"required": MESSAGES["domaines"], "null": MESSAGES["domaines"]},
                       metadata=field_metadata(label, description, DOMAINS))


# Hint of the situation at exit: required once the measure started, unless the household was never
# met or did not adhere (``NO_EVALUATION_REASONS``).
_EXIT_HINT = ("À renseigner pour l'évaluation de la mesure, sauf si le ménage n'a pas été rencontré ou n'a pas "
              "adhéré à la mesure.")


# -- requests ----------------------------------------------------------------------------
def request_fields(measure_type: str) -> dict:
    """The origin of every request (no means test), the ALT of young people, the CHRS exit date."""
    if not is_orne(measure_type):
        return {}
    found = {"origine": _choice(ORIGINS, MESSAGES["origine"], required=True, label="Origine de la demande",
                                description="Les mesures sont mises en place sans condition de ressources."),
             "association_agreee": fields.Boolean(allow_none=True, metadata=field_metadata(
                 "Association d'insertion agréée",
                 "Demande présentée par une association spécialisée dans l'insertion : cochez si elle est agréée. "
                 "Une association agréée peut exercer elle-même la mesure.")),
             "exercee_par_association": fields.Boolean(allow_none=True, metadata=field_metadata(
                 "Mesure exercée par l'association qui la demande",
                 "Seule une association agréée peut exercer elle-même la mesure qu'elle demande ; elle est alors "
                 "désignée comme opérateur."))}
    if measure_type == JEUNES_ALT:
        found["alt"] = fields.Boolean(required=True, validate=validate.Equal(True, error=MESSAGES["alt"]),
                                      error_messages={"required": MESSAGES["alt"], "null": MESSAGES["alt"]},
                                      metadata=field_metadata(
                                          "Mesure adossée à une ALT (allocation de logement temporaire)",
                                          "Obligatoire : les mesures externes réservées aux jeunes de 18 à 25 ans "
                                          "sont adossées à une ALT."))
    if measure_type == CHRS_SUITE:
        found["sortie_chrs_le"] = _date(MESSAGES["sortie_chrs"], label="Date de sortie du CHRS",
                                        description="Mesure du service de suite du CHRS : favoriser l'accès et le "
                                                    "maintien dans le logement des sortants du CHRS.")
    return found


# -- transitions --------------------------------------------------------------------------
def transition_fields(measure, transition: str) -> dict:
    if not is_orne(measure.measure_type):
        return {}
    if transition == "grant":
        return {"date_commission_mensuelle": _date(
            label="Date de la commission mensuelle",
            description="Seulement si la circonscription valide les mesures en commission mensuelle : date de la "
                        "séance qui a validé la mesure. Laissez vide si le responsable de circonscription valide "
                        "seul.")}
    if transition == "start":
        return {"domaines": _domains(required=True, label="Domaines d'intervention",
                                     description="Plusieurs domaines peuvent se cumuler."),
                "ressources_entree": _choice(RESOURCES, MESSAGES["ressources"], required=True,
                                             label="Ressources du ménage à l'entrée"),
                "situation_pro_entree": _choice(SITUATIONS, MESSAGES["situation"], required=True,
                                                label="Situation socioprofessionnelle à l'entrée")}
    if transition == "end":
        return {"domaines": _domains(required=False, label="Domaines d'intervention au cours de l'accompagnement",
                                     description="Domaines réellement travaillés ; plusieurs domaines peuvent se "
                                                 "cumuler. Laissez vide pour garder ceux indiqués au début."),
                "ressources_sortie": _choice(RESOURCES, MESSAGES["ressources"], required=False,
                                             label="Ressources du ménage à la sortie", description=_EXIT_HINT),
                "situation_pro_sortie": _choice(SITUATIONS, MESSAGES["situation"], required=False,
                                                label="Situation socioprofessionnelle à la sortie",
                                                description=_EXIT_HINT),
                "resultat_logement": _choice(HOUSING_RESULTS, MESSAGES["resultat"], required=False,
                                             label="Résultat obtenu au regard du logement",
                                             description="Situation du ménage à l'issue de la mesure. " + _EXIT_HINT)}
    if transition == "close":
        return {"contact_6_mois_le": _date(
                    label="Date du contact avec le ménage 6 mois après la fin",
                    description="Contacter le ménage 6 mois après la fin de la mesure pour faire le point sur sa "
                                "situation ; la mesure ne peut être clôturée qu'après ce contact."),
                "contact_6_mois_point": fields.String(allow_none=True, validate=validate.Length(
                    max=2000, error="2000 caractères au plus."), metadata=field_metadata(
                    "Point sur la situation à 6 mois",
                    "Ce qui ressort du contact : situation du ménage au regard du logement 6 mois après la fin."))}
    return {}


def validate_transition(tenant, measure, transition: str, data: dict) -> list[Violation]:
    if not is_orne(measure.measure_type):
        return []
    extra = data.get("extra") or {}
    if transition == "grant":
        return _grant_rules(tenant, measure, data, extra)
    if transition == "assign_operator":
        found = _operator_rules(measure, data["operator_id"], data.get("notified_date") or today())
        if measure.measure_type in EXTERNAL_TYPES:  # the structure receives a measure of its agreement
            found += _agreement_warnings(tenant, measure)
        return found
    if transition == "transfer":
        return _operator_rules(measure, data["operator_id"], data["transfer_date"])
    if transition == "end" and measure.start_date is not None and data["reason"] not in NO_EVALUATION_REASONS:
        missing = [k for k in ("ressources_sortie", "situation_pro_sortie", "resultat_logement") if not extra.get(k)]
        if missing:
            return [Violation("evaluation_sortie", "Renseignez la situation du ménage à la sortie : ressources, "
                              "situation socioprofessionnelle et résultat au regard du logement.", missing[0])]
    if transition == "close" and measure.start_date is not None and measure.end_date is not None:
        due = contact_due(measure)
        contact = extra.get("contact_6_mois_le")
        if contact is None:
            return [Violation("contact_6_mois_manquant", "La mesure ne peut être clôturée qu'après le contact avec "
                              f"le ménage 6 mois après la fin, à partir du {due:%d/%m/%Y}.", "contact_6_mois_le")]
        if contact < due:
            return [Violation("contact_6_mois_premature", "Le contact avec le ménage a lieu 6 mois après la fin de "
                              f"la mesure, soit à partir du {due:%d/%m/%Y}.", "contact_6_mois_le")]
    return []


def circonscription_of(tenant, household: dict | None) -> str | None:
    """The household's circonscription: its sector, as named in the validation settings."""
    if not household:
        return None
    wanted = _norm(household["sector"])
    return next((c for c in settings_of(tenant)["validation_modes"] if _norm(c) == wanted), None)


def request_commission(tenant, request) -> str | None:
    """Where a submitted request goes: the monthly commission of a circonscription that holds one
    (the secretariat puts it on a session's agenda), else its head, who validates alone. A household
    outside the four circonscriptions keeps the default; the grant rules then ask for its sector."""
    if not is_orne(request.measure_type):
        return None
    circonscription = circonscription_of(tenant, household_profile(request.household_id))
    if circonscription is None:
        return None
    return COMMISSION_BY_MODE[settings_of(tenant)["validation_modes"][circonscription]]


def _grant_rules(tenant, measure, data: dict, extra: dict) -> list[Violation]:
    found: list[Violation] = []
    modes = settings_of(tenant)["validation_modes"]
    household = household_profile(measure.household_id)
    circonscription = circonscription_of(tenant, household)
    if circonscription is None:
        found.append(Violation("circonscription_inconnue", "Le ménage doit être rattaché à une circonscription "
                               f"d'action sociale ({', '.join(modes)}) : renseignez son secteur."))
    else:
        found += _validation_rules(circonscription, modes[circonscription], data.get("session"), extra)
    request = request_profile(measure.request_id) or {"extra": {}}
    if measure.measure_type == JEUNES_ALT:
        found += _young_rules(household, measure.decision_date)
    if request["extra"].get("exercee_par_association"):
        if not request["extra"].get("association_agreee"):
            found.append(Violation("association_non_agreee", "Seule une association agréée peut exercer elle-même "
                                   "la mesure qu'elle demande."))
        elif measure.operator_id is None:
            found.append(Violation("association_a_designer", "L'association agréée exerce elle-même la mesure : "
                                   "désignez-la comme opérateur.", "operator_id"))
    if measure.measure_type in EXTERNAL_TYPES:
        found += _agreement_warnings(tenant, measure)
    if measure.operator_id is not None:
        found += _operator_rules(measure, measure.operator_id, measure.decision_date, household=household)
    return found


def _validation_rules(circonscription: str, mode: str, session, extra: dict) -> list[Violation]:
    """Head of circonscription alone, or the monthly commission: whichever the settings give."""
    commission_date = extra.get("date_commission_mensuelle")
    in_commission = session is not None and session.commission_code == COMMISSION_MENSUELLE
    if mode == MODE_COMMISSION and not (in_commission or commission_date):
        return [Violation("validation_commission_mensuelle", f"Dans la circonscription {_of(circonscription)}, les "
                          "mesures sont validées par la commission mensuelle : indiquez la date de la séance qui a "
                          "validé la mesure.", "date_commission_mensuelle")]
    if mode == MODE_RESPONSABLE and (in_commission or commission_date):
        return [Violation("validation_responsable", f"Dans la circonscription {_of(circonscription)}, le responsable "
                          "de circonscription valide seul les mesures, sans commission mensuelle.",
                          "date_commission_mensuelle")]
    return []


def _of(name: str) -> str:
    return f"d'{name}" if _norm(name)[:1] in "aeiouy" else f"de {name}"


def age_on(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _young_rules(household: dict | None, on: date) -> list[Violation]:
    birth = household and household["birth_date"]
    if not birth:
        return [Violation("date_naissance_manquante", "Indiquez la date de naissance de la personne de référence : "
                          "les mesures AOLTJ sont réservées aux jeunes de 18 à 25 ans.")]
    age = age_on(birth, on)
    low, high = YOUNG_AGES
    if not low <= age <= high:
        return [Violation("age_hors_public", f"Les mesures AOLTJ sont réservées aux jeunes de 18 à 25 ans : la "
                          f"personne de référence a {age} ans.")]
    return []


def operator_role(profile: dict) -> str | None:
    """``interne`` (a circonscription), ``aoltj`` or ``chrs``, from the organisation's declared name."""
    name = _norm(profile["name"])
    if name.startswith("circonscription"):
        return "interne"
    if name.startswith("aoltj"):
        return "aoltj"
    if name.startswith("chrs"):
        return "chrs"
    return None


def _operator_rules(measure, operator_id: int, on: date, *, household: dict | None = None) -> list[Violation]:
    profile = organisation_profile(operator_id)
    if profile is None:
        return []
    found: list[Violation] = []
    expected = OPERATOR_FOR_TYPE.get(measure.measure_type)
    if expected and operator_role(profile) != expected:
        found.append(Violation("operateur_inadapte", f"Cette mesure est exercée par {OPERATOR_LABELS[expected]}, "
                               f"pas par {profile['name']}.", "operator_id"))
    household = household or household_profile(measure.household_id)
    if expected == "interne" and profile["sectors"] and household and household["sector"] \
            and _norm(household["sector"]) not in {_norm(s) for s in profile["sectors"]}:
        found.append(Violation("hors_circonscription", f"Le ménage relève de la circonscription « "
                               f"{household['sector']} » et non de {profile['name']}.", "operator_id",
                               blocking=False))
    capacity = profile["capacity"]
    load = operator_load(operator_id, on, exclude_measure_id=measure.id)
    if capacity is not None and profile["capacity_unit"] == "year" and load["notified_in_year"] >= capacity:
        used = load["notified_in_year"]
        found.append(Violation("capacite_depassee", f"Capacité dépassée : {profile['name']} a déjà reçu {used} "
                               f"mesure(s) en {on.year} pour {capacity} mesures conventionnées ({used + 1} avec "
                               "celle-ci).", "operator_id", blocking=False))
    elif capacity is not None and profile["capacity_unit"] != "year" and load["open"] >= capacity:
        used = load["open"]
        found.append(Violation("portefeuille_plein", f"Portefeuille complet : {profile['name']} suit déjà {used} "
                               f"mesure(s) pour un portefeuille de {capacity} ({used + 1} avec celle-ci).",
                               "operator_id", blocking=False))
    return found


def agreement_use(year: int) -> tuple[int, int]:
    """External measures decided in ``year`` and their mois-mesures (granted + prolonged months)."""
    m = measures_table()
    count, months = db.session.execute(
        sa.select(sa.func.count(m.c.id), sa.func.coalesce(sa.func.sum(m.c.granted_months + m.c.prolonged_months), 0))
        .where(m.c.measure_type.in_(EXTERNAL_TYPES), m.c.decision_date.between(date(year, 1, 1), date(year, 12, 31)))
    ).one()
    return int(count), int(months)


def _agreement_warnings(tenant, measure) -> list[Violation]:
    """Warnings when the year's external measures (this one included) exceed the agreement."""
    settings = settings_of(tenant)
    year = measure.decision_date.year
    count, months = agreement_use(year)
    added = measure.granted_months or 0
    if measure.id is not None:  # already decided, hence already counted
        count, months = count - 1, months - added - measure.prolonged_months
        added += measure.prolonged_months
    found = []
    if count + 1 > settings["agreement_measures"]:
        found.append(Violation("convention_mesures", f"Convention dépassée : {count} mesures externes déjà accordées "
                               f"en {year} pour {settings['agreement_measures']} mesures conventionnées ({count + 1} "
                               "avec celle-ci).", blocking=False))
    if months + added > settings["agreement_month_measures"]:
        found.append(Violation("convention_mois_mesures", f"Convention dépassée : {months} mois-mesures déjà accordés "
                               f"en {year} pour {settings['agreement_month_measures']} conventionnés "
                               f"({months + added} avec celle-ci).", blocking=False))
    return found


# -- what the Orne keeps ---------------------------------------------------------------------
def _record(measure) -> OrneMeasureRecord:
    record = db.session.scalar(sa.select(OrneMeasureRecord).where(OrneMeasureRecord.measure_id == measure.id))
    if record is None:
        record = OrneMeasureRecord(measure_id=measure.id,
                                   organisation="externe" if measure.measure_type in EXTERNAL_TYPES else "interne")
        db.session.add(record)
    return record


def _set_domains(measure, domains: list[str]) -> None:
    db.session.execute(sa.delete(OrneMeasureDomain).where(OrneMeasureDomain.measure_id == measure.id))
    for domain in dict.fromkeys(domains):
        db.session.add(OrneMeasureDomain(measure_id=measure.id, domain=domain))


def after_transition(tenant, measure, transition: str, data: dict) -> None:
    if not is_orne(measure.measure_type):
        return
    extra = data.get("extra") or {}
    if transition == "grant":
        record = _record(measure)
        household = household_profile(measure.household_id)
        request = request_profile(measure.request_id) or {"extra": {}}
        record.circonscription = circonscription_of(tenant, household) or ""
        record.origin = request["extra"].get("origine") or ""
        session = data.get("session")
        commission = extra.get("date_commission_mensuelle") or (
            session is not None and session.commission_code == COMMISSION_MENSUELLE)
        record.validated_by = MODE_COMMISSION if commission else MODE_RESPONSABLE
    elif transition == "start":
        record = _record(measure)
        household = household_profile(measure.household_id) or {}
        record.entry_housing = household.get("housing_status") or ""
        record.entry_resources = extra["ressources_entree"]
        record.entry_situation = extra["situation_pro_entree"]
        _set_domains(measure, extra["domaines"])
    elif transition == "end":
        record = _record(measure)
        record.exit_resources = extra.get("ressources_sortie") or ""
        record.exit_situation = extra.get("situation_pro_sortie") or ""
        record.housing_result = extra.get("resultat_logement") or ""
        if extra.get("domaines"):
            _set_domains(measure, extra["domaines"])
    elif transition == "close" and extra.get("contact_6_mois_le"):
        _record(measure).contact_date = extra["contact_6_mois_le"]
    db.session.flush()


def contact_due(measure) -> date:
    return add_months(measure.end_date, CONTACT_AFTER_MONTHS)


def obligations(measure) -> list[ObligationDef]:
    """"Contacter les personnes 6 mois après la fin de mesure pour faire un point sur la situation"."""
    if not is_orne(measure.measure_type) or measure.end_date is None or measure.start_date is None:
        return []
    return [ObligationDef("orne_contact_6_mois", "Contacter le ménage 6 mois après la fin de la mesure pour faire "
                          "le point sur sa situation", contact_due(measure), "operator_worker",
                          done=bool((measure.extra or {}).get("contact_6_mois_le")))]
