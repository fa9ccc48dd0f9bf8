"""The four département plugins declare what their seeds say, consistently.

The hooks are plain functions, so they are called directly with a ``TenantInfo``:
no Flask app, no database. Figures are checked against the French seeds in
``shared/seeds`` (000/003 Loire, 001 Orne, 002 Seine-Maritime, 004 Moselle).
"""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest
from marshmallow import ValidationError, validate
from marshmallow import fields as mf

import asll_loire.plugin as loire
import asll_moselle.plugin as moselle
import asll_orne.plugin as orne
import asll_seine_maritime.plugin as seine_maritime
from asll.domain.machine import TRANSITIONS
from asll.plugins.defaults import NATIONAL_SUPPORT_MEASURES
from asll.plugins.manager import PluginRegistry
from asll.toolkit import CommissionRole, MeasureKind, TenantInfo

PLUGINS = {
    "loire": (loire, "42", "Loire"),
    "orne": (orne, "61", "Orne"),
    "seine_maritime": (seine_maritime, "76", "Seine-Maritime"),
    "moselle": (moselle, "57", "Moselle"),
}
ORGANISATION_KINDS = {"prescriber", "operator", "landlord", "commission_secretariat", "dept_service"}
NATIONAL_CODES = {sm.code for sm in NATIONAL_SUPPORT_MEASURES}


def tenant(name: str) -> TenantInfo:
    return TenantInfo(id=1, code=name, name=PLUGINS[name][2])


def measure_types(name: str) -> dict:
    return {mt.code: mt for mt in PLUGINS[name][0].asll_measure_types(tenant=tenant(name))}


def commissions(name: str) -> dict:
    return {c.code: c for c in PLUGINS[name][0].asll_commissions(tenant=tenant(name))}


def organisations(name: str) -> dict:
    return {o.name: o for o in PLUGINS[name][0].asll_organisations(tenant=tenant(name))}


# -- every plugin -----------------------------------------------------------------------


@pytest.mark.parametrize("name", PLUGINS)
def test_identity(name):
    module, code, departement = PLUGINS[name]
    info = module.asll_plugin_info()
    assert (info.name, info.departement_code, info.departement_name) == (name, code, departement)
    assert info.label and info.description


def test_registry_accepts_the_four_plugins():
    registry = PluginRegistry(load_entry_points=False, plugins=[(n, p[0]) for n, p in PLUGINS.items()])
    assert registry.plugin_names == sorted(PLUGINS)


@pytest.mark.parametrize("name", PLUGINS)
def test_measure_type_codes_are_prefixed_and_unique(name):
    types = PLUGINS[name][0].asll_measure_types(tenant=tenant(name))
    codes = [mt.code for mt in types]
    assert len(codes) == len(set(codes))
    assert all(code.startswith(f"{name}.") for code in codes)
    assert all(mt.plugin == name for mt in types)


@pytest.mark.parametrize("name", PLUGINS)
def test_commission_codes_are_prefixed_and_unique(name):
    found = PLUGINS[name][0].asll_commissions(tenant=tenant(name))
    codes = [c.code for c in found]
    assert len(codes) == len(set(codes))
    assert all(code.startswith(f"{name}.") for code in codes)


@pytest.mark.parametrize("name", PLUGINS)
def test_deciding_commissions_exist_and_examine_their_types(name):
    types, known = measure_types(name), commissions(name)
    for mt in types.values():
        if mt.commission is not None:
            assert mt.commission in known, mt.code
            assert mt.code in known[mt.commission].examines, mt.code
    for commission in known.values():
        assert commission.examines, commission.code
        assert set(commission.examines) <= set(types), commission.code


@pytest.mark.parametrize("name", PLUGINS)
def test_incompatible_measures_are_known(name):
    own_hook = getattr(PLUGINS[name][0], "asll_support_measures", None)
    own = own_hook(tenant=tenant(name)) if own_hook else []
    known = NATIONAL_CODES | {sm.code for sm in own}
    for mt in measure_types(name).values():
        assert set(mt.incompatible_with) <= known, mt.code


@pytest.mark.parametrize("name", PLUGINS)
def test_durations_are_coherent(name):
    for mt in measure_types(name).values():
        assert 0 < mt.default_months <= mt.max_months, mt.code
        if mt.max_total_months is not None:
            longest = mt.max_months + mt.max_prolongations * (mt.prolongation_months or mt.max_months)
            assert mt.max_total_months <= longest, mt.code
            assert mt.max_total_months >= mt.max_months, mt.code


