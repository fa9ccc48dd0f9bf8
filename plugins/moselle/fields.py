"""Extra fields of Moselle's households, requests and decisions (marshmallow, French messages).

The priority public (P1-P4) lives on the household; the prior diagnostic's date, the aide à la
recherche's family quotient, the atypical situation and the first unpaid rent on the request; the
FSL aids and the atypical-situations action plan on the decision (``grant``).
"""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from asll.toolkit import DATE, REQUIRED, FrenchSchema
from asll.toolkit import field_metadata as meta

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
# Every criterion in one select, named with its priority ("autre" exists for each of them).
CRITERION_CHOICES = {code: (f"{label} ({priority})" if code != "autre" else "Autre (P2, P3 ou P4)")
                     for priority, criteria in CRITERIA.items() for code, label in criteria.items()}
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
    "foyer_maternel": "En foyer d'hébergement pour femmes enceintes ou mères avec enfants de moins de 3 ans",
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


def text(max_length: int = 500, required: bool = False, metadata: dict | None = None) -> fields.String:
    checks = [validate.Length(max=max_length, error=f"{max_length} caractères au plus.")]
    if required:
        checks.append(validate.Length(min=1, error="Ce champ est obligatoire."))
    return fields.String(required=required, error_messages=REQUIRED, validate=checks, metadata=metadata or {})


def choice(options: dict, error: str, required: bool = True, metadata: dict | None = None) -> fields.String:
    """A select: the codes are stored, the French labels of ``options`` are shown."""
    return fields.String(required=required, error_messages=REQUIRED, metadata=metadata or {},
                         validate=validate.OneOf(list(options), labels=list(options.values()), error=error))


def amount(**kwargs) -> fields.Decimal:
    return fields.Decimal(places=2, error_messages=AMOUNT, validate=validate.Range(
        min=0, min_inclusive=False, error="Le montant doit être positif."), **kwargs)


class PrioritySchema(FrenchSchema):
    """A priority public of the prefectoral quota, with what makes the household fall in it."""

    code = choice(PRIORITY_PUBLICS, "Public prioritaire inconnu : P1, P2, P3 ou P4.", metadata=meta("Priorité"))
    # Selects, not free text: the statistics count households per criterion and orientation code.
    critere = choice(CRITERION_CHOICES, "Critère inconnu.", required=False, metadata=meta(
        "Critère", "Priorité 2 : structure d'hébergement quittée ; priorité 3 : critère DALO rempli ; priorité 4 : "
        "situation particulière signalée par le Préfet."))
    orientation = choice(ORIENTATIONS, "Orientation inconnue : par la structure d'hébergement ou par le SIAO 57.",
                         required=False, metadata=meta(
                             "Orientation (priorité 2)",
                             "Ménage orienté directement par la structure d'hébergement ou par le SIAO 57."))
    date_decision_dalo = fields.Date(load_default=None, error_messages=DATE, metadata=meta(
        "Date de la décision de la commission de médiation DALO", "Priorité 1 uniquement."))

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
    label = meta("Public prioritaire du PDALPD (contingent préfectoral)",
                 "Priorité 1 : relogement reconnu prioritaire et urgent par la commission de médiation DALO ; "
                 "priorité 2 : sortant de structure d'hébergement ; priorité 3 : critère DALO sans décision de la "
                 "commission ; priorité 4 : situation particulière, relogement demandé par le Préfet ou ses services.")
    return {"public_prioritaire": fields.Nested(PrioritySchema, allow_none=True, metadata=label,
                                                error_messages={"invalid": "Public prioritaire invalide."})}


