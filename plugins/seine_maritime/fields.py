"""Extra fields the référentiel needs on requests and transitions (marshmallow, French messages).

The core validates them (they arrive in ``data["extra"]``) and merges them into the request's
or the measure's ``extra``; :mod:`asll_seine_maritime.rules` then checks what spans several values.
"""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from .codes import ACCES, ASLL_TYPES, DIAGNOSTIC_CCAPEX, OWN_TYPES

REQUIRED = {"required": "Ce champ est obligatoire.", "null": "Ce champ est obligatoire."}
DATE = {**REQUIRED, "invalid": "Date invalide (format attendu : AAAA-MM-JJ)."}
BOOLEAN = {**REQUIRED, "invalid": "Réponse attendue : oui ou non."}

OPINIONS = {"favorable": "Favorable", "defavorable": "Défavorable"}
REQUESTERS = {
    "medico_social": "Professionnel d'un organisme médico-social",
    "bailleur_public": "Professionnel d'un bailleur public",
}
# §1.3: households leaving these structures and accessing housing go to the State's AVDL.
EXCLUDED_STRUCTURES = ("CHRS", "CADA")
STRUCTURES = {"": "Aucune", "CHRS": "CHRS", "CADA": "CADA", "autre": "Autre structure d'hébergement"}
CCAPEX_REASONS = {
    "vulnerabilite": "Indices de vulnérabilité relevés lors de l'examen en CPEX",
    "sans_reponse": "Le ménage ne répond ni aux travailleurs sociaux ni à son bailleur",
}
UNAVAILABILITY = {
    "hospitalisation": "Hospitalisation",
    "eloignement_temporaire": "Éloignement temporaire",
    "autre": "Autre indisponibilité",
}


class PluginSchema(ma.Schema):
    """Unknown keys are refused, in French (as the core's own schemas do)."""

    class Meta:
        unknown = ma.RAISE

    def handle_error(self, error, data, **kwargs):
        for key, messages in list(error.messages.items()):
            if messages == ["Unknown field."]:
                error.messages[key] = ["Champ inconnu."]
        raise error


def opinion(required: bool = False) -> fields.String:
    return fields.String(required=required, error_messages=REQUIRED, validate=validate.OneOf(
        list(OPINIONS), error="Avis attendu : « favorable » ou « defavorable »."))


def text(max_length: int = 2000, required: bool = False, **kwargs) -> fields.String:
    checks = [validate.Length(max=max_length, error=f"{max_length} caractères au plus.")]
    if required:
        checks.append(validate.Length(min=1, error="Ce champ est obligatoire."))
    return fields.String(required=required, error_messages=REQUIRED, validate=checks, **kwargs)


class DerogationSchema(PluginSchema):
    """§2.4.4: a derogation is examined by the commission locale ASLL after the SLS's opinion.

    The SLS opinion is optional here so that its absence is refused by a rule with its own message.
    """

    objet = text(1000, required=True)
    avis_sls = opinion()
    date_avis_sls = fields.Date(error_messages=DATE)
    avis_commission = opinion(required=True)
    date_commission = fields.Date(required=True, error_messages=DATE)

    @ma.validates_schema
    def _order(self, data, **kwargs):
        sls, commission = data.get("date_avis_sls"), data.get("date_commission")
        if sls and commission and commission < sls:
            raise ma.ValidationError("La commission locale ASLL examine la dérogation après l'avis du service "
                                     "logement et solidarités.", "date_commission")


def derogation() -> fields.Nested:
    return fields.Nested(DerogationSchema, error_messages={"invalid": "Dérogation invalide."})


def request_fields(measure_type: str) -> dict:
    """§2.1.1 for ASLL requests; §3.2 for the diagnostic ordered on the CCAPEX's initiative."""
    if measure_type in ASLL_TYPES:
        found = {
            "demandeur": fields.String(
                required=True, error_messages={"required": "Précisez qui formule la demande : un professionnel d'un "
                                                           "organisme médico-social ou d'un bailleur public.",
                                               "null": "Ce champ est obligatoire."},
                validate=validate.OneOf(list(REQUESTERS), error="La demande est formulée par un professionnel d'un "
                                        "organisme médico-social ou d'un bailleur public.")),
            "professionnel": text(200, required=True),
            "bailleur_public_informe": fields.Boolean(load_default=False, error_messages=BOOLEAN),
            # §2.4.2: a new measure for one member of a separated couple (its earlier measure's reference).
            "mesure_origine_separation": text(32),
            "avis_sls_separation": opinion(),
        }
        if measure_type == ACCES:
            found["sortie_structure"] = fields.String(
                load_default="", validate=validate.OneOf(list(STRUCTURES), error="Structure d'hébergement inconnue."))
        return found
    if measure_type == DIAGNOSTIC_CCAPEX:
        return {
            "date_cpex": fields.Date(required=True, error_messages=DATE),
            "motif_ccapex": fields.String(required=True, error_messages=REQUIRED, validate=validate.OneOf(
                list(CCAPEX_REASONS), error="Motif inconnu : indices de vulnérabilité ou absence de réponse.")),
            "date_reexamen_cpex": fields.Date(error_messages=DATE),
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
            found["date_courrier_association"] = fields.Date(required=True, error_messages=DATE)
        return found
    if transition in ("start", "resume", "transfer", "end"):
        found = {"derogation": derogation()}
        if transition == "transfer":
            found["avis_sls"] = opinion()
        if transition == "end" and diagnostic and not measure.prolongation_count:
            found["menage_rencontre"] = fields.Boolean(required=True, error_messages=BOOLEAN)
        return found
    if transition == "request_prolongation":
        if diagnostic:
            return {"souhait_menage": fields.Boolean(required=True, error_messages=BOOLEAN),
                    "date_bilan_diagnostic": fields.Date(required=True, error_messages=DATE)}
        found = {"derogation": derogation()}
        if measure.prolongation_count == 1:
            found["menage_present_synthese"] = fields.Boolean(load_default=False, error_messages=BOOLEAN)
        return found
    if transition in ("grant_prolongation", "refuse_prolongation"):
        if diagnostic:
            if transition == "grant_prolongation":
                return {"date_information_commission": fields.Date(required=True, error_messages=DATE)}
            return {}
        return {"avis_sls": opinion(), "avis_commission": opinion(),
                "date_avis_commission": fields.Date(error_messages=DATE)}
    if transition == "suspend":
        return {"avis_sls": opinion(),
                "motif_indisponibilite": fields.String(required=True, error_messages=REQUIRED, validate=validate.OneOf(
                    list(UNAVAILABILITY), error="Motif inconnu : hospitalisation, éloignement temporaire ou autre."))}
    return {}
