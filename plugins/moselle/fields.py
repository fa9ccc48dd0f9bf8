"""Extra fields of Moselle's households, requests and decisions (marshmallow, French messages).

The priority public (P1-P4) lives on the household; the prior diagnostic's date, the aide à la
recherche's family quotient, the atypical situation and the first unpaid rent on the request; the
FSL aids and the atypical-situations action plan on the decision (``grant``).
"""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from .codes import (
    ACCES,
    AIDE_RECHERCHE,
    BAIL_GLISSANT,
    FSL_ACCES_TYPES,
    FSL_MAINTIEN_TYPES,
    MAINTIEN,
    PREVENTION_IMPAYES,
    SITUATION_ATYPIQUE,
)
from .settings import euros, tenant_ceiling

REQUIRED = {"required": "Ce champ est obligatoire.", "null": "Ce champ est obligatoire."}
DATE = {**REQUIRED, "invalid": "Date invalide (format attendu : AAAA-MM-JJ)."}
AMOUNT = {**REQUIRED, "invalid": "Montant invalide."}

PRIORITY_PUBLICS = {
    "P1": "P1 – relogement reconnu prioritaire et urgent par la commission de médiation DALO",
    "P2": "P2 – sortant de structure d'hébergement (orienté par la structure ou le SIAO 57)",
    "P3": "P3 – répondant à un critère DALO, sans décision de la commission de médiation",
    "P4": "P4 – situation particulière, relogement demandé par le Préfet ou ses services",
}
CRITERIA = {
    "P2": {"chrs": "CHRS", "cada": "CADA", "urgence": "Structure d'hébergement d'urgence", "hotel": "Hôtel",
           "autre": "Autre structure d'hébergement"},
    "P3": {"logement_insalubre_indigne": "Logement reconnu insalubre ou indigne",
           "heberge_tiers": "Hébergé chez des tiers non soumis à l'obligation alimentaire",
           "menace_expulsion": "Menacé d'expulsion", "autre": "Autre critère DALO"},
    "P4": {"violences": "Femme victime de violences",
           "situations_atypiques": "Relogement décidé en commission des situations atypiques",
           "autre": "Autre situation signalée par le Préfet"},
}
ORIENTATIONS = {"structure": "Orienté par la structure d'hébergement", "siao_57": "Orienté par le SIAO 57"}

FSL_AIDS = {
    "acces": {"premier_loyer": "Paiement du 1er loyer", "depot_garantie": "Dépôt de garantie",
              "assurance": "Première assurance locative", "demenagement": "Frais de déménagement",
              "frais_agence": "Frais d'agence"},
    "maintien": {"energie": "Factures énergétiques", "impayes_loyer": "Loyers en retard",
                 "telephone": "Abonnement téléphonique"},
}
FSL_KIND_LABELS = {"acces": "FSL Accès", "maintien": "FSL Maintien"}
RESEARCH_SITUATIONS = {
    "sans_domicile": "Sans domicile fixe",
    "hebergement_urgence": "En centre d'hébergement d'urgence",
    "chrs": "En CHRS",
    "residence_sociale": "En résidence sociale (séjour de moins de 18 mois)",
    "foyer_maternel": "En foyer pour femmes enceintes ou mères avec enfants de moins de 3 ans",
    "accord_sous_location": "Accord de la commission de sous-location avec bail glissant dans le parc HLM",
}
ATYPICAL_PROBLEMS = {
    "mode_de_vie_atypique": "Mode de vie atypique",
    "addictions": "Addictions",
    "troubles_psychiatriques": "Troubles psychiatriques",
    "cumul_difficultes": "Cumul de difficultés sociales et financières",
}
REPORTERS = {"bailleur": "Le bailleur", "caf": "La CAF", "menage": "Le ménage", "travailleur_social":
             "Un travailleur social"}


class PluginSchema(ma.Schema):
    """Unknown keys are refused, in French (as the core's own schemas do)."""

    class Meta:
        unknown = ma.RAISE

    def handle_error(self, error, data, **kwargs):
        for key, messages in list(error.messages.items()):
            if messages == ["Unknown field."]:
                error.messages[key] = ["Champ inconnu."]
        raise error


def text(max_length: int = 500, required: bool = False) -> fields.String:
    checks = [validate.Length(max=max_length, error=f"{max_length} caractères au plus.")]
    if required:
        checks.append(validate.Length(min=1, error="Ce champ est obligatoire."))
    return fields.String(required=required, error_messages=REQUIRED, validate=checks)


def choice(options: dict, error: str, required: bool = True) -> fields.String:
    return fields.String(required=required, error_messages=REQUIRED, validate=validate.OneOf(list(options),
                                                                                             error=error))


def amount(**kwargs) -> fields.Decimal:
    return fields.Decimal(places=2, error_messages=AMOUNT, validate=validate.Range(
        min=0, min_inclusive=False, error="Le montant doit être positif."), **kwargs)


