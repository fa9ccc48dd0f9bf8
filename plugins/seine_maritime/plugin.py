"""Seine-Maritime (76): the 2021 ASLL référentiel, the most precise rules of the four.

Source: "Référentiel accompagnement social lié au logement" approved on 20/09/2021
(seed 002). The commission locale ASLL gives a binding opinion (avis conforme) and the
President of the département grants; the CCAPEX may trigger a 2-month diagnostic.

This module declares what the référentiel names (measure types, commissions, partners) and
wires the hooks; the rules live next to it: ``fields`` (extra fields of requests and
transitions: requester, SLS and commission opinions, derogations, the diagnostic's letter),
``rules`` (refusals and warnings, with the derogations of §2.4.4), ``periods`` (every
deadline in calendar months), ``obligations`` (dated duties the core reminds),
``statistics`` (CCAPEX diagnostics, quarterly follow-up committees per operator) and
``demo`` (one household per rule). The diagnostic's 4-month continuation (§3.3) is its
single prolongation of 4 months, validated by the SLS.
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

from . import demo, fields, obligations, rules, statistics
from .codes import (  # noqa: F401  (re-exported: the plugin's public codes)
    ACCES,
    ASLL_TYPES,
    CCAPEX,
    COMMISSION_LOCALE,
    DIAGNOSTIC_CCAPEX,
    MAINTIEN,
    NAME,
    OWN_TYPES,
    SLS,
)

# "L'ASLL n'est, en principe, pas cumulable avec d'autres mesures d'accompagnement
# judiciaires ou administratives": every national support measure, AVDL included
# (households leaving a CHRS or CADA go to the State's AVDL instead).
NON_CUMULATION = (
    "MASP",
    "MAESF",
    "MAJ",
    "MJAGBF",
    "TPF",
    "PROTECTION_MAJEUR",
    "SUIVI_RSA",
    "AEMO",
    "AVDL",
)

# §2.2.1: at most 6 months; a 1st prolongation of 6 months on the SLS's opinion; an
# exceptional 2nd one on the commission locale's opinion; never above 18 months.
_ASLL_DURATION = dict(
    default_months=6,
    max_months=6,
    max_prolongations=2,
    prolongation_months=6,
    max_total_months=18,
)
_ASLL_NOTE = (
    "Accordée pour 6 mois au plus par le Président du Département sur avis conforme de la "
    "commission locale ASLL ; 1re prolongation de 6 mois sur avis du service logement et "
    "solidarités, 2e prolongation exceptionnelle sur avis de la commission locale, demandées au "
    "plus tard un mois avant la fin ; 18 mois au total au maximum."
)

MEASURE_TYPES = (
    MeasureTypeDef(
        code=ACCES,
        label="ASLL accès au logement",
        kind=MeasureKind.ACCES,
        commission=COMMISSION_LOCALE,
        incompatible_with=NON_CUMULATION,
        description=(
            _ASLL_NOTE + " Les ménages sortant de CHRS ou de CADA qui accèdent à un logement "
            "relèvent de l'AVDL de l'État."
        ),
        plugin=NAME,
        **_ASLL_DURATION,
    ),
    MeasureTypeDef(
        code=MAINTIEN,
        label="ASLL maintien dans le logement",
        kind=MeasureKind.MAINTIEN,
        commission=COMMISSION_LOCALE,
        incompatible_with=NON_CUMULATION,
        description=_ASLL_NOTE,
        plugin=NAME,
        **_ASLL_DURATION,
    ),
    # §3: 2 months from the letter to the association; if the household wants the ASLL
    # to go on, the SLS validates 4 more months at once (one continuation, 6 in all).
    # It is itself the "aller-vers" diagnostic, so no prior diagnostic is required.
    MeasureTypeDef(
        code=DIAGNOSTIC_CCAPEX,
        label="Diagnostic ASLL (aller-vers, à l'initiative de la CCAPEX)",
        kind=MeasureKind.DIAGNOSTIC,
        default_months=2,
        max_months=2,
        max_prolongations=1,
        prolongation_months=4,
        max_total_months=6,
        commission=SLS,
        incompatible_with=NON_CUMULATION,
        requires_diagnostic=False,
        description=(
            "Demandé par le Département à l'initiative de la CCAPEX ; 2 mois à compter du courrier "
            "adressé à l'association ; bilan dans le mois, au plus tard la veille du réexamen en "
            "CPEX ; poursuite de 4 mois validée sans délai par le service logement et solidarités "
            "si le ménage le souhaite, la commission locale en est informée."
        ),
        plugin=NAME,
    ),
)

# The référentiel gives no meeting rhythm for these bodies, so ``rhythm`` stays empty.
COMMISSIONS = (
    CommissionDef(
        code=COMMISSION_LOCALE,
        label="Commission locale ASLL",
        role=CommissionRole.BINDING_OPINION,
        examines=(ACCES, MAINTIEN),
        description=(
            "Étudie les demandes et rend un avis conforme ; la mesure est accordée par le Président "
            "du Département ou son représentant, à la date de la commission. Consultée sur la 1re "
            "prolongation si l'avis du service logement et solidarités est négatif, sur toute 2e "
            "prolongation et sur les dérogations au référentiel."
        ),
        plugin=NAME,
    ),
    CommissionDef(
        code=SLS,
        label="Service logement et solidarités (décision du Département)",
        role=CommissionRole.SINGLE_DECIDER,
        examines=(DIAGNOSTIC_CCAPEX,),
        description=(
            "Ordonne le diagnostic ASLL à l'initiative de la CCAPEX et en valide sans délai la "
            "poursuite de 4 mois ; donne son avis sur les 1res prolongations, suspensions, "
            "séparations et transferts."
        ),
        plugin=NAME,
    ),
    CommissionDef(
        code=CCAPEX,
        label="Commission de coordination des actions de prévention des expulsions (CCAPEX)",
        role=CommissionRole.ADVISES,
        examines=(DIAGNOSTIC_CCAPEX,),
        description=(
            "Propose un diagnostic ASLL quand l'examen en CPEX fait ressortir des indices de "
            "vulnérabilité ou que le ménage ne répond ni aux travailleurs sociaux ni à son bailleur."
        ),
        plugin=NAME,
    ),
)

_SLS_ADDRESS = "Hôtel du Département, Quai Jean Moulin, CS 56101, 76101 Rouen cedex"

# Only the SLS is named by the seed. The operators (selected by a call for projects),
# the public landlord, the medico-social prescriber and the secretariats are generic
# entries for the demo data, to be renamed by the département admin.
ORGANISATIONS = (
    OrganisationSpec(
        name="Service logement et solidarités (SLS)",
        kind="dept_service",
        address=_SLS_ADDRESS,
        phone="02.35.03.55.55",
        email="logement@seinemaritime.fr",
        description=(
            "Direction de l'Aménagement, de l'Habitat et du Logement : avis sur les prolongations, "
            "suspensions et transferts, réception des contrats et bilans, comités de suivi "
            "trimestriels avec les organismes."
        ),
    ),
    OrganisationSpec(
        name="Secrétariat de la commission locale ASLL",
        kind="commission_secretariat",
        description="Ordres du jour, avis de la commission locale ASLL et notifications des décisions.",
        commissions=(COMMISSION_LOCALE,),
    ),
    OrganisationSpec(
        name="Secrétariat de la CCAPEX",
        kind="commission_secretariat",
        description="Transmet au Département les demandes de diagnostic ASLL décidées après examen en CPEX.",
        commissions=(CCAPEX,),
    ),
    OrganisationSpec(
        name="Association d'accompagnement ASLL – secteur de Rouen (exemple)",
        kind="operator",
        sectors=("Rouen",),
        description="Organisme sélectionné par appel à projets ; entretiens à domicile deux fois par mois.",
    ),
    OrganisationSpec(
        name="Association d'accompagnement ASLL – secteur du Havre (exemple)",
        kind="operator",
        sectors=("Le Havre",),
        description="Organisme sélectionné par appel à projets ; entretiens à domicile deux fois par mois.",
    ),
    OrganisationSpec(
        name="Bailleur public (exemple)",
        kind="landlord",
        description=(
            "Peut formuler une demande ; informé de la demande avec l'accord du ménage et de la "
            "décision."
        ),
    ),
    OrganisationSpec(
        name="Centre médico-social du Département (exemple)",
        kind="prescriber",
        description=(
            "Professionnel d'un organisme médico-social formulant la demande avec un diagnostic "
            "social."
        ),
    ),
)


@hookimpl
def asll_plugin_info():
    """Identity shown to the platform admin; the référentiel leaves nothing to a setting."""
    return PluginInfo(
        name=NAME,
        label="ASLL Seine-Maritime",
        departement_code="76",
        departement_name="Seine-Maritime",
        name_with_article="de la Seine-Maritime",
        description=(
            "Référentiel ASLL de 2021 : avis conforme de la commission locale ASLL, mesures de 6 "
            "mois prolongeables jusqu'à 18 mois et diagnostic ASLL à l'initiative de la CCAPEX."
        ),
        settings_schema=None,
    )


@hookimpl
def asll_measure_types(tenant):
    """Accès and maintien through the commission locale, and the CCAPEX diagnostic."""
    return list(MEASURE_TYPES)


@hookimpl
def asll_commissions(tenant):
    """The commission locale (avis conforme), the SLS and the CCAPEX."""
    return list(COMMISSIONS)


@hookimpl
def asll_organisations(tenant):
    """The SLS from the référentiel and generic partners for the demo data."""
    return list(ORGANISATIONS)


# -- the référentiel's rules, through the plugin contract ----------------------------------------
@hookimpl
def asll_request_fields(tenant, measure_type):
    """§2.1.1: who asks (medico-social body or public landlord), CHRS/CADA exit, landlord informed with
    consent, separation; §3.2: the CCAPEX's examination for the diagnostic."""
    return fields.request_fields(measure_type)


