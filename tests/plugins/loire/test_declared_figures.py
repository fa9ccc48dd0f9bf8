"""What the Loire's associations report each year (seed 000) and the département admin
enters: the ASLL and AML budgets, and the AML dwellings not tied to a measure here. Both
show in the activity report; declared dwellings add to those recorded on measures."""

from __future__ import annotations

import pytest

from asll.models import Role
from asll.services import plugins as plugin_service
from asll.services import statistics
from asll.services.errors import ValidationFailed
from tests.conftest import csrf_token, login
from tests.plugins.loire.support import started
from tests.web.conftest import page, text

# The PDALD leaflet's figures (seed 000), as the département admin enters them.
SEED = [{"annee": 2002, "asll_keur": 456, "aml_keur": None}, {"annee": 2003, "asll_keur": 518, "aml_keur": 219},
        {"annee": 2004, "asll_keur": 416, "aml_keur": 223}, {"annee": 2005, "asll_keur": 428, "aml_keur": 220},
        {"annee": 2006, "asll_keur": 414, "aml_keur": 233}]
SEED_AML = [{"annee": 2005, "mandat_gestion": 478, "bail_glissant": 117},
            {"annee": 2006, "mandat_gestion": 504, "bail_glissant": 112}]


def _budgets(actor, year):
    return statistics.table(statistics.tables_for(actor, year), "loire.budgets")


def _tables(actor, year) -> dict:
    return {t.key: t for t in statistics.tables_for(actor, year)}


def test_the_leaflet_budgets_come_out_of_the_report_and_the_admin_adds_a_year(env, world):
    admin = world.loire.actor(Role.DEPT_ADMIN)
    assert _budgets(admin, 2006).rows == ()  # nothing entered: nothing shown, no figures made up
    assert "Aucun budget déclaré de 2002 à 2006" in _budgets(admin, 2006).note
    plugin_service.update_settings(admin, "loire", {"budgets": SEED})
    table = _budgets(admin, 2006)
    assert table.columns == ("Année", "ASLL (k€)", "AML (k€)")
    assert table.rows == (("2002", 456, "—"), ("2003", 518, 219), ("2004", 416, 223), ("2005", 428, 220),
                          ("2006", 414, 233))
    assert [r[0] for r in _budgets(admin, 2004).rows] == ["2002", "2003", "2004"]  # nothing after the year

    plugin_service.update_settings(admin, "loire", {"budgets": [*SEED, {"annee": 2026, "asll_keur": 430,
                                                                        "aml_keur": 240}]})
    assert _budgets(admin, 2026).rows == (("2026", 430, 240),)  # the five years up to the report's only
    assert [r[0] for r in _budgets(admin, 2008).rows] == ["2004", "2005", "2006"]
    assert _budgets(admin, 2020).rows == ()


@pytest.mark.parametrize(("setting", "rows", "errors"), [
    ("budgets", [*SEED, {"annee": 2006, "asll_keur": 1}],
     {"budgets": ["Une seule ligne par année : 2006 figure plusieurs fois."]}),
    ("budgets", [*SEED, *SEED[:2]], {"budgets": ["Une seule ligne par année : 2002, 2003 figurent plusieurs fois."]}),
    ("budgets", [{"annee": 2026, "asll_keur": -3}], {"budgets": {0: {"asll_keur": [
        "Montant en milliers d'euros : un nombre entier positif ou nul."]}}}),
    ("budgets", [{"annee": 2026}], {"budgets": {0: {"asll_keur": ["Indiquez le budget ASLL de l'année."]}}}),
    ("budgets", [{"annee": 26, "asll_keur": 400}], {"budgets": {0: {"annee": ["Année invalide (entre 1990 et 2100)."]}}}),
    ("aml_declarations", [{"annee": 2026, "association": "AGASEF", "mandat_gestion": 1},
                          {"annee": 2026, "association": "agasef ", "mandat_gestion": 2}],
     {"aml_declarations": ["Une seule ligne par année et par association : 2026 – agasef figure plusieurs fois."]}),
    ("aml_declarations", [{"annee": 2026, "mandat_gestion": -1}], {"aml_declarations": {0: {"mandat_gestion": [
        "Nombre de logements : un nombre entier positif ou nul."]}}}),
    ("aml_declarations", [{"annee": 2026, "mandat_gestion": 30},
                          {"annee": 2026, "association": "AGASEF", "mandat_gestion": 2}],
     {"aml_declarations": ["2026 : une ligne sans association couvre déjà toutes les associations ; supprimez-la "
                           "ou supprimez les lignes par association, pour ne pas compter les logements deux fois."]}),
])
def test_wrong_figures_are_refused_in_french_and_nothing_changes(env, world, setting, rows, errors):
    admin = world.loire.actor(Role.DEPT_ADMIN)
    saved = plugin_service.update_settings(admin, "loire", {"budgets": SEED, "aml_declarations": SEED_AML})
    with pytest.raises(ValidationFailed) as refused:
        plugin_service.update_settings(admin, "loire", {"budgets": SEED, "aml_declarations": SEED_AML, setting: rows})
    assert refused.value.fields == errors
    assert plugin_service.tenant_info(world.loire.tenant.id).settings_for("loire") == saved


