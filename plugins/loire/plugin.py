"""Loire (42): what the département offers, who decides and who acts.

Sources: the PDALD 2002-2007 leaflet (seed 000: CLU / CLT workflow, 2007 associations)
and the ASLL charter (seed 003: durations, non-cumulation, FSL commission). Everything
here is a table, so the definitions are module-level tuples the hooks hand out.
"""

from __future__ import annotations

from asll.toolkit import (
    CommissionDef,
    CommissionRole,
    MeasureKind,
    MeasureTypeDef,
    OrganisationSpec,
    PluginInfo,
    hookimpl,
)

NAME = "loire"

CLU = f"{NAME}.clu"
CLT = f"{NAME}.clt"
FSL = f"{NAME}.fsl"

ACCES = f"{NAME}.acces"
MAINTIEN = f"{NAME}.maintien"
DIAGNOSTIC = f"{NAME}.diagnostic"
BAIL_GLISSANT = f"{NAME}.bail_glissant"
ARIV = f"{NAME}.action_specifique_ariv"
ARALIS = f"{NAME}.action_specifique_aralis"

# Charter (seed 003): "une mesure d'A.S.L.L. ne peut se cumuler avec" family-benefit
# guardianship, adult protection by a social worker, specific RMI follow-up by an agreed
# body, administrative AEMO. The landlords' "gestion rapprochée" is not a measure.
NON_CUMULATION = ("TPF", "PROTECTION_MAJEUR", "SUIVI_RSA", "AEMO")

# Charter: "en général 6 mois", "exceptionnellement reconduite une fois", and "dans des
# cas particuliers ... 3 mois" (a shorter grant, within max_months).
_DURATION = dict(
    default_months=6,
    max_months=6,
    max_prolongations=1,
    prolongation_months=6,
    max_total_months=12,
)
_PROLONGATION_NOTE = (
    "Attribuée en général pour 6 mois (3 mois dans des cas particuliers), "
    "reconductible exceptionnellement une fois."
)

MEASURE_TYPES = (
    MeasureTypeDef(
        code=ACCES,
        label="ASLL accès (recherche, installation dans le logement)",
        kind=MeasureKind.ACCES,
        commission=CLU,
        incompatible_with=NON_CUMULATION,
        description="Mesure individuelle demandée à la CLU (imprimé 42 + fiche ASLL). " + _PROLONGATION_NOTE,
        plugin=NAME,
        **_DURATION,
    ),
    MeasureTypeDef(
        code=MAINTIEN,
        label="ASLL maintien (prévention des expulsions)",
        kind=MeasureKind.MAINTIEN,
        commission=CLU,
        incompatible_with=NON_CUMULATION,
        description="Mesure individuelle demandée à la CLU (imprimé 42 + fiche ASLL). " + _PROLONGATION_NOTE,
        plugin=NAME,
        **_DURATION,
    ),
    MeasureTypeDef(
        code=DIAGNOSTIC,
        label="ASLL diagnostic (définition du projet logement)",
        kind=MeasureKind.DIAGNOSTIC,
        commission=CLU,
        incompatible_with=NON_CUMULATION,
        description=(
            "Pour conforter ou affiner le diagnostic, préciser les objectifs et s'assurer de "
            "l'adhésion du ménage quand la situation est mal connue. " + _PROLONGATION_NOTE
        ),
        plugin=NAME,
        **_DURATION,
    ),
    MeasureTypeDef(
        code=BAIL_GLISSANT,
        label="ASLL en bail glissant",
        kind=MeasureKind.BAIL_GLISSANT,
        commission=CLT,
        incompatible_with=NON_CUMULATION,
        description=(
            "L'association loue le logement (surtout HLM) et le sous-loue au ménage, puis le bail "
            "glisse au ménage. Demande instruite par la CLT ou la DDASS. " + _PROLONGATION_NOTE
        ),
        plugin=NAME,
        **_DURATION,
    ),
    # Actions spécifiques: "peuvent être saisies directement", hence no commission.
    MeasureTypeDef(
        code=ARIV,
        label="Action spécifique ARIV (gens du voyage en voie de sédentarisation)",
        kind=MeasureKind.SPECIFIQUE,
        commission=None,
        incompatible_with=NON_CUMULATION,
        description="Demande faite directement à l'association ARIV, sans passage en commission.",
        plugin=NAME,
        **_DURATION,
    ),
    MeasureTypeDef(
        code=ARALIS,
        label="Action spécifique ARALIS (résidents des foyers ARALIS)",
        kind=MeasureKind.SPECIFIQUE,
        commission=None,
        incompatible_with=NON_CUMULATION,
        description=(
            "Demande faite directement à l'association ARALIS, pour des résidents de ses foyers "
            "en capacité d'accéder à un logement autonome."
        ),
        plugin=NAME,
        **_DURATION,
    ),
)

