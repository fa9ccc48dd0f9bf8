"""Extra fields the référentiel needs on requests and transitions (marshmallow, French messages).

The core validates them (they arrive in ``data["extra"]``) and merges them into the request's
or the measure's ``extra``; :mod:`asll_seine_maritime.rules` then checks what spans several values.
"""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from asll.toolkit import DATE, REQUIRED, FrenchSchema
from asll.toolkit import field_metadata as labelled

from .codes import ACCES, ASLL_TYPES, DIAGNOSTIC_CCAPEX, OWN_TYPES

BOOLEAN = {**REQUIRED, "invalid": "Réponse attendue : oui ou non."}

OPINIONS = {"favorable": "Favorable", "defavorable": "Défavorable"}
REQUESTERS = {
    "medico_social": "Professionnel d'un organisme médico-social",
    "bailleur_public": "Professionnel d'un bailleur public",
}
# §1.3: households leaving these structures and accessing housing go to the State's AVDL.
EXCLUDED_STRUCTURES = ("CHRS", "CADA")
STRUCTURES = {
    "": "Aucune",
    "CHRS": "CHRS (centre d'hébergement et de réinsertion sociale)",
    "CADA": "CADA (centre d'accueil pour les demandeurs d'asile)",
    "autre": "Autre structure d'hébergement",
}
CCAPEX_REASONS = {
    "vulnerabilite": "Indices de vulnérabilité relevés lors de l'examen en CPEX",
    "sans_reponse": "Le ménage ne répond ni aux travailleurs sociaux ni à son bailleur",
}
UNAVAILABILITY = {
    "hospitalisation": "Hospitalisation",
    "eloignement_temporaire": "Éloignement temporaire",
    "autre": "Autre indisponibilité",
}


# French labels of the fields, the same wherever a field comes back (request, transitions, derogation).
SLS_OPINION = "Avis du service logement et solidarités (SLS)"
SLS_OPINION_DATE = "Date de l'avis du service logement et solidarités (SLS)"
COMMISSION_OPINION = "Avis de la commission locale ASLL"
COMMISSION_OPINION_DATE = "Date de l'avis de la commission locale ASLL"


def opinion(required: bool = False, label: str = SLS_OPINION, description: str | None = None) -> fields.String:
    return fields.String(required=required, error_messages=REQUIRED, validate=validate.OneOf(
        list(OPINIONS), error="Avis attendu : « favorable » ou « defavorable »."),
        metadata=labelled(label, description, OPINIONS))


def sls_opinion(description: str) -> fields.String:
    """The SLS's opinion a transition needs (transfer, suspension, prolongation); ``description`` says when."""
    return opinion(description=description)


def commission_opinion(description: str | None = None) -> fields.String:
    return opinion(label=COMMISSION_OPINION, description=description)


def text(max_length: int = 2000, required: bool = False, **kwargs) -> fields.String:
    checks = [validate.Length(max=max_length, error=f"{max_length} caractères au plus.")]
    if required:
        checks.append(validate.Length(min=1, error="Ce champ est obligatoire."))
    return fields.String(required=required, error_messages=REQUIRED, validate=checks, **kwargs)


class DerogationSchema(FrenchSchema):
    """§2.4.4: a derogation is examined by the commission locale ASLL after the SLS's opinion.

    The SLS opinion is optional here so that its absence is refused by a rule with its own message.
    """

    objet = text(1000, required=True, metadata=labelled(
        "Objet de la dérogation", "La règle du référentiel à laquelle il est dérogé, et pourquoi."))
    avis_sls = opinion()
    date_avis_sls = fields.Date(error_messages=DATE, metadata=labelled(SLS_OPINION_DATE))
    avis_commission = opinion(required=True, label=COMMISSION_OPINION)
    date_commission = fields.Date(required=True, error_messages=DATE, metadata=labelled(
        "Date de la commission locale ASLL", "La commission examine la dérogation après l'avis du SLS."))

    @ma.validates_schema
    def _order(self, data, **kwargs):
        sls, commission = data.get("date_avis_sls"), data.get("date_commission")
        if sls and commission and commission < sls:
            raise ma.ValidationError("La commission locale ASLL examine la dérogation après l'avis du service "
                                     "logement et solidarités.", "date_commission")