class PrioritySchema(PluginSchema):
    """A priority public of the prefectoral quota, with what makes the household fall in it."""

    code = choice(PRIORITY_PUBLICS, "Public prioritaire inconnu : P1, P2, P3 ou P4.")
    critere = fields.String(load_default="")
    orientation = fields.String(load_default="")
    date_decision_dalo = fields.Date(load_default=None, error_messages=DATE)

    @ma.validates_schema
    def _coherent(self, data, **kwargs):
        code, criterion = data.get("code"), data.get("critere") or ""
        if code not in PRIORITY_PUBLICS:  # an update (partial load) must still name the priority
            raise ma.ValidationError("Public prioritaire inconnu : P1, P2, P3 ou P4.", "code")
        if code == "P1" and data.get("date_decision_dalo") is None:
            raise ma.ValidationError("Priorité 1 : indiquez la date de la décision de la commission de médiation "
                                     "DALO.", "date_decision_dalo")
        if code == "P3" and data.get("date_decision_dalo") is not None:
            raise ma.ValidationError("Un ménage reconnu prioritaire par la commission de médiation DALO relève de "
                                     "la priorité 1.", "date_decision_dalo")
        if code in CRITERIA and criterion not in CRITERIA[code]:
            raise ma.ValidationError(f"Critère inconnu pour la priorité {code[1]} : "
                                     + ", ".join(CRITERIA[code].values()) + ".", "critere")
        if code == "P2" and data.get("orientation") not in ORIENTATIONS:
            raise ma.ValidationError("Priorité 2 : le ménage est orienté par la structure d'hébergement ou par le "
                                     "SIAO 57.", "orientation")


def household_fields() -> dict:
    """P1-P4, usable as a filter (export column) and in the statistics."""
    return {"public_prioritaire": fields.Nested(PrioritySchema, allow_none=True,
                                                error_messages={"invalid": "Public prioritaire invalide."})}


def request_fields(tenant, measure_type: str) -> dict:
    if measure_type in (ACCES, MAINTIEN):
        return {"date_diagnostic": fields.Date(required=True, error_messages=DATE)}
    if measure_type == AIDE_RECHERCHE:
        ceiling = tenant_ceiling(tenant)
        return {
            "quotient_familial": fields.Decimal(places=2, required=True, error_messages=AMOUNT, validate=[
                    validate.Range(min=0, error="Le quotient familial ne peut être négatif."),
                    validate.Range(max=ceiling, error="Le quotient familial dépasse le plafond de l'aide à la "
                                   f"recherche : 2/3 du SMIC net, soit {euros(ceiling)}.")]),
            "situation_recherche": choice(RESEARCH_SITUATIONS, "Situation inconnue pour l'aide à la recherche."),
        }
    if measure_type == BAIL_GLISSANT:
        return {"bailleur_hlm": text(200, required=True)}
    if measure_type == SITUATION_ATYPIQUE:
        return {"problematiques": fields.List(
            choice(ATYPICAL_PROBLEMS, "Problématique inconnue."), required=True, error_messages=REQUIRED,
            validate=validate.Length(min=1, error="Précisez au moins une problématique de la situation."))}
    if measure_type == PREVENTION_IMPAYES:
        return {
            "date_premier_impaye": fields.Date(required=True, error_messages=DATE),
            "montant_impaye": amount(required=True),
            "signale_par": choice(REPORTERS, "Origine du signalement inconnue."),
        }
    return {}


def aid_schema(kind: str) -> type[ma.Schema]:
    return PluginSchema.from_dict({
        "nature": choice(FSL_AIDS[kind], f"Aide inconnue au titre du {FSL_KIND_LABELS[kind]} : "
                         + ", ".join(FSL_AIDS[kind].values()) + "."),
        "montant": amount(required=True),
    }, name=f"FslAid{kind.title()}Schema")


class ActionSchema(PluginSchema):
    action = text(500, required=True)
    pilote = text(200, required=True)
    echeance = fields.Date(load_default=None, error_messages=DATE)


def grant_fields(measure) -> dict:
    """FSL aids granted with the measure; the action plan of the atypical-situations commission."""
    found = {}
    kind = "acces" if measure.measure_type in FSL_ACCES_TYPES else \
        "maintien" if measure.measure_type in FSL_MAINTIEN_TYPES else None
    if kind is not None:
        found["aides_fsl"] = fields.List(fields.Nested(aid_schema(kind)), load_default=list)
    if measure.measure_type == SITUATION_ATYPIQUE:
        found["plan_actions"] = fields.List(fields.Nested(ActionSchema), required=True, error_messages=REQUIRED,
                                            validate=validate.Length(min=1, error="Le plan d'actions élaboré par la "
                                                                     "commission compte au moins une action."))
        found["relogement_decide"] = fields.Boolean(load_default=False)
    return found