# The seeds give no meeting rhythm for these commissions, so ``rhythm`` stays empty.
COMMISSIONS = (
    CommissionDef(
        code=CLU,
        label="Commission Logement Unique (CLU)",
        role=CommissionRole.DECIDES,
        examines=(ACCES, MAINTIEN, DIAGNOSTIC),
        description=(
            "Instruit les demandes de mesures individuelles d'ASLL (imprimé 42 + fiche ASLL), "
            "notifie la mesure à une association et examine ses prolongations ; elle peut aussi "
            "alerter un travailleur social sur l'opportunité d'une mesure."
        ),
        plugin=NAME,
    ),
    CommissionDef(
        code=CLT,
        label="Commission Logement Territorialisée (CLT)",
        role=CommissionRole.DECIDES,
        examines=(BAIL_GLISSANT,),
        description=(
            "Instruit les demandes d'ASLL en bail glissant, comme la DDASS, gestionnaire du "
            "fichier prioritaire ; elle peut orienter un ménage demandeur de logement prioritaire "
            "vers un bail glissant, en concertation avec le service instructeur."
        ),
        plugin=NAME,
    ),
    # The charter gives it the funding decision; the 2007 leaflet sends every request to
    # the CLU or CLT, so here it advises (it "peut préconiser" a measure) and funds.
    CommissionDef(
        code=FSL,
        label="Commission du Fonds de solidarité logement (FSL)",
        role=CommissionRole.ADVISES,
        examines=(ACCES, MAINTIEN, DIAGNOSTIC, BAIL_GLISSANT),
        description=(
            "Co-présidée par des représentants de l'État et du Département ; selon la charte, "
            "décide du financement des mesures confiées à un prestataire rémunéré et peut "
            "préconiser une mesure d'ASLL."
        ),
        plugin=NAME,
    ),
)

# Sector names are the seed's own words. Capacities are households per month unless
# ``capacity_unit="year"``.
SECTOR_DEPARTEMENT = "Département"