def derogation() -> fields.Nested:
    return fields.Nested(DerogationSchema, error_messages={"invalid": "Dérogation invalide."}, metadata=labelled(
        "Dérogation au référentiel",
        "Seulement si une règle du référentiel n'est pas respectée : la dérogation est étudiée exceptionnellement "
        "en commission locale ASLL, après avis du service logement et solidarités (SLS)."))


def request_fields(measure_type: str) -> dict:
    """§2.1.1 for ASLL requests; §3.2 for the diagnostic ordered on the CCAPEX's initiative."""
    if measure_type in ASLL_TYPES:
        found = {
            "demandeur": fields.String(
                required=True, error_messages={"required": "Précisez qui formule la demande : un professionnel d'un "
                                                           "organisme médico-social ou d'un bailleur public.",
                                               "null": "Ce champ est obligatoire."},
                validate=validate.OneOf(list(REQUESTERS), error="La demande est formulée par un professionnel d'un "
                                        "organisme médico-social ou d'un bailleur public."),
                metadata=labelled("Demande formulée par", choice_labels=REQUESTERS)),
            "professionnel": text(200, required=True, metadata=labelled(
                "Professionnel à l'origine de la demande",
                "Nom, fonction et organisme (par exemple : Mme X, assistante sociale du centre médico-social).")),
            "bailleur_public_informe": fields.Boolean(load_default=False, error_messages=BOOLEAN, metadata=labelled(
                "Bailleur public informé de la demande",
                "Seulement avec l'accord du ménage, à enregistrer sur la fiche du ménage.")),
            # §2.4.2: a new measure for one member of a separated couple (its earlier measure's reference).
            "mesure_origine_separation": text(32, metadata=labelled(
                "Mesure d'origine (séparation du couple)",
                "Nouvelle mesure pour l'un des membres d'un couple séparé : référence de la mesure ASLL du couple. "
                "À laisser vide sinon.")),
            "avis_sls_separation": opinion(
                label="Avis du service logement et solidarités (SLS) sur la nouvelle mesure après séparation",
                description="Nécessaire si une mesure d'origine est indiquée : après une séparation du couple, une "
                            "nouvelle mesure est accordée sur avis du SLS."),
        }
        if measure_type == ACCES:
            found["sortie_structure"] = fields.String(
                load_default="", validate=validate.OneOf(list(STRUCTURES), error="Structure d'hébergement inconnue."),
                metadata=labelled(
                    "Ménage sortant d'une structure d'hébergement",
                    "Les ménages sortant de CHRS ou de CADA qui accèdent à un logement relèvent de l'AVDL de "
                    "l'État, non de l'ASLL.", STRUCTURES))
        return found
    if measure_type == DIAGNOSTIC_CCAPEX:
        return {
            "date_cpex": fields.Date(required=True, error_messages=DATE, metadata=labelled(
                "Date d'examen du ménage en CPEX",
                "Date à laquelle la commission de prévention des expulsions (CPEX) a examiné la situation du "
                "ménage.")),
            "motif_ccapex": fields.String(required=True, error_messages=REQUIRED, validate=validate.OneOf(
                list(CCAPEX_REASONS), error="Motif inconnu : indices de vulnérabilité ou absence de réponse."),
                metadata=labelled("Motif de l'orientation par la CCAPEX", choice_labels=CCAPEX_REASONS)),
            "date_reexamen_cpex": fields.Date(error_messages=DATE, metadata=labelled(
                "Date de réexamen du dossier en CPEX",
                "Le bilan du diagnostic est transmis au service logement et solidarités au plus tard la veille de "
                "cette date.")),
        }
    return {}