@hookimpl
def asll_transition_fields(tenant, measure, transition):
    """Opinions of the SLS and the commission locale, derogations, the diagnostic's letter and bilan."""
    return fields.transition_fields(measure, transition)


@hookimpl
def asll_validate_transition(tenant, measure, transition, data):
    """Every rule of the référentiel, see :mod:`asll_seine_maritime.rules`."""
    return rules.validate(measure, transition, data)


@hookimpl
def asll_after_transition(tenant, measure, transition, data):
    """§2.1.2: an ASLL measure is granted by the President on the commission locale's binding opinion,
    on the commission's date: recorded on the measure for its letters and exports (with a derogation
    granted at the decision, §2.4.4)."""
    if transition != "grant" or measure.measure_type not in OWN_TYPES:
        return
    extra = dict(measure.extra or {})
    if measure.measure_type in ASLL_TYPES and measure.decision_date:
        extra.update(avis_conforme_commission_locale=measure.decision_date.isoformat(),
                     accordee_par="Président du Conseil départemental (ou son représentant)")
    if extra.get("derogation"):  # kept apart: later transitions' derogations replace "derogation"
        extra["derogation_decision"] = extra["derogation"]
    measure.extra = extra


@hookimpl
def asll_obligations(tenant, measure):
    """Start, contract, action plan, suspension, hand-over and bilan deadlines, in calendar months."""
    return obligations.obligations(measure)


@hookimpl
def asll_statistics(tenant, year):
    """CCAPEX diagnostics, quarterly follow-up committee figures per operator, prolongations and derogations."""
    return statistics.tables(year)


def _request_extra(measure) -> dict:
    return dict((measure.request.extra if measure.request is not None else None) or {})


@hookimpl
def asll_export_columns(tenant):
    """Who asked for the measure, the commission locale's binding opinion and the CCAPEX's reason."""
    return [
        ExportColumn("seine_maritime_demandeur", "Demandeur (référentiel 76)",
                     lambda m: fields.REQUESTERS.get(_request_extra(m).get("demandeur"), "")),
        ExportColumn("seine_maritime_avis_conforme", "Avis conforme de la commission locale ASLL",
                     lambda m: (m.extra or {}).get("avis_conforme_commission_locale", "")),
        ExportColumn("seine_maritime_motif_ccapex", "Motif du diagnostic CCAPEX",
                     lambda m: fields.CCAPEX_REASONS.get(_request_extra(m).get("motif_ccapex"), "")),
    ]


@hookimpl
def asll_demo_cases(tenant):
    """One household per rule of the référentiel, see :mod:`asll_seine_maritime.demo`."""
    return demo.cases(tenant)
