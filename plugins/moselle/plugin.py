"""Moselle (57): the ASLL of the 7th PDALPD (2014-2018) and the commissions around it.

Source: the 7th PDALPD presentation (seed 004). The plan is co-piloted by the State,
the département and the CAF; the ASLL (action 14, more than 500 measures a year) is
centred on access and maintien, always on a prior social diagnostic, and does not
cumulate with MASP, MAESF, MAJ or MJAGBF.

Besides the ASLL, two plan actions are followed as measure types so that the core's
requests, sessions and decisions carry them: the action plan of the commission des
situations atypiques (action 15) and the rent-arrears prevention follow-up opened on a
first unpaid rent (action 12). ``fields`` holds the priority public P1-P4 (household), the
requests' and decisions' extra fields (FSL aids with amounts, action plan); ``rules`` the
refusals; ``models`` the plugin's tables (FSL aids, first unpaid rents, branch "moselle");
``statistics`` the yearly activity report (priority publics, FSL aids, indicators per
action); ``demo`` one household per rule.
"""

from __future__ import annotations

from asll.toolkit import (
    CommissionDef,
    CommissionRole,
    ExportColumn,
    MeasureKind,
    MeasureTypeDef,
    OrganisationSpec,
    PluginInfo,
    hookimpl,
)

from . import demo, fields, rules, statistics
from .personal_data import asll_anonymise_personal_data, asll_personal_data  # noqa: E402,F401  (RGPD hooks)
from .codes import (  # noqa: F401  (re-exported: the plugin's public codes)
    ACCES,
    AIDE_RECHERCHE,
    BAIL_GLISSANT,
    DEPARTEMENT,
    MAINTIEN,
    NAME,
    NON_CUMULATION,
    PREVENTION_IMPAYES,
    SITUATION_ATYPIQUE,
    SITUATIONS_ATYPIQUES,
    SOUS_LOCATION,
)
from .settings import (  # noqa: F401  (re-exported: tests and admins read them here)
    AIDE_RECHERCHE_SMIC_SHARE,
    SMIC_NET_MONTHLY_2026,
    MoselleSettingsSchema,
    aide_recherche_ceiling,
)

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
    # Action 15: the commission examines an individual situation and draws up an action plan,
    # whose follow-up by a referent organisation is recorded as a measure. Not an ASLL: no
    # non-cumulation rule.
    MeasureTypeDef(
        code=SITUATION_ATYPIQUE,
        label="Plan d'actions – commission des situations atypiques",
        kind=MeasureKind.SPECIFIQUE,
        commission=SITUATIONS_ATYPIQUES,
        description=(
            "Situation individuelle d'un ménage très éloigné du logement (mode de vie atypique, "
            "addictions, troubles psychiatriques, cumul de difficultés) examinée collectivement ; la "
            "commission élabore un plan d'actions adapté."
        ),
        plugin=NAME,
        **_DURATION,
    ),
    # Action 12: act from the first unpaid rent. A prevention follow-up, opened by the
    # département on the first unpaid rent, with no prior diagnostic so as to act early.
    MeasureTypeDef(
        code=PREVENTION_IMPAYES,
        label="Suivi de prévention des impayés de loyer (dès le 1er impayé)",
        kind=MeasureKind.AUTRE,
        commission=DEPARTEMENT,
        requires_diagnostic=False,
        description=(
            "Ouvert dès le premier impayé de loyer signalé (bailleur, CAF, ménage ou travailleur "
            "social) pour un accompagnement le plus en amont possible."
        ),
        plugin=NAME,
        **_DURATION,
    ),
)

MEASURE_TYPE_CODES = frozenset(mt.code for mt in MEASURE_TYPES)

# The seed names no body deciding individual ASLL measures: the département, which runs
# the FSL and pilots action 14, decides them. The seed gives no meeting rhythm.
COMMISSIONS = (
    CommissionDef(
        code=DEPARTEMENT,
        label="Décision du Département (FSL)",
        role=CommissionRole.SINGLE_DECIDER,
        examines=(ACCES, MAINTIEN, AIDE_RECHERCHE, PREVENTION_IMPAYES),
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
        examines=(SITUATION_ATYPIQUE,),
        description=(
            "Créée en 2013 et pilotée par la DDCS ; examine collectivement les situations "
            "individuelles des ménages les plus éloignés du logement (mode de vie atypique, "
            "addictions, troubles psychiatriques, cumul de difficultés) pour élaborer un plan "
            "d'actions adapté, articulé avec l'ASLL ; ses avis favorables ouvrent le suivi du plan."
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
        commissions=(SITUATIONS_ATYPIQUES,),
    ),
    OrganisationSpec(
        name="Secrétariat de la commission unique de sous-location",
        kind="commission_secretariat",
        description="Instruit les demandes de sous-location avec ou sans bail glissant.",
        commissions=(SOUS_LOCATION,),
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
        name_with_article="de la Moselle",
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


# -- the PDALPD's rules and figures, through the plugin contract ---------------------------------
@hookimpl
def asll_household_fields(tenant):
    """The priority public P1-P4 of the prefectoral quota, with its criterion."""
    return fields.household_fields()


@hookimpl
def asll_request_fields(tenant, measure_type):
    """Prior diagnostic's date, aide à la recherche eligibility, sliding lease's landlord, atypical
    situation, first unpaid rent."""
    return fields.request_fields(tenant, measure_type)


@hookimpl
def asll_transition_fields(tenant, measure, transition):
    """At the grant: FSL aids with their amounts; the atypical-situations action plan."""
    if transition == "grant" and measure.measure_type in MEASURE_TYPE_CODES:
        return fields.grant_fields(measure)
    return {}


@hookimpl
def asll_validate_transition(tenant, measure, transition, data):
    """Deciding bodies, prior diagnostic, non-cumulation, eligibility, prevention; see :mod:`asll_moselle.rules`."""
    return rules.validate(tenant, measure, transition, data)


@hookimpl
def asll_after_transition(tenant, measure, transition, data):
    """Record the FSL aids and the first unpaid rent of a grant in the plugin's tables."""
    rules.after_transition(measure, transition, data)


@hookimpl
def asll_statistics(tenant, year):
    """Priority publics, FSL aids by kind with amounts, indicators per PDALPD action, ASLL activity."""
    return statistics.tables(year)


@hookimpl
def asll_export_columns(tenant):
    """The household's priority public (to filter on) and the FSL aids granted with the measure."""
    return [
        ExportColumn("moselle_public_prioritaire", "Public prioritaire (P1-P4)", statistics.priority_of),
        ExportColumn("moselle_aides_fsl", "Aides FSL accordées (€)", statistics.fsl_total_of),
    ]


@hookimpl
def asll_demo_cases(tenant):
    """One household per rule of the PDALPD, see :mod:`asll_moselle.demo`."""
    return demo.cases(tenant)
