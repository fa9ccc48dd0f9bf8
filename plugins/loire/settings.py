"""The Loire's tenant settings: yearly budgets and AML dwellings the associations report.

The PDALD leaflet (seed 000) publishes, next to the follow-ups, the ASLL and AML budgets in
k€ (ASLL 456/518/416/428/414, AML –/219/223/220/233 for 2002..2006) and the AML dwellings
(mandat de gestion 478 in 2005 / 504 in 2006, bail glissant 117 / 112). Budgets are votes,
and most dwellings under mandat de gestion are not tied to an ASLL measure: both come from
the associations' yearly reports, so the département admin enters them in Administration →
Paramètres. Nothing is entered by default: a tenant's report shows only its own figures.
"""

from __future__ import annotations

from collections import Counter

import marshmallow as ma
from marshmallow import fields, validate

from asll.toolkit import FrenchSchema, field_metadata

from .plugin import NAME

_COUNT = "Nombre de logements : un nombre entier positif ou nul."
_YEAR = "Année invalide (entre 1990 et 2100)."
_AMOUNT = "Montant en milliers d'euros : un nombre entier positif ou nul."


def _amount(label: str, required: bool) -> fields.Integer:
    return fields.Integer(
        required=required, allow_none=not required, load_default=None if not required else ma.missing,
        validate=validate.Range(min=0, max=1_000_000, error=_AMOUNT),
        error_messages={"invalid": _AMOUNT, "required": "Indiquez le budget ASLL de l'année.",
                        "null": "Indiquez le budget ASLL de l'année."},
        metadata=field_metadata(label))


def _year() -> fields.Integer:
    return fields.Integer(
        required=True, validate=validate.Range(min=1990, max=2100, error=_YEAR),
        error_messages={"invalid": _YEAR, "required": "Indiquez l'année.", "null": "Indiquez l'année."},
        metadata=field_metadata("Année"))


def _count(label: str) -> fields.Integer:
    return fields.Integer(load_default=0, validate=validate.Range(min=0, max=100_000, error=_COUNT),
                          error_messages={"invalid": _COUNT, "null": _COUNT}, metadata=field_metadata(label))


class BudgetSchema(FrenchSchema):
    """One year's budgets."""

    annee = _year()
    asll_keur = _amount("Budget ASLL (k€)", required=True)
    aml_keur = _amount("Budget aide à la médiation locative (k€)", required=False)


class AmlDeclarationSchema(FrenchSchema):
    """Dwellings an association reported for a year, besides those recorded on measures here."""

    annee = _year()
    association = fields.String(
        load_default="", validate=validate.Length(max=120, error="120 caractères au plus."),
        metadata=field_metadata("Association", "Laisser vide si le chiffre couvre toutes les associations "
                                               "(hors logements des mesures suivies ici)."))
    mandat_gestion = _count("Logements mobilisés en mandat de gestion")
    bail_glissant = _count("Baux ayant glissé dans l'année")


class LoireSettingsSchema(ma.Schema):
    """Tenant settings of the Loire: the yearly budgets and the AML dwellings reported."""

    budgets = fields.List(
        fields.Nested(BudgetSchema), load_default=list,
        metadata=field_metadata(
            "Budgets annuels ASLL et AML",
            "Une ligne par année, en milliers d'euros ; ils figurent dans le rapport d'activité à côté des "
            "logements mobilisés."))

    aml_declarations = fields.List(
        fields.Nested(AmlDeclarationSchema), load_default=list,
        metadata=field_metadata(
            "Logements AML déclarés par les associations",
            "Logements mobilisés en mandat de gestion et baux glissés hors des mesures suivies sur la plateforme "
            "(ceux des mesures y sont comptés d'office). Une ligne par année et par association, ou une seule "
            "ligne sans association pour un total de toutes les associations."))

    @ma.validates_schema
    def _one_line_per_year(self, data, **kwargs):
        years = Counter(row["annee"] for row in data.get("budgets") or [])
        twice = sorted(year for year, n in years.items() if n > 1)
        if twice:
            raise ma.ValidationError(f"Une seule ligne par année : {', '.join(map(str, twice))} "
                                     f"{'figurent' if len(twice) > 1 else 'figure'} plusieurs fois.", "budgets")
        names: dict[int, set[str]] = {}
        for row in data.get("aml_declarations") or []:
            year, name = row["annee"], row["association"].strip()
            if name.casefold() in names.setdefault(year, set()):
                raise ma.ValidationError(
                    f"Une seule ligne par année et par association : {year}"
                    f"{' – ' + name if name else ' (toutes associations)'} figure plusieurs fois.", "aml_declarations")
            names[year].add(name.casefold())
        mixed = sorted(year for year, found in names.items() if "" in found and len(found) > 1)
        if mixed:
            raise ma.ValidationError(
                f"{mixed[0]} : une ligne sans association couvre déjà toutes les associations ; supprimez-la ou "
                "supprimez les lignes par association, pour ne pas compter les logements deux fois.",
                "aml_declarations")


def budgets_of(tenant) -> dict[int, dict]:
    """The tenant's budgets by year (``settings_for`` already holds the schema's defaults)."""
    return {row["annee"]: row for row in tenant.settings_for(NAME)["budgets"]}


def aml_declared(tenant) -> list[dict]:
    """The AML dwellings the associations reported, as the admin entered them."""
    return list(tenant.settings_for(NAME)["aml_declarations"])
