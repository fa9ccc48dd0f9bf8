"""The Loire's tenant settings: the yearly ASLL and AML budgets the département reports.

The PDALD leaflet (seed 000) publishes them next to the activity figures, in k€: ASLL
456/518/416/428/414 and AML –/219/223/220/233 for 2002..2006. They are not computed from
measures (they are votes of the Conseil général), so the département admin enters them in
Administration → Paramètres; the seed's figures are the default, as a worked example.
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
_AMOUNT = "Montant en milliers d'euros : un nombre entier positif ou nul."


def _amount(label: str, required: bool) -> fields.Integer:
    return fields.Integer(
        required=required, allow_none=not required, load_default=None if not required else ma.missing,
        validate=validate.Range(min=0, max=1_000_000, error=_AMOUNT),
        error_messages={"invalid": _AMOUNT, "required": "Indiquez le budget ASLL de l'année.",
                        "null": "Indiquez le budget ASLL de l'année."},
        metadata=field_metadata(label))


class BudgetSchema(FrenchSchema):
    """One year's budgets."""

    annee = fields.Integer(
        required=True, validate=validate.Range(min=1990, max=2100, error="Année invalide (entre 1990 et 2100)."),
        error_messages={"invalid": "Année invalide (entre 1990 et 2100).", "required": "Indiquez l'année.",
                        "null": "Indiquez l'année."},
        metadata=field_metadata("Année"))
    asll_keur = _amount("Budget ASLL (k€)", required=True)
    aml_keur = _amount("Budget aide à la médiation locative (k€)", required=False)


class LoireSettingsSchema(ma.Schema):
    """Tenant settings of the Loire: the yearly budgets."""

    budgets = fields.List(
        fields.Nested(BudgetSchema), load_default=lambda: [dict(b) for b in SEED_BUDGETS],
        metadata=field_metadata(
            "Budgets annuels ASLL et AML",
            "Une ligne par année, en milliers d'euros ; ils figurent dans le rapport d'activité à côté des "
            "logements mobilisés. Les valeurs proposées au départ sont celles du dépliant PDALD (2002-2006)."))

    @ma.validates_schema
    def _one_line_per_year(self, data, **kwargs):
        years = [row["annee"] for row in data.get("budgets") or []]
        twice = sorted({year for year in years if years.count(year) > 1})
        if twice:
            raise ma.ValidationError(
                f"Une seule ligne par année : {', '.join(map(str, twice))} figure plusieurs fois.", "budgets")


def budgets_of(tenant) -> dict[int, dict]:
    """The tenant's budgets by year (the default until the admin saves the settings)."""
    stored = (tenant.settings_for(NAME) or {}).get("budgets")
    rows = stored if stored is not None else SEED_BUDGETS
    return {int(row["annee"]): dict(row) for row in rows}