@pytest.mark.parametrize("name", PLUGINS)
def test_organisations_have_known_kinds_and_unique_names(name):
    found = PLUGINS[name][0].asll_organisations(tenant=tenant(name))
    assert len({o.name for o in found}) == len(found)
    assert {o.kind for o in found} <= ORGANISATION_KINDS
    assert {o.capacity_unit for o in found} <= {"month", "year"}
    assert {"operator", "commission_secretariat"} <= {o.kind for o in found}
    # Only secretariats serve commissions, and only the plugin's own commissions that sit in session.
    sitting = {code for code, c in commissions(name).items() if c.role is not CommissionRole.SINGLE_DECIDER}
    for organisation in found:
        assert not organisation.commissions or organisation.kind == "commission_secretariat", organisation.name
        assert set(organisation.commissions) <= sitting, organisation.name


def _form_fields(name: str):
    """Every extra field a plugin adds to a form: household, each request type, each transition."""
    module, tn = PLUGINS[name][0], tenant(name)
    settings = module.asll_plugin_info().settings_schema
    if settings is not None:
        yield "paramètres", settings().fields
    if hasattr(module, "asll_household_fields"):
        yield "ménage", module.asll_household_fields(tenant=tn) or {}
    for mt in module.asll_measure_types(tenant=tn):
        if hasattr(module, "asll_request_fields"):
            yield f"demande {mt.code}", module.asll_request_fields(tenant=tn, measure_type=mt.code) or {}
        if hasattr(module, "asll_transition_fields"):
            for prolongations in (0, 1, 2):
                measure = SimpleNamespace(id=1, household_id=1, operator_id=None, measure_type=mt.code,
                                          kind=mt.kind, status=None, extra={}, prolongation_count=prolongations)
                for transition in (*TRANSITIONS, "grant"):
                    found = module.asll_transition_fields(tenant=tn, measure=measure, transition=transition)
                    yield f"{transition} {mt.code}", found or {}


def _with_nested(found: dict, prefix: str = ""):
    """The fields and, for a nested object or a list of them, its own fields (``parent.child``)."""
    for field_name, f in found.items():
        yield f"{prefix}{field_name}", f
        inner = f.inner if isinstance(f, mf.List) else f
        if isinstance(inner, mf.Nested):
            yield from _with_nested(inner.schema.fields, f"{prefix}{field_name}.")


def _one_of(f):
    inner = f.inner if isinstance(f, mf.List) else (f.value_field if isinstance(f, mf.Dict) else f)
    return next((v for v in getattr(inner, "validators", ()) if isinstance(v, validate.OneOf)), None)


@pytest.mark.parametrize("name", PLUGINS)
def test_every_form_field_has_a_french_label_and_labelled_choices(name):
    """A social worker reads "Imprimé 42 joint", not "imprime_42", and "Bailleur", not "bailleur"."""
    missing, checked = set(), 0
    for form, found in _form_fields(name):
        for field_name, f in _with_nested(found):
            checked += 1
            metadata = f.metadata or {}
            if not metadata.get("label"):
                missing.add(f"{form}: {field_name} sans libellé")
            one_of = _one_of(f)
            if one_of is not None:
                labels = dict(zip(one_of.choices, one_of.labels or (), strict=False))
                labels.update(metadata.get("choice_labels") or {})
                unlabelled = [c for c in one_of.choices if c != "" and not labels.get(c)]
                if unlabelled:
                    missing.add(f"{form}: {field_name} choix sans libellé {unlabelled}")
    assert checked >= 5, f"only {checked} fields found: a form hook was renamed or no longer answers"
    assert not missing, "\n".join(sorted(missing))

# -- Loire (seeds 000 and 003) ------------------------------------------------------------


def test_loire_measure_types_and_their_commissions():
    types = measure_types("loire")
    assert {code: mt.commission for code, mt in types.items()} == {
        "loire.acces": "loire.clu",
        "loire.maintien": "loire.clu",
        "loire.diagnostic": "loire.clu",
        "loire.bail_glissant": "loire.clt",
        "loire.action_specifique_ariv": None,
        "loire.action_specifique_aralis": None,
    }
    assert types["loire.bail_glissant"].kind is MeasureKind.BAIL_GLISSANT
    assert types["loire.action_specifique_ariv"].kind is MeasureKind.SPECIFIQUE


