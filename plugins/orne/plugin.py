"""Orne (61): internal measures run by the circonscriptions, external ones by agreed structures.

Source: the Orne ASLL presentation (seed 001). Measures are validated by one decision
body per circonscription d'action sociale, either its head alone or a monthly
commission; which one is a tenant setting, because the seed leaves it to each
circonscription.
"""

from __future__ import annotations

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

NAME = "orne"

VALIDATION = f"{NAME}.validation"
COMMISSION_MENSUELLE = f"{NAME}.commission_mensuelle"

INTERNE = f"{NAME}.interne"
JEUNES_ALT = f"{NAME}.jeunes_alt"
CHRS_SUITE = f"{NAME}.chrs_suite"

MODE_RESPONSABLE = "responsable"  # the head of circonscription validates alone
MODE_COMMISSION = "commission"  # the circonscription's monthly commission validates
VALIDATION_MODES = (MODE_RESPONSABLE, MODE_COMMISSION)
COMMISSION_BY_MODE = {MODE_RESPONSABLE: VALIDATION, MODE_COMMISSION: COMMISSION_MENSUELLE}
VALIDATION_MODE_LABELS = {
    MODE_RESPONSABLE: "Validation par le responsable de circonscription",
    MODE_COMMISSION: "Commission mensuelle de circonscription",
}

# The seed says "quatre circonscriptions d'action sociale" without naming them; these
# are the Orne's own (Alençon, Argentan, Flers, L'Aigle-Mortagne). The seed does not say
# which one validates how either: every one starts with its head deciding alone and the
# département admin switches those that hold a monthly commission.
CIRCONSCRIPTIONS = ("Alençon", "Argentan", "Flers", "L'Aigle-Mortagne")
DEFAULT_VALIDATION_MODES = {name: MODE_RESPONSABLE for name in CIRCONSCRIPTIONS}

# Agreement with the external structures: "127 mesures : 762 mois mesures".
AGREEMENT_MEASURES = 127
AGREEMENT_MONTH_MEASURES = 762


class OrneSettingsSchema(Schema):
    """Tenant settings: each circonscription's validation mode and the yearly agreement."""

    validation_modes = fields.Dict(
        keys=fields.String(validate=validate.Length(min=1)),
        values=fields.String(validate=validate.OneOf(VALIDATION_MODES, error=(
            "Mode de validation inconnu : « responsable » (le responsable de circonscription valide seul) ou "
            "« commission » (commission mensuelle de circonscription)."))),
        load_default=lambda: dict(DEFAULT_VALIDATION_MODES),
        metadata={
            "label": "Validation des mesures par circonscription d'action sociale",
            "description": "Une instance par circonscription : validation soit par le responsable de "
                           "circonscription, soit par une commission mensuelle.",
            "choice_labels": VALIDATION_MODE_LABELS,
        },
    )
    agreement_measures = fields.Integer(
        load_default=AGREEMENT_MEASURES, validate=validate.Range(min=0),
        metadata={"label": "Mesures externes conventionnées (par an)",
                  "description": "Mesures AOLTJ et CHRS prévues par la convention."},
    )
    agreement_month_measures = fields.Integer(
        load_default=AGREEMENT_MONTH_MEASURES, validate=validate.Range(min=0),
        metadata={"label": "Mois-mesures conventionnés (par an)",
                  "description": "Total des mois d'accompagnement des mesures externes prévu par la convention."},
    )


# The seed gives no duration rule. The agreement's 762 mois-mesures for 127 measures
# is 6 months a measure; the 2008 average (1,457 mois-mesures for 224 households, about
# 6.5) shows some measures are prolonged, so one prolongation is allowed, with no cap
# on the total since the seed sets none.
_DURATION = dict(
    default_months=AGREEMENT_MONTH_MEASURES // AGREEMENT_MEASURES,
    max_months=6,
    max_prolongations=1,
    prolongation_months=6,
    max_total_months=None,
)