def test_the_admin_enters_a_year_on_the_settings_page(app, world):
    client = app.test_client()
    assert login(client, world.loire.users[Role.DEPT_ADMIN].email, world.password).status_code == 302
    shown = client.get("/administration/parametres")
    form = page(shown)
    form.assert_labelled()
    assert "Budgets annuels ASLL et AML" in text(shown)
    data = {"csrf_token": csrf_token(form.html), "plugin": "loire"}
    for index, row in enumerate([*SEED, {"annee": 2026, "asll_keur": 430, "aml_keur": None}]):
        for key, value in row.items():
            data[f"loire.budgets.{index}.{key}"] = "" if value is None else str(value)
    refused = client.post("/administration/parametres", data={**data, "loire.budgets.5.asll_keur": "beaucoup"})
    assert refused.status_code == 422
    assert "Montant en milliers d&#39;euros : un nombre entier positif ou nul." in text(refused)
    saved = client.post("/administration/parametres", data=data, follow_redirects=True)
    assert saved.status_code == 200
    with app.app_context():
        stored = plugin_service.tenant_info(world.loire.tenant.id).settings_for("loire")["budgets"]
    assert stored[-1] == {"annee": 2026, "asll_keur": 430, "aml_keur": None} and len(stored) == 6
    # Every row emptied: the budgets are cleared, not replaced by anything.
    cleared = {key: ("" if key.startswith("loire.budgets.") else value) for key, value in data.items()}
    assert client.post("/administration/parametres", data=cleared).status_code == 302
    with app.app_context():
        assert plugin_service.tenant_info(world.loire.tenant.id).settings_for("loire")["budgets"] == []


def test_the_leaflet_aml_dwellings_and_declarations_added_to_measures(env, world):
    admin = world.loire.actor(Role.DEPT_ADMIN)
    plugin_service.update_settings(admin, "loire", {"aml_declarations": SEED_AML})  # no association named
    tables = _tables(admin, 2006)  # the leaflet: mandat de gestion 478 / 504, bail glissant 117 / 112
    assert tables["loire.aml"].rows == (("Mandat de gestion", 478, 504), ("Bail glissant", 117, 112),
                                        ("Total aide à la médiation locative", 595, 616))
    assert tables["loire.aml_associations"].rows == (("Toutes associations (déclaré)", 504, 112),)

    started(env, start="2026-03-20", start_extra={"logement_mandat_gestion": True})  # AGASEF, on a measure
    plugin_service.update_settings(admin, "loire", {"aml_declarations": [
        {"annee": 2026, "association": "agasef", "mandat_gestion": 40, "bail_glissant": 0},  # case aside
        {"annee": 2026, "association": "CALL-PACT St Etienne", "bail_glissant": 12}]})
    tables = _tables(admin, 2026)
    assert tables["loire.aml"].rows == (("Mandat de gestion", 0, 41), ("Bail glissant", 0, 12),
                                        ("Total aide à la médiation locative", 0, 53))
    assert tables["loire.aml_associations"].rows == (("AGASEF", 41, 0), ("CALL-PACT St Etienne", 0, 12))