def transition_fields(measure, transition: str) -> dict:
    """Opinions (SLS, commission locale), derogations and the diagnostic's own data, per transition."""
    if measure.measure_type not in OWN_TYPES:
        return {}
    diagnostic = measure.measure_type == DIAGNOSTIC_CCAPEX
    if transition == "grant":
        found = {"derogation": derogation()}
        if diagnostic:
            found["date_courrier_association"] = fields.Date(required=True, error_messages=DATE, metadata=labelled(
                "Date du courrier de demande de diagnostic à l'association",
                "Le diagnostic ASLL, de deux mois, commence à la date de ce courrier."))
        return found
    if transition in ("start", "resume", "transfer", "end"):
        found = {"derogation": derogation()}
        if transition == "transfer":
            found["avis_sls"] = sls_opinion("Nécessaire en cas de séparation du couple : la mesure est transférée "
                                            "à l'un de ses membres sur avis du SLS.")
        if transition == "end" and diagnostic and not measure.prolongation_count:
            found["menage_rencontre"] = fields.Boolean(required=True, error_messages=BOOLEAN, metadata=labelled(
                "Ménage rencontré pendant le diagnostic",
                "Un ménage qui n'a pas été rencontré ne peut pas être orienté vers une autre mesure."))
        return found
    if transition == "request_prolongation":
        if diagnostic:
            return {"souhait_menage": fields.Boolean(required=True, error_messages=BOOLEAN, metadata=labelled(
                        "Le ménage souhaite que l'ASLL continue",
                        "L'ASLL ne se poursuit (quatre mois) que si le ménage le souhaite ; sinon, l'organisme "
                        "l'oriente vers la mesure d'accompagnement la plus adaptée.")),
                    "date_bilan_diagnostic": fields.Date(required=True, error_messages=DATE, metadata=labelled(
                        "Date du bilan du diagnostic",
                        "Bilan transmis au service logement et solidarités dans le mois suivant le diagnostic, au "
                        "plus tard la veille du réexamen en CPEX."))}
        found = {"derogation": derogation()}
        if measure.prolongation_count == 1:
            found["menage_present_synthese"] = fields.Boolean(
                load_default=False, error_messages=BOOLEAN, metadata=labelled(
                    "Ménage présent à la synthèse",
                    "Avant une deuxième prolongation, l'organisme convie le service logement et solidarités à "
                    "une synthèse en présence du ménage."))
        return found
    if transition in ("grant_prolongation", "refuse_prolongation"):
        if diagnostic:
            if transition == "grant_prolongation":
                return {"date_information_commission": fields.Date(
                    required=True, error_messages=DATE, metadata=labelled(
                        "Date d'information de la commission locale ASLL",
                        "Le service logement et solidarités valide sans délai la poursuite de quatre mois et en "
                        "informe la commission locale ASLL."))}
            return {}
        return {"avis_sls": sls_opinion("Première prolongation : accordée sur avis du SLS ; s'il est défavorable, "
                                        "l'avis de la commission locale ASLL doit être demandé."),
                "avis_commission": commission_opinion(
                    "Nécessaire si l'avis du SLS sur la première prolongation est défavorable, et pour la deuxième "
                    "prolongation (exceptionnelle)."),
                "date_avis_commission": fields.Date(error_messages=DATE, metadata=labelled(COMMISSION_OPINION_DATE))}
    if transition == "suspend":
        return {"avis_sls": sls_opinion("La mesure est suspendue sur avis du SLS, pour deux mois au plus."),
                "motif_indisponibilite": fields.String(required=True, error_messages=REQUIRED, validate=validate.OneOf(
                    list(UNAVAILABILITY), error="Motif inconnu : hospitalisation, éloignement temporaire ou autre."),
                    metadata=labelled("Indisponibilité du ménage", choice_labels=UNAVAILABILITY))}
    return {}
