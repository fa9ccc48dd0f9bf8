"""Moselle's tenant settings: the net SMIC that bounds the FSL aide à la recherche."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from marshmallow import Schema, fields, validate

from .codes import NAME

# Net monthly SMIC (35 h) from 1 January 2026 (gross hourly rate 12.02 €). The
# département admin updates it at every revaluation of the SMIC.
SMIC_NET_MONTHLY_2026 = 1443.11
AIDE_RECHERCHE_SMIC_SHARE = Decimal(2) / Decimal(3)


class MoselleSettingsSchema(Schema):
    """Tenant settings: the net SMIC that bounds the FSL aide à la recherche."""

    smic_net_monthly = fields.Float(
        load_default=SMIC_NET_MONTHLY_2026,
        validate=validate.Range(min=0, min_inclusive=False, error="Le SMIC net mensuel doit être positif."),
        error_messages={"invalid": "Montant invalide."},
        metadata={"label": "SMIC net mensuel (€)",
                  "description": "Sert au plafond de l'aide à la recherche du FSL : quotient familial au plus "
                                 "égal aux deux tiers du SMIC net. À mettre à jour à chaque revalorisation."},
    )


def aide_recherche_ceiling(smic_net_monthly) -> Decimal:
    """Family-quotient ceiling of the aide à la recherche: 2/3 of the net SMIC, to the cent."""
    ceiling = Decimal(str(smic_net_monthly)) * AIDE_RECHERCHE_SMIC_SHARE
    return ceiling.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def tenant_ceiling(tenant) -> Decimal:
    """The ceiling with the tenant's current SMIC setting (the default until an admin changes it)."""
    smic = (tenant.settings_for(NAME) or {}).get("smic_net_monthly", SMIC_NET_MONTHLY_2026)
    return aide_recherche_ceiling(smic)


def euros(amount: Decimal) -> str:
    """French money formatting: 962,07 €."""
    whole, _, cents = f"{Decimal(amount):,.2f}".partition(".")
    return f"{whole.replace(',', ' ')},{cents} €"