ORGANISATIONS = (
    OrganisationSpec(
        name="AGASEF",
        kind="operator",
        sectors=("St Etienne Gier/Pilat", "Ondaine"),
        capacity=30,
        address="2, place des Carrières 42000 SAINT ETIENNE",
        phone="04.77.32.51.73",
        email="agasef@wanadoo.fr",
        description=(
            "Mesures individuelles (CLU) : aide à la recherche et à l'installation, aide au "
            "maintien et gestion du quotidien (budget, voisinage), prévention des expulsions."
        ),
    ),
    # The seed gives one sector cell ("Roannais et Forez") for both SIESI services and
    # does not say how they share it, so both carry it.
    OrganisationSpec(
        name="ADSEA 42 – SIESI Plaines et Vallées",
        kind="operator",
        sectors=("Roannais", "Forez"),
        capacity=28,
        reinforced_capacity=4,
        address="2 place Jean Jaurès 42000 SAINT ETIENNE",
        phone="04.77.47.19.98",
        email="siesi.plaines.et.vallees@adsea42.org",
        description="Mesures individuelles (CLU) : 28 ménages par mois dont 4 suivis renforcés.",
    ),
    OrganisationSpec(
        name="ADSEA 42 – SIESI Roanne",
        kind="operator",
        sectors=("Roannais", "Forez"),
        capacity=12,
        reinforced_capacity=2,
        address="13, rue Beaulieu 42300 ROANNE",
        phone="04.77.23.71.71",
        email="siesi.roanne@adsea42.org",
        description="Mesures individuelles (CLU) : 12 ménages par mois dont 2 suivis renforcés.",
    ),
    OrganisationSpec(
        name="Entraide Pierre Valdo",
        kind="operator",
        sectors=(SECTOR_DEPARTEMENT,),
        capacity=15,
        address="BP 75 42002 St ETIENNE cedex",
        phone="04.77.47.19.98",
        email="valdo42-cv@wanadoo.fr",
        description=(
            "Mesures individuelles (CLU) : aide à la recherche et à l'installation pour des "
            "ménages ayant le statut de réfugiés (y compris hors CADA)."
        ),
    ),
    OrganisationSpec(
        name="CALL-PACT St Etienne",
        kind="operator",
        sectors=("Loire sauf Roanne",),
        capacity=60,
        capacity_unit="year",
        address="2, rue A.Briand & de la Paix 42000 SAINT ETIENNE",
        phone="04.77.43.08.88",
        email="pact.42@libertysurf.fr",
        description=(
            "Baux glissants (CLT) : 60 baux glissants à l'année, pour des ménages sans expérience "
            "locative ou ayant rencontré des difficultés d'intégration, d'appropriation ou de "
            "gestion du logement."
        ),
    ),
    OrganisationSpec(
        name="CAL-PACT Roanne",
        kind="operator",
        sectors=("Roanne",),
        capacity=7,
        address="23, rue Georges Ducarre 42300 ROANNE",
        phone="04.77.44.47.37",
        email="roanne@pact-arim.org",
        description="Baux glissants (CLT).",
    ),
    OrganisationSpec(
        name="RENAITRE",
        kind="operator",
        sectors=("Loire sauf Roanne",),
        capacity=8,
        address="17 rue Ferdinand 42000 SAINT-ETIENNE",
        phone="04-77-49-04-59",
        description="Baux glissants (CLT).",
    ),
    OrganisationSpec(
        name="ANEF",
        kind="operator",
        sectors=("St Etienne Gier/Pilat", "Ondaine", "Forez"),
        capacity=50,
        reinforced_capacity=13,
        address="16, rue J.B. David 42100 SAINT ETIENNE",
        phone="04.77.49.69.13",
        email="anef-loire-sud.chrs@wanadoo.fr",
        description=(
            "Baux glissants (CLT), y compris pour des ménages cumulant des difficultés "
            "psychologiques (validation CLU) ; intervention hors bail glissant si nécessaire pour "
            "les suivis renforcés."
        ),
    ),
    OrganisationSpec(
        name="ARIV",
        kind="operator",
        sectors=(SECTOR_DEPARTEMENT,),
        capacity=50,
        capacity_unit="year",
        address="Impasse des Fours Banaux square Mendès France 42400 SAINT CHAMOND",
        phone="04.77.31.77.67",
        email="ariv.servicessocial@worldonline.fr",
        description="Action spécifique, saisie directe : gens du voyage en voie de sédentarisation.",
    ),
    OrganisationSpec(
        name="ARALIS",
        kind="operator",
        sectors=("Saint Etienne Forez Sud",),
        capacity=34,
        capacity_unit="year",
        address="10, place F. Buisson 42100 SAINT ETIENNE",
        phone="04.77.49.00.77",
        email="beraudiere@aralis.org",
        description=(
            "Action spécifique, saisie directe : résidents des foyers ARALIS en capacité d'accéder "
            "à un logement autonome."
        ),
    ),
    # The seeds name neither the secretariat, the DVS nor a landlord: generic entries
    # for the demo data, to be renamed by the département admin.
    OrganisationSpec(
        name="Secrétariat de la CLU et des CLT",
        kind="commission_secretariat",
        sectors=(SECTOR_DEPARTEMENT,),
        description=(
            "Prépare les ordres du jour, enregistre les décisions, notifie les mesures aux "
            "associations et informe les bailleurs publics de leur attribution."
        ),
    ),
    OrganisationSpec(
        name="DVS – service social du Département",
        kind="prescriber",
        sectors=(SECTOR_DEPARTEMENT,),
        description=(
            "Service instructeur : repère et qualifie le besoin, établit le diagnostic préalable "
            "co-signé par le ménage et dépose la demande ; peut être saisi par la CLU ou la SDAPL."
        ),
    ),
    OrganisationSpec(
        name="Bailleur social (organisme HLM)",
        kind="landlord",
        sectors=(SECTOR_DEPARTEMENT,),
        description=(
            "Peut demander une mesure quand un suivi individualisé dépasse la gestion locative "
            "rapprochée ; informé de l'attribution, de la fin ou de l'interruption de la mesure."
        ),
    ),
)