def test_loire_charter_durations():
    # "en général 6 mois et peut être exceptionnellement reconduite une fois"
    for mt in measure_types("loire").values():
        assert (mt.default_months, mt.max_months, mt.max_prolongations) == (6, 6, 1), mt.code
        assert mt.max_total_months == 12, mt.code


def test_loire_charter_non_cumulation():
    for mt in measure_types("loire").values():
        assert set(mt.incompatible_with) == {"TPF", "PROTECTION_MAJEUR", "SUIVI_RSA", "AEMO"}, mt.code


def test_loire_commissions():
    found = commissions("loire")
    assert found["loire.clu"].role is CommissionRole.DECIDES
    assert found["loire.clt"].role is CommissionRole.DECIDES
    assert "DDASS" in found["loire.clt"].description
    assert "État" in found["loire.fsl"].description and "Département" in found["loire.fsl"].description


def test_loire_operator_capacities_as_in_the_2007_table():
    operators = {n: o for n, o in organisations("loire").items() if o.kind == "operator"}
    assert {n: (o.capacity, o.capacity_unit, o.reinforced_capacity) for n, o in operators.items()} == {
        "AGASEF": (30, "month", None),
        "ADSEA 42 – SIESI Plaines et Vallées": (28, "month", 4),
        "ADSEA 42 – SIESI Roanne": (12, "month", 2),
        "Entraide Pierre Valdo": (15, "month", None),
        "CALL-PACT St Etienne": (60, "year", None),
        "CAL-PACT Roanne": (7, "month", None),
        "RENAITRE": (8, "month", None),
        "ANEF": (50, "month", 13),
        "ARIV": (50, "year", None),
        "ARALIS": (34, "year", None),
    }


def test_loire_operator_sectors_and_contacts():
    found = organisations("loire")
    assert found["AGASEF"].sectors == ("St Etienne Gier/Pilat", "Ondaine")
    assert found["ANEF"].sectors == ("St Etienne Gier/Pilat", "Ondaine", "Forez")
    assert found["CALL-PACT St Etienne"].sectors == ("Loire sauf Roanne",)
    assert found["CAL-PACT Roanne"].sectors == ("Roanne",)
    assert found["ARALIS"].sectors == ("Saint Etienne Forez Sud",)
    assert found["ARIV"].sectors == ("Département",)
    assert found["AGASEF"].email == "agasef@wanadoo.fr"
    assert found["ADSEA 42 – SIESI Roanne"].address == "13, rue Beaulieu 42300 ROANNE"
    assert found["ARIV"].phone == "04.77.31.77.67"
    assert {o.kind for o in found.values()} == ORGANISATION_KINDS - {"dept_service"}


# -- Orne (seed 001) ------------------------------------------------------------------------


def test_orne_settings_defaults():
    info = orne.asll_plugin_info()
    settings = info.settings_schema().load({})
    assert settings["agreement_measures"] == 127
    assert settings["agreement_month_measures"] == 762
    assert len(settings["validation_modes"]) == 4
    assert set(settings["validation_modes"].values()) <= {"responsable", "commission"}
    # a loaded default is a fresh dict, not the module's
    settings["validation_modes"]["Flers"] = "commission"
    assert info.settings_schema().load({})["validation_modes"]["Flers"] == "responsable"


def test_orne_settings_refuse_an_unknown_mode():
    with pytest.raises(ValidationError):
        orne.OrneSettingsSchema().load({"validation_modes": {"Flers": "vote"}})


def test_orne_validation_modes_map_to_its_commissions():
    found = commissions("orne")
    assert found[orne.COMMISSION_BY_MODE["responsable"]].role is CommissionRole.SINGLE_DECIDER
    monthly = found[orne.COMMISSION_BY_MODE["commission"]]
    assert (monthly.role, monthly.rhythm) == (CommissionRole.DECIDES, "mensuelle")


def test_orne_duration_matches_the_agreement():
    # 127 measures = 762 mois-mesures
    for mt in measure_types("orne").values():
        assert mt.default_months * 127 == 762, mt.code


