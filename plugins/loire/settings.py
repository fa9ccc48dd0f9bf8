"""The Loire's tenant settings: yearly budgets and AML dwellings the associations report.

The PDALD leaflet (seed 000) publishes, next to the follow-ups, the ASLL and AML budgets in
k€ (ASLL 456/518/416/428/414, AML –/219/223/220/233 for 2002..2006) and the AML dwellings
(mandat de gestion 478 in 2005 / 504 in 2006, bail glissant 117 / 112). Budgets are votes,
and most dwellings under mandat de gestion are not tied to an ASLL measure: both come from
the associations' yearly reports, so the département admin enters them in Administration →
Paramètres. The seed's figures are the default, as a worked example.
"""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from asll.toolkit import FrenchSchema, field_metadata

NAME = "loire"

SEED_BUDGETS = (
    {"annee": 2002, "asll_keur": 456, "aml_keur": None},
    {"annee": 2003, "asll_keur": 518, "aml_keur": 219},
    {"annee": 2004, "asll_keur": 416, "aml_keur": 223},
    {"annee": 2005, "asll_keur": 428, "aml_keur": 220},
    {"annee": 2006, "asll_keur": 414, "aml_keur": 233},
)
SEED_AML = (
    {"annee": 2005, "association": "", "mandat_gestion": 478, "bail_glissant": 117},
    {"annee": 2006, "association": "", "mandat_gestion": 504, "bail_glissant": 112},
)
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
        metadata=field_metadata("Association", "Laisser vide pour un total de toutes les associations."))
    mandat_gestion = _count("Logements mobilisés en mandat de gestion")
    bail_glissant = _count("Baux ayant glissé dans l'année")


class LoireSettingsSchema(ma.Schema):
    """Tenant settings of the Loire: the yearly budgets and the AML dwellings reported."""

    budgets = fields.List(
        fields.Nested(BudgetSchema), load_default=lambda: [dict(b) for b in SEED_BUDGETS],
        metadata=field_metadata(
            "Budgets annuels ASLL et AML",
            "Une ligne par année, en milliers d'euros ; ils figurent dans le rapport d'activité à côté des "
            "logements mobilisés. Les valeurs proposées au départ sont celles du dépliant PDALD (2002-2006)."))

    aml_declarations = fields.List(
        fields.Nested(AmlDeclarationSchema), load_default=lambda: [dict(d) for d in SEED_AML],
        metadata=field_metadata(
            "Logements AML déclarés par les associations",
            "Logements mobilisés en mandat de gestion et baux glissés hors des mesures suivies sur la plateforme "
            "(ceux des mesures y sont comptés d'office). Une ligne par année et par association. Les valeurs "
            "proposées au départ sont celles du dépliant PDALD (2005-2006)."))

    @ma.validates_schema
    def _one_line_per_year(self, data, **kwargs):
        years = [row["annee"] for row in data.get("budgets") or []]
        twice = sorted({year for year in years if years.count(year) > 1})
        if twice:
            raise ma.ValidationError(
                f"Une seule ligne par année : {', '.join(map(str, twice))} figure plusieurs fois.", "budgets")
        seen: set[tuple[int, str]] = set()
        for row in data.get("aml_declarations") or []:
            year, name = row["annee"], row["association"].strip()
            if (year, name.casefold()) not in seen:
                seen.add((year, name.casefold()))
                continue
            raise ma.ValidationError(
                f"Une seule ligne par année et par association : {year}"
                f"{' – ' + name if name else ' (toutes associations)'} figure plusieurs fois.", "aml_declarations")


def budgets_of(tenant) -> dict[int, dict]:
    """The tenant's budgets by year (the default until the admin saves the settings)."""
    stored = (tenant.settings_for(NAME) or {}).get("budgets")
    rows = stored if stored is not None else SEED_BUDGETS
    return {int(row["annee"]): dict(row) for row in rows}


def aml_declared(tenant) -> list[dict]:
    """The AML dwellings the admin entered (the default until the settings are saved)."""
    stored = (tenant.settings_for(NAME) or {}).get("aml_declarations")
    return [dict(row) for row in (stored if stored is not None else SEED_AML)]