@hookimpl
def asll_plugin_info():
    """Identity shown to the platform admin; the settings hold the budgets and AML dwellings reported."""
    return PluginInfo(
        name=NAME,
        label="ASLL Loire",
        departement_code="42",
        departement_name="Loire",
        name_with_article="de la Loire",
        description=(
            "Mesures individuelles décidées par la Commission Logement Unique, baux glissants par "
            "la Commission Logement Territorialisée et actions spécifiques confiées directement "
            "aux associations."
        ),
        settings_schema=settings.LoireSettingsSchema,  # the module below, imported by the time this runs
    )


@hookimpl
def asll_measure_types(tenant):
    """The Loire's measure types: individual ASLL, bail glissant, actions spécifiques."""
    return list(MEASURE_TYPES)


@hookimpl
def asll_commissions(tenant):
    """CLU and CLT decide; the FSL commission funds and may recommend a measure."""
    return list(COMMISSIONS)


@hookimpl
def asll_organisations(tenant):
    """The 2007 associations with their sectors and capacities, plus generic partners."""
    return list(ORGANISATIONS)


# -- rules, obligations, reports and demo (modules imported here, after the tables above) ----
from . import demo, reports, rules, settings  # noqa: E402
from .personal_data import asll_anonymise_personal_data, asll_personal_data  # noqa: E402,F401  (RGPD hooks)


@hookimpl
def asll_request_fields(tenant, measure_type):
    """Imprimé 42 + fiche ASLL (CLU), who instructs a bail glissant, the actions spécifiques' criteria."""
    return rules.request_fields(measure_type)


@hookimpl
def asll_transition_fields(tenant, measure, transition):
    """Short grant's particular case, reinforced follow-up, AML dwelling, deciding commission, landlord notice."""
    return rules.transition_fields(measure, transition)


@hookimpl
def asll_validate_transition(tenant, measure, transition, data):
    """The charter's refusals, and warnings on the operator's sector and capacities."""
    return rules.validate_transition(measure, transition, data)


@hookimpl
def asll_after_transition(tenant, measure, transition, data):
    """Re-interventions, AML dwellings, default hand-over to the instructing service, bilan's addressee."""
    rules.after_transition(measure, transition, data)


@hookimpl
def asll_obligations(tenant, measure):
    """Landlord informed of the grant and of the end, the measure's term, the signed bilan."""
    return rules.obligations(measure)


@hookimpl
def asll_statistics(tenant, year):
    """Follow-ups by nature, reinforced follow-ups, AML dwellings per mode and per association, budgets."""
    return reports.statistics(year, settings.budgets_of(tenant), settings.aml_declared(tenant))


@hookimpl
def asll_export_columns(tenant):
    """Who recommended the measure, who instructed a bail glissant, reinforced, re-intervention."""
    return reports.export_columns()


@hookimpl
def asll_demo_cases(tenant):
    """Requests and measures in every state, with the Loire's rules applied."""
    return demo.demo_cases()