# The seed lists no non-cumulation rule, and requests may come from the family itself
# (with no social worker's diagnostic), so neither is required here.
MEASURE_TYPES = (
    # Several intervention domains are worked on in one measure (maintien 57%,
    # relogement 47%, appropriation 34%...), hence no single kind.
    MeasureTypeDef(
        code=INTERNE,
        label="ASLL interne (travailleur social ASLL de circonscription)",
        kind=MeasureKind.AUTRE,
        commission=VALIDATION,
        requires_diagnostic=False,
        description=(
            "Mesure exercée par le travailleur social ASLL de la circonscription, sans condition "
            "de ressources ; domaines cumulables : accès, organisation administrative et "
            "budgétaire, endettement, appropriation et maîtrise des charges, insertion dans "
            "l'environnement, médiation locative."
        ),
        plugin=NAME,
        **_DURATION,
    ),
    MeasureTypeDef(
        code=JEUNES_ALT,
        label="ASLL jeunes de 18 à 25 ans adossée à une ALT (AOLTJ)",
        kind=MeasureKind.ACCES,
        commission=VALIDATION,
        requires_diagnostic=False,
        description=(
            "Mesure externe réservée aux jeunes de 18 à 25 ans logés avec une allocation de "
            "logement temporaire ; 113 des 127 mesures conventionnées."
        ),
        plugin=NAME,
        **_DURATION,
    ),
    MeasureTypeDef(
        code=CHRS_SUITE,
        label="ASLL service de suite d'un CHRS",
        kind=MeasureKind.ACCES,
        commission=VALIDATION,
        requires_diagnostic=False,
        description=(
            "Mesure externe exercée par un CHRS pour favoriser l'accès et le maintien dans le "
            "logement des personnes qui en sortent ; 14 des 127 mesures conventionnées."
        ),
        plugin=NAME,
        **_DURATION,
    ),
)

_ALL_TYPES = tuple(mt.code for mt in MEASURE_TYPES)

# Both bodies examine every type; the measure types name the default one (mode
# "responsable"), the ``validation_modes`` setting says which one acts per circonscription.
COMMISSIONS = (
    CommissionDef(
        code=VALIDATION,
        label=VALIDATION_MODE_LABELS[MODE_RESPONSABLE],
        role=CommissionRole.SINGLE_DECIDER,
        examines=_ALL_TYPES,
        description=(
            "Instance décisionnelle du Département dans les circonscriptions où le responsable "
            "de circonscription valide seul les mesures."
        ),
        plugin=NAME,
    ),
    CommissionDef(
        code=COMMISSION_MENSUELLE,
        label=VALIDATION_MODE_LABELS[MODE_COMMISSION],
        role=CommissionRole.DECIDES,
        examines=_ALL_TYPES,
        rhythm="mensuelle",
        description=(
            "Instance décisionnelle du Département dans les circonscriptions qui valident les "
            "mesures en commission mensuelle."
        ),
        plugin=NAME,
    ),
)

_CIRCONSCRIPTION_DESCRIPTION = (
    "Mesures internalisées : le travailleur social ASLL de la circonscription, avec un portefeuille de "
    "35 mesures en moyenne ; les travailleurs sociaux de circonscription orientent 90 % des ménages."
)