def test_orne_external_capacities_and_circonscriptions():
    found = organisations("orne")
    # the circonscriptions run the internal measures: one ASLL worker each, a portfolio of 35
    circonscriptions = [o for o in found.values() if o.name.startswith("Circonscription d'action sociale")]
    assert len(circonscriptions) == 4
    assert {o.kind for o in circonscriptions} == {"operator"}
    assert {o.sectors[0] for o in circonscriptions} == set(orne.DEFAULT_VALIDATION_MODES)
    assert all((o.capacity, o.capacity_unit) == (35, "month") for o in circonscriptions)
    # the agreed structures share the agreement's 127 measures a year
    external = {o.capacity for o in found.values() if o.kind == "operator" and o not in circonscriptions}
    assert external == {113, 14} and sum(external) == 127
    assert all(o.capacity_unit == "year" for o in found.values() if o.capacity in (113, 14))
    # the heads of circonscription, who validate, belong to the département's service
    assert [o.kind for o in found.values() if o.kind == "dept_service"] == ["dept_service"]


# -- Seine-Maritime (seed 002) ------------------------------------------------------------


def test_seine_maritime_asll_durations():
    types = measure_types("seine_maritime")
    for code in ("seine_maritime.acces", "seine_maritime.maintien"):
        mt = types[code]
        assert (mt.default_months, mt.max_months) == (6, 6)
        assert (mt.max_prolongations, mt.prolongation_months) == (2, 6)
        assert mt.max_total_months == 18
        assert mt.commission == "seine_maritime.commission_locale"


def test_seine_maritime_ccapex_diagnostic():
    mt = measure_types("seine_maritime")["seine_maritime.diagnostic_ccapex"]
    assert mt.kind is MeasureKind.DIAGNOSTIC
    assert (mt.default_months, mt.max_months) == (2, 2)
    assert (mt.max_prolongations, mt.prolongation_months) == (1, 4)
    assert commissions("seine_maritime")[mt.commission].role is CommissionRole.SINGLE_DECIDER


def test_seine_maritime_commission_locale_gives_a_binding_opinion():
    locale = commissions("seine_maritime")["seine_maritime.commission_locale"]
    assert locale.role is CommissionRole.BINDING_OPINION
    assert set(locale.examines) == {"seine_maritime.acces", "seine_maritime.maintien"}


def test_seine_maritime_does_not_cumulate_with_any_other_support_measure():
    for mt in measure_types("seine_maritime").values():
        assert set(mt.incompatible_with) == NATIONAL_CODES, mt.code


def test_seine_maritime_sls_contact():
    sls = organisations("seine_maritime")["Service logement et solidarités (SLS)"]
    assert sls.kind == "dept_service"
    assert (sls.phone, sls.email) == ("02.35.03.55.55", "logement@seinemaritime.fr")
    assert "76101 Rouen cedex" in sls.address


# -- Moselle (seed 004) ---------------------------------------------------------------------


def test_moselle_non_cumulation():
    types = measure_types("moselle")
    for code in ("moselle.acces", "moselle.maintien"):
        assert set(types[code].incompatible_with) == {"MASP", "MAESF", "MAJ", "MJAGBF"}
        assert types[code].requires_diagnostic


def test_moselle_commissions():
    found = commissions("moselle")
    assert found["moselle.situations_atypiques"].role is CommissionRole.ADVISES
    assert "DDCS" in found["moselle.situations_atypiques"].description
    assert found["moselle.sous_location"].examines == ("moselle.bail_glissant",)
    assert found["moselle.situations_atypiques"].examines == ("moselle.situation_atypique",)


def test_moselle_plan_actions_outside_the_asll():
    types = measure_types("moselle")
    atypical, prevention = types["moselle.situation_atypique"], types["moselle.prevention_impayes"]
    assert (atypical.kind, atypical.commission) == (MeasureKind.SPECIFIQUE, "moselle.situations_atypiques")
    # Action 12: act from the first unpaid rent, before any diagnostic.
    assert (prevention.kind, prevention.commission, prevention.requires_diagnostic) == (
        MeasureKind.AUTRE, "moselle.departement", False)
    assert atypical.incompatible_with == prevention.incompatible_with == ()


def test_moselle_settings_and_aide_recherche_ceiling():
    settings = moselle.asll_plugin_info().settings_schema().load({})
    assert settings["smic_net_monthly"] == pytest.approx(1443.11)
    # 2/3 of the net SMIC, rounded to the cent
    assert moselle.aide_recherche_ceiling(settings["smic_net_monthly"]) == Decimal("962.07")
    assert moselle.aide_recherche_ceiling(1500) == Decimal("1000.00")
    with pytest.raises(ValidationError):
        moselle.MoselleSettingsSchema().load({"smic_net_monthly": 0})


def test_moselle_bodies_from_the_seed():
    names = set(organisations("moselle"))
    assert {"SIAO 57", "CAF de la Moselle", "DDCS de la Moselle"} <= names