def request_fields(tenant, measure_type: str) -> dict:
    if measure_type in (ACCES, MAINTIEN):
        return {"date_diagnostic": fields.Date(required=True, error_messages=DATE, metadata=meta(
            "Date du diagnostic social préalable", "L'ASLL (accès ou maintien) est accordée sur la base d'un "
            "diagnostic social préalable, antérieur à la décision."))}
    if measure_type == AIDE_RECHERCHE:
        ceiling = tenant_ceiling(tenant)
        return {
            "quotient_familial": fields.Decimal(places=2, required=True, error_messages=AMOUNT, validate=[
                    validate.Range(min=0, error="Le quotient familial ne peut être négatif."),
                    validate.Range(max=ceiling, error="Le quotient familial dépasse le plafond de l'aide à la "
                                   f"recherche : 2/3 du SMIC net, soit {euros(ceiling)}.")],
                metadata=meta("Quotient familial indicatif (€)", "L'aide à la recherche du FSL est ouverte à un "
                              f"quotient familial inférieur ou égal aux 2/3 du SMIC net, soit {euros(ceiling)}.")),
            "situation_recherche": choice(RESEARCH_SITUATIONS, "Situation inconnue pour l'aide à la recherche.",
                                          metadata=meta("Situation du ménage", "Ménage sans logement apte à accéder à "
                                                        "un logement autonome, ou ayant obtenu l'accord de la "
                                                        "commission de sous-location avec bail glissant dans le parc "
                                                        "HLM.")),
        }
    if measure_type == BAIL_GLISSANT:
        return {"bailleur_hlm": text(200, required=True, metadata=meta(
            "Bailleur HLM", "Bailleur social du logement sous-loué ; le bail glissera ensuite au nom du ménage."))}
    if measure_type == SITUATION_ATYPIQUE:
        return {"problematiques": fields.List(
            choice(ATYPICAL_PROBLEMS, "Problématique inconnue."), required=True, error_messages=REQUIRED,
            validate=validate.Length(min=1, error="Précisez au moins une problématique de la situation."),
            metadata=meta("Problématiques du ménage", "Ce qui éloigne le ménage du logement de droit commun ; "
                          "cochez au moins une problématique.", choice_labels=ATYPICAL_PROBLEMS))}
    if measure_type == PREVENTION_IMPAYES:
        return {
            "date_premier_impaye": fields.Date(required=True, error_messages=DATE, metadata=meta(
                "Date du premier impayé de loyer", "Le suivi de prévention s'ouvre dès le premier impayé de loyer, "
                "pour intervenir le plus en amont possible.")),
            "montant_impaye": amount(required=True, metadata=meta("Montant du premier impayé de loyer (€)")),
            "signale_par": choice(REPORTERS, "Origine du signalement inconnue.", metadata=meta("Impayé signalé par")),
        }
    return {}


def aid_schema(kind: str) -> type[ma.Schema]:
    return FrenchSchema.from_dict({
        "nature": choice(FSL_AIDS[kind], f"Aide inconnue au titre du {FSL_KIND_LABELS[kind]} : "
                         + ", ".join(FSL_AIDS[kind].values()) + ".", metadata=meta("Nature de l'aide")),
        "montant": amount(required=True, metadata=meta("Montant (€)")),
    }, name=f"FslAid{kind.title()}Schema")


class ActionSchema(FrenchSchema):
    action = text(500, required=True, metadata=meta("Action"))
    pilote = text(200, required=True, metadata=meta("Pilote", "Partenaire chargé de mettre en œuvre l'action."))
    echeance = fields.Date(load_default=None, error_messages=DATE, metadata=meta("Échéance"))


def grant_fields(measure) -> dict:
    """FSL aids granted with the measure; the action plan of the atypical-situations commission."""
    found = {}
    kind = "acces" if measure.measure_type in FSL_ACCES_TYPES else \
        "maintien" if measure.measure_type in FSL_MAINTIEN_TYPES else None
    if kind is not None:
        found["aides_fsl"] = fields.List(fields.Nested(aid_schema(kind)), load_default=list, metadata=meta(
            f"Aides du {FSL_KIND_LABELS[kind]} accordées", "Chaque aide avec son montant : "
            + ", ".join(label[:1].lower() + label[1:] for label in FSL_AIDS[kind].values()) + "."))
    if measure.measure_type == SITUATION_ATYPIQUE:
        found["plan_actions"] = fields.List(fields.Nested(ActionSchema), required=True, error_messages=REQUIRED,
                                            validate=validate.Length(min=1, error="Le plan d'actions élaboré par la "
                                                                     "commission compte au moins une action."),
                                            metadata=meta("Plan d'actions de la commission des situations atypiques",
                                                          "Actions élaborées par la commission pour ce ménage, "
                                                          "chacune avec son pilote et, le cas échéant, son échéance."))
        found["relogement_decide"] = fields.Boolean(load_default=False, metadata=meta(
            "Relogement décidé en commission", "À cocher si la commission des situations atypiques décide le "
            "relogement du ménage (priorité 4 du contingent préfectoral)."))
    return found