# The circonscriptions run the internal measures, so they are the operators of those measures
# (their ASLL worker is an operator worker); the heads of circonscription, who validate, belong to
# the département's service. "Portefeuille de 35 mesures" is a number of measures followed at
# once, hence a monthly capacity.
ORGANISATIONS = tuple(
    OrganisationSpec(
        name=f"Circonscription d'action sociale – {name}",
        kind="operator",
        sectors=(name,),
        capacity=35,
        description=_CIRCONSCRIPTION_DESCRIPTION,
    )
    for name in CIRCONSCRIPTIONS
) + (
    OrganisationSpec(
        name="AOLTJ – Association pour le logement temporaire des jeunes",
        kind="operator",
        capacity=113,
        capacity_unit="year",
        description=(
            "Structure conventionnée : 113 mesures réservées aux jeunes de 18 à 25 ans, adossées "
            "à une allocation de logement temporaire (ALT)."
        ),
    ),
    # The seed does not name the CHRS: a generic entry for the demo data.
    OrganisationSpec(
        name="CHRS – service de suite",
        kind="operator",
        capacity=14,
        capacity_unit="year",
        description=(
            "Structure conventionnée : 14 mesures dans le cadre d'un service de suite, pour "
            "l'accès et le maintien dans le logement des sortants du CHRS."
        ),
    ),
    OrganisationSpec(
        name="Secrétariat ASLL du Département de l'Orne",
        kind="commission_secretariat",
        description=(
            "Prépare les validations des responsables de circonscription et les commissions "
            "mensuelles, enregistre les décisions et les notifie."
        ),
    ),
    # The seed names neither the service of the heads of circonscription, nor a social
    # service or landlord: generic entries for the demo data.
    OrganisationSpec(
        name="Responsables de circonscription – Département de l'Orne",
        kind="dept_service",
        sectors=CIRCONSCRIPTIONS,
        description="Instances décisionnelles du Département : valident les mesures de leur circonscription.",
    ),
    OrganisationSpec(
        name="Service social polyvalent de circonscription",
        kind="prescriber",
        sectors=CIRCONSCRIPTIONS,
        description="Travailleurs sociaux des circonscriptions, qui orientent 90 % des ménages.",
    ),
    OrganisationSpec(
        name="Bailleur social de l'Orne",
        kind="landlord",
        description="Peut être à l'origine d'une demande ; informé des mesures avec l'accord du ménage.",
    ),
)


@hookimpl
def asll_plugin_info():
    """Identity shown to the platform admin, with the per-circonscription settings."""
    return PluginInfo(
        name=NAME,
        label="ASLL Orne",
        departement_code="61",
        departement_name="Orne",
        name_with_article="de l'Orne",
        description=(
            "Mesures internes exercées par les quatre circonscriptions d'action sociale et mesures "
            "externes conventionnées, validées dans chaque circonscription par son responsable "
            "ou par une commission mensuelle."
        ),
        settings_schema=OrneSettingsSchema,
    )


@hookimpl
def asll_measure_types(tenant):
    """Internal measures and the two kinds of external ones (AOLTJ, CHRS)."""
    return list(MEASURE_TYPES)


@hookimpl
def asll_commissions(tenant):
    """The two ways a circonscription validates a measure."""
    return list(COMMISSIONS)


@hookimpl
def asll_organisations(tenant):
    """The four circonscriptions, the two agreed structures, the secretariat and generic partners."""
    return list(ORGANISATIONS)


# -- rules, obligations, reports and demo (modules imported here, after the tables above) ----
from . import demo, reports, rules  # noqa: E402
from .personal_data import asll_anonymise_personal_data, asll_personal_data  # noqa: E402,F401  (RGPD hooks)


@hookimpl
def asll_request_fields(tenant, measure_type):
    """The request's origin (no means test), the ALT of young people, the CHRS exit date."""
    return rules.request_fields(measure_type)


@hookimpl
def asll_request_commission(tenant, request):
    """The household's circonscription decides: its head alone, or its monthly commission in session."""
    return rules.request_commission(tenant, request)


@hookimpl
def asll_transition_fields(tenant, measure, transition):
    """Monthly commission's date, domains and situation at entry and exit, the 6-month contact."""
    return rules.transition_fields(measure, transition)


@hookimpl
def asll_validate_transition(tenant, measure, transition, data):
    """Validation per circonscription, operators and publics of each measure type, agreement, evaluation."""
    return rules.validate_transition(tenant, measure, transition, data)


@hookimpl
def asll_after_transition(tenant, measure, transition, data):
    """Keeps the evaluation data (domains, situation at entry and exit, contact) in the plugin's tables."""
    rules.after_transition(tenant, measure, transition, data)


@hookimpl
def asll_obligations(tenant, measure):
    """The contact with the household 6 months after the end of the measure."""
    return rules.obligations(measure)


@hookimpl
def asll_statistics(tenant, year):
    """Domains (cumulative %), agreement consumption, situation at entry and exit, origins."""
    return reports.statistics(tenant, year)


@hookimpl
def asll_export_columns(tenant):
    """Circonscription, origin of the request, domains worked on, 6-month contact."""
    return reports.export_columns()


@hookimpl
def asll_demo_cases(tenant):
    """Requests and measures in every state, internal and external, with the Orne's rules applied."""
    return demo.demo_cases(tenant)
