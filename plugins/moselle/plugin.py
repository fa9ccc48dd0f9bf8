"""Moselle (57): the ASLL of the 7th PDALPD (2014-2018) and the commissions around it.

Source: the 7th PDALPD presentation (seed 004). The plan is co-piloted by the State,
the département and the CAF; the ASLL (action 14, more than 500 measures a year) is
centred on access and maintien, always on a prior social diagnostic, and does not
cumulate with MASP, MAESF, MAJ or MJAGBF.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from marshmallow import Schema, fields, validate

from asll.toolkit import (
    CommissionDef,
    CommissionRole,
    MeasureKind,
    MeasureTypeDef,
    OrganisationSpec,
    PluginInfo,
    hookimpl,
)

NAME = "moselle"

DEPARTEMENT = f"{NAME}.departement"
SITUATIONS_ATYPIQUES = f"{NAME}.situations_atypiques"
SOUS_LOCATION = f"{NAME}.sous_location"

ACCES = f"{NAME}.acces"
MAINTIEN = f"{NAME}.maintien"
AIDE_RECHERCHE = f"{NAME}.aide_recherche"
BAIL_GLISSANT = f"{NAME}.bail_glissant"

# Action 13 lists the other support measures the ASLL must be articulated with
# (non-cumulation).
NON_CUMULATION = ("MASP", "MAESF", "MAJ", "MJAGBF")

# Net monthly SMIC (35 h) from 1 January 2026 (gross hourly rate 12.02 €). The
# département admin updates it at every revaluation of the SMIC.
SMIC_NET_MONTHLY_2026 = 1443.11
AIDE_RECHERCHE_SMIC_SHARE = Decimal(2) / Decimal(3)


class MoselleSettingsSchema(Schema):
    """Tenant settings: the net SMIC that bounds the FSL aide à la recherche."""

    smic_net_monthly = fields.Float(
        load_default=SMIC_NET_MONTHLY_2026,
        validate=validate.Range(min=0, min_inclusive=False),
    )


def aide_recherche_ceiling(smic_net_monthly) -> Decimal:
    """Family-quotient ceiling of the aide à la recherche: 2/3 of the net SMIC, to the cent."""
    ceiling = Decimal(str(smic_net_monthly)) * AIDE_RECHERCHE_SMIC_SHARE
    return ceiling.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


# The seed gives no duration: 6 months renewable once, the common rule of the other
# seeds (Loire charter, Seine-Maritime référentiel), with no overall cap.
_DURATION = dict(
    default_months=6,
    max_months=6,
    max_prolongations=1,
    prolongation_months=6,
    max_total_months=None,
)

MEASURE_TYPES = (
    MeasureTypeDef(
        code=ACCES,
        label="ASLL accès au logement",
        kind=MeasureKind.ACCES,
        commission=DEPARTEMENT,
        incompatible_with=NON_CUMULATION,
        description=(
            "Accompagnement centré sur l'accès au logement, sur la base d'un diagnostic social "
            "préalable."
        ),
        plugin=NAME,
        **_DURATION,
    ),
    MeasureTypeDef(
        code=MAINTIEN,
        label="ASLL maintien dans le logement",
        kind=MeasureKind.MAINTIEN,
        commission=DEPARTEMENT,
        incompatible_with=NON_CUMULATION,
        description=(
            "Accompagnement centré sur le maintien dans le logement, sur la base d'un diagnostic "
            "social préalable."
        ),
        plugin=NAME,
        **_DURATION,
    ),
    MeasureTypeDef(
        code=AIDE_RECHERCHE,
        label="Aide à la recherche du FSL (prospection dans le parc public)",
        kind=MeasureKind.ACCES,
        commission=DEPARTEMENT,
        incompatible_with=NON_CUMULATION,
        description=(
            "Quotient familial indicatif inférieur ou égal aux 2/3 du SMIC net ; ménages sans "
            "logement aptes à accéder à un logement autonome, ou ayant obtenu l'accord de la "
            "commission de sous-location avec bail glissant dans le parc HLM."
        ),
        plugin=NAME,
        **_DURATION,
    ),
    MeasureTypeDef(
        code=BAIL_GLISSANT,
        label="ASLL en sous-location avec bail glissant",
        kind=MeasureKind.BAIL_GLISSANT,
        commission=SOUS_LOCATION,
        incompatible_with=NON_CUMULATION,
        description=(
            "Sous-location dans le parc public avec glissement du bail, décidée par la commission "
            "unique de sous-location."
        ),
        plugin=NAME,
        **_DURATION,
    ),
)

# The seed names no body deciding individual ASLL measures: the département, which runs
# the FSL and pilots action 14, decides them. The seed gives no meeting rhythm.
COMMISSIONS = (
    CommissionDef(
        code=DEPARTEMENT,
        label="Décision du Département (FSL)",
        role=CommissionRole.SINGLE_DECIDER,
        examines=(ACCES, MAINTIEN, AIDE_RECHERCHE),
        description=(
            "Le Département, gestionnaire du FSL et pilote de l'action ASLL du PDALPD, accorde les "
            "mesures sur la base du diagnostic social préalable."
        ),
        plugin=NAME,
    ),
    CommissionDef(
        code=SITUATIONS_ATYPIQUES,
        label="Commission des situations atypiques",
        role=CommissionRole.ADVISES,
        examines=(ACCES, MAINTIEN),
        description=(
            "Créée en 2013 et pilotée par la DDCS ; examine collectivement les situations "
            "individuelles des ménages les plus éloignés du logement (mode de vie atypique, "
            "addictions, troubles psychiatriques, cumul de difficultés) pour élaborer un plan "
            "d'actions adapté."
        ),
        plugin=NAME,
    ),
    CommissionDef(
        code=SOUS_LOCATION,
        label="Commission unique de sous-location",
        role=CommissionRole.DECIDES,
        examines=(BAIL_GLISSANT,),
        description=(
            "Examine les demandes de sous-location avec bail glissant dans le parc HLM ; son accord "
            "ouvre l'aide à la recherche du FSL."
        ),
        plugin=NAME,
    ),
)

# Bodies named by the seed, plus generic operators and landlord for the demo data: the
# ASLL operators are chosen by a call for projects the seed does not name; their sectors
# are two of the seed's housing "bassins" (Metz, Thionville, Forbach, Sarreguemines,
# Sarrebourg).
ORGANISATIONS = (
    OrganisationSpec(
        name="Département de la Moselle – service logement (FSL, ASLL)",
        kind="dept_service",
        description=(
            "Co-pilote du PDALPD avec l'État et la CAF ; gère le FSL (aides à l'accès, au maintien, "
            "aide à la recherche) et pilote l'ASLL (plus de 500 mesures par an)."
        ),
    ),
    # The seed (2014) names the DDCS, whose duties have since passed to the DDETS.
    OrganisationSpec(
        name="DDCS de la Moselle",
        kind="commission_secretariat",
        description="Pilote la commission des situations atypiques.",
    ),
    OrganisationSpec(
        name="Secrétariat de la commission unique de sous-location",
        kind="commission_secretariat",
        description="Instruit les demandes de sous-location avec ou sans bail glissant.",
    ),
    OrganisationSpec(
        name="CAF de la Moselle",
        kind="prescriber",
        description="Co-pilote du PDALPD ; ses travailleurs sociaux peuvent demander une mesure.",
    ),
    OrganisationSpec(
        name="SIAO 57",
        kind="prescriber",
        description=(
            "Service intégré d'accueil et d'orientation : centralise les demandes d'hébergement et "
            "de logement accompagné et oriente les ménages sortant d'hébergement (priorité 2)."
        ),
    ),
    OrganisationSpec(
        name="AIVS (agence immobilière à vocation sociale)",
        kind="landlord",
        description="Mandat de gestion avec accompagnement du locataire (120 logements en Moselle).",
    ),
    OrganisationSpec(
        name="Bailleur social (exemple)",
        kind="landlord",
        description="Bailleur HLM réservant des logements à la sous-location avec bail glissant.",
    ),
    OrganisationSpec(
        name="Opérateur ASLL – bassin de Metz (exemple)",
        kind="operator",
        sectors=("Bassin de Metz",),
        description="Opérateur retenu par appel à projets.",
    ),
    OrganisationSpec(
        name="Opérateur ASLL – bassin de Thionville (exemple)",
        kind="operator",
        sectors=("Bassin de Thionville",),
        description="Opérateur retenu par appel à projets.",
    ),
)


@hookimpl
def asll_plugin_info():
    """Identity shown to the platform admin, with the net SMIC the admin keeps up to date."""
    return PluginInfo(
        name=NAME,
        label="ASLL Moselle",
        departement_code="57",
        departement_name="Moselle",
        description=(
            "ASLL du PDALPD de la Moselle, centrée sur l'accès et le maintien, articulée avec la "
            "commission des situations atypiques et la commission unique de sous-location."
        ),
        settings_schema=MoselleSettingsSchema,
    )


@hookimpl
def asll_measure_types(tenant):
    """Accès, maintien, the FSL aide à la recherche and sub-letting with a sliding lease."""
    return list(MEASURE_TYPES)


@hookimpl
def asll_commissions(tenant):
    """The département decides; the two PDALPD commissions advise or decide their own cases."""
    return list(COMMISSIONS)


@hookimpl
def asll_organisations(tenant):
    """The PDALPD's bodies from the seed and generic operators for the demo data."""
    return list(ORGANISATIONS)
