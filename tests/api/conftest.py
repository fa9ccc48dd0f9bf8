"""Fixtures of the API tests: personal tokens and a JSON client (the fixed clock is tests/conftest.py's)."""

from __future__ import annotations

from contextlib import contextmanager

import pytest

from asll.extensions import db
from asll.plugins.contract import CommissionDef, CommissionRole, MeasureKind, MeasureTypeDef, PluginInfo
from asll.services import api_tokens
from asll.services import plugins as plugin_service
from asll.services.actor import Actor
from asll.toolkit import hookimpl

PREFIX = "/api/v1"


class ApiClient:
    """The test client speaking JSON to /api/v1 with a bearer token (or none)."""

    def __init__(self, client, token: str | None = None, headers: dict | None = None):
        self.client = client
        self.headers = dict(headers or {})
        if token is not None:
            self.headers["Authorization"] = f"Bearer {token}"

    def open(self, method: str, path: str, json=None, **kwargs):
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.client.open(PREFIX + path, method=method, json=json, headers=headers, **kwargs)

    def get(self, path, **kwargs):
        return self.open("GET", path, **kwargs)

    def post(self, path, json=None, **kwargs):
        return self.open("POST", path, json=json, **kwargs)

    def patch(self, path, json=None, **kwargs):
        return self.open("PATCH", path, json=json, **kwargs)

    def delete(self, path, **kwargs):
        return self.open("DELETE", path, **kwargs)


@pytest.fixture
def issue_token(app, world):
    """``issue_token(world.loire, Role.PRESCRIBER)`` → a fresh secret for that user and tenant."""

    def issue(tenant_world, role, label: str = "tests de l'API") -> str:
        with app.app_context():
            _token, secret = api_tokens.create_token(tenant_world.actor(role), {"label": label})
            db.session.remove()
        return secret

    return issue


@pytest.fixture
def api_as(client, issue_token):
    """``api_as(world.loire, Role.PRESCRIBER)`` → an :class:`ApiClient` with that user's token."""

    def make(tenant_world, role) -> ApiClient:
        return ApiClient(client, issue_token(tenant_world, role))

    return make


class ApiTestPlugin:
    """A département plugin of the tests: one measure type decided by one commission, no rules.

    The API tests exercise the API, not a département's rules: those evolve with the
    département plugins and are tested with them.
    """

    NAME = "apitest"
    ACCES = "apitest.acces"
    COMMISSION = "apitest.commission"

    @hookimpl
    def asll_plugin_info(self):
        return PluginInfo(name=self.NAME, label="Circuit de test de l'API", departement_code="98",
                          departement_name="Test")

    @hookimpl
    def asll_measure_types(self, tenant):
        return [MeasureTypeDef(code=self.ACCES, label="Accès (test de l'API)", kind=MeasureKind.ACCES,
                               default_months=6, max_months=6, commission=self.COMMISSION)]

    @hookimpl
    def asll_commissions(self, tenant):
        return [CommissionDef(code=self.COMMISSION, label="Commission de test", role=CommissionRole.DECIDES,
                              examines=(self.ACCES,))]


@contextmanager
def plugin_enabled(app, tenant_id: int):
    """Register :class:`ApiTestPlugin` and enable it for a tenant, for the block."""
    registry = app.extensions["asll_plugins"]
    plugin = ApiTestPlugin()
    registry.register(plugin, ApiTestPlugin.NAME)
    try:
        with app.app_context():
            plugin_service.set_enabled(Actor.system(), tenant_id, ApiTestPlugin.NAME, True)
            db.session.remove()
        yield plugin
    finally:
        registry.unregister(ApiTestPlugin.NAME)
        with app.app_context():
            plugin_service._forget_cache()


@pytest.fixture
def test_plugin(app, world):
    """:class:`ApiTestPlugin`, enabled for the Loire for one test."""
    with plugin_enabled(app, world.loire.tenant.id) as plugin:
        yield plugin
