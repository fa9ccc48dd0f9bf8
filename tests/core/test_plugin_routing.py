"""Plugin pages answer only where the plugin is enabled; a plugin may route a request to its commission."""

import inspect
from pathlib import Path

import pytest
from flask import Blueprint

from asll.models import Role
from asll.plugins import hookspecs
from asll.services import plugins as plugin_service
from asll.services import requests
from asll.services.actor import Actor
from asll.services.errors import ServiceError
from asll.tenancy import tenant_context
from asll.toolkit import CommissionDef, CommissionRole, MeasureKind, MeasureTypeDef, PluginInfo, hookimpl
from tests.conftest import login
from tests.core.workflow_support import refused

TESTS = Path(__file__).resolve().parents[1]


class PagesPlugin:
    def __init__(self, route_to=None):
        self.route_to = route_to

    @hookimpl
    def asll_plugin_info(self):
        return PluginInfo(name="pages", label="Pages", departement_code="96", departement_name="Test")

    @hookimpl
    def asll_blueprints(self):
        bp = Blueprint("pages_plugin", __name__)
        bp.add_url_rule("/bonjour", "hello", lambda: "Bonjour du plugin")
        return [bp]

    @hookimpl
    def asll_measure_types(self, tenant):
        return [MeasureTypeDef("pages.acces", "Accès", MeasureKind.ACCES, 6, 6, commission="pages.commune",
                               requires_diagnostic=False)]

    @hookimpl
    def asll_commissions(self, tenant):
        return [CommissionDef("pages.commune", "Commission commune", CommissionRole.DECIDES, ("pages.acces",)),
                CommissionDef("pages.secteur_nord", "Commission du secteur nord", CommissionRole.DECIDES,
                              ("pages.acces",))]

    @hookimpl
    def asll_request_commission(self, tenant, request):
        return self.route_to


def test_a_plugin_page_answers_only_for_tenants_that_enabled_the_plugin(app_env, world):
    from asll.app import create_app

    plugin_app = create_app({"TESTING": True}, extra_plugins=[("pages", PagesPlugin())])
    with plugin_app.app_context():
        plugin_service.set_enabled(Actor.system(), world.loire.tenant.id, "pages", True)
    loire, orne = plugin_app.test_client(), plugin_app.test_client()
    login(loire, world.loire.users[Role.PRESCRIBER].email, world.password)
    login(orne, world.orne.users[Role.PRESCRIBER].email, world.password)
    assert loire.get("/p/pages/bonjour").get_data(as_text=True) == "Bonjour du plugin"
    assert orne.get("/p/pages/bonjour").status_code == 404


@pytest.fixture
def routing(app, app_ctx, world):
    plugin = PagesPlugin()
    app.extensions["asll_plugins"].register(plugin, "pages")
    plugin_service.set_enabled(Actor.system(), world.loire.tenant.id, "pages", True)
    yield plugin
    app.extensions["asll_plugins"].unregister("pages")
    plugin_service._forget_cache()


def _draft(world):
    prescriber = world.loire.actor(Role.PRESCRIBER)
    household = requests.create_household(prescriber, {"members": [{"last_name": "Roux", "first_name": "Ana"}]})
    return prescriber, requests.save_draft(prescriber, {
        "household_id": household.id, "measure_type": "pages.acces", "consent_given_by": "Ana Roux",
        "consent_date": "2026-02-01"})


def test_a_plugin_routes_a_request_to_another_of_its_commissions(world, routing):
    routing.route_to = "pages.secteur_nord"
    with tenant_context(world.loire.tenant.id):
        prescriber, draft = _draft(world)
        assert requests.submit(prescriber, draft.id).commission_code == "pages.secteur_nord"


def test_without_routing_the_commission_of_the_measure_type_examines(world, routing):
    with tenant_context(world.loire.tenant.id):
        prescriber, draft = _draft(world)
        assert requests.submit(prescriber, draft.id).commission_code == "pages.commune"


def test_routing_to_an_unknown_commission_is_refused_and_the_request_stays_a_draft(world, routing):
    routing.route_to = "pages.inconnue"
    with tenant_context(world.loire.tenant.id):
        prescriber, draft = _draft(world)
        exc = refused(ServiceError, requests.submit, prescriber, draft.id)  # the database is unchanged
        assert (exc.code, exc.message) == ("commission_inconnue",
                                           "Instance « pages.inconnue » inconnue dans ce département.")


def test_every_hookspec_has_a_test():
    specs = [name for name, _f in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("asll_")]
    sources = "\n".join(p.read_text() for p in TESTS.rglob("test_*.py") if p.name != "test_plugin_routing.py")
    sources += "\n".join(p.read_text() for pattern in ("*support*.py", "conftest.py") for p in TESTS.rglob(pattern))
    untested = [name for name in specs if name not in sources and name not in ("asll_blueprints",
                                                                               "asll_request_commission")]
    assert untested == []
