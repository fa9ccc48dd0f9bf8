"""The plugin contract: discovery, validation and per-tenant enablement."""

import inspect
from importlib.metadata import entry_points

import pytest
import sqlalchemy as sa

from asll.extensions import db
from asll.models import AuditEvent, Measure, Role
from asll.plugins import hookspecs
from asll.plugins.contract import PluginInfo
from asll.plugins.manager import PluginLoadError, PluginRegistry
from asll.services import plugins as plugin_service
from asll.services.actor import Actor
from asll.services.errors import PermissionDenied
from asll.tenancy import tenant_context, unscoped
from asll.toolkit import hookimpl
from tests.conftest import csrf_token, login

DEPARTEMENT_PLUGINS = ["loire", "moselle", "orne", "seine_maritime"]


def test_the_four_plugins_are_discovered_from_entry_points(app):
    declared = sorted(ep.name for ep in entry_points(group="asll.plugins"))
    assert declared == DEPARTEMENT_PLUGINS
    registry = app.extensions["asll_plugins"]
    assert registry.plugin_names == DEPARTEMENT_PLUGINS
    assert {registry.infos[n].departement_code for n in DEPARTEMENT_PLUGINS} == {"42", "57", "61", "76"}


def test_every_hookspec_is_documented():
    specs = [f for name, f in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("asll_")]
    assert len(specs) >= 10
    for spec in specs:
        assert spec.__doc__ and len(spec.__doc__.strip()) > 30, f"{spec.__name__} has no real docstring"


class SpyPlugin:
    """A fake département plugin recording for which tenants its hooks are called."""

    def __init__(self):
        self.calls = []

    @hookimpl
    def asll_plugin_info(self):
        return PluginInfo(name="spy", label="Espion", departement_code="99", departement_name="Test")

    @hookimpl
    def asll_measure_types(self, tenant):
        self.calls.append(tenant.code)
        return []


@pytest.fixture
def spy(app):
    registry = app.extensions["asll_plugins"]
    plugin = SpyPlugin()
    registry.register(plugin, "spy")
    yield plugin
    registry.unregister("spy")


def test_disabled_plugin_is_not_called_for_that_tenant_but_is_for_another(app_ctx, world, spy):
    system = Actor.system()
    plugin_service.set_enabled(system, world.orne.tenant.id, "spy", True)
    plugin_service.measure_types(world.loire.tenant.id)
    plugin_service.measure_types(world.orne.tenant.id)
    assert spy.calls == ["61"]


def test_disabling_hides_measure_types_of_that_tenant_only_and_keeps_its_cases(app_ctx, world):
    loire_id, orne_id = world.loire.tenant.id, world.orne.tenant.id
    assert "loire.acces" in plugin_service.measure_types(loire_id)
    assert not any(code.startswith("loire.") for code in plugin_service.measure_types(orne_id))
    plugin_service.set_enabled(Actor.system(), loire_id, "loire", False)
    assert plugin_service.measure_types(loire_id) == {}
    assert plugin_service.commissions(loire_id) == {}
    assert any(code.startswith("orne.") for code in plugin_service.measure_types(orne_id))
    with tenant_context(loire_id):
        assert db.session.scalar(sa.select(sa.func.count(Measure.id))) == 1


def test_only_a_platform_admin_toggles_plugins(app_ctx, world):
    admin_of_loire = world.loire.actor(Role.DEPT_ADMIN)
    with pytest.raises(PermissionDenied):
        plugin_service.set_enabled(admin_of_loire, world.loire.tenant.id, "orne", True)


def test_misspelt_hook_fails_at_start_up():
    class Typo:
        @hookimpl
        def asll_plugin_info(self):
            return PluginInfo(name="typo", label="Faute", departement_code="98", departement_name="Test")

        @hookimpl
        def asll_measure_typs(self, tenant):
            return []

    with pytest.raises(PluginLoadError, match="asll_measure_typs"):
        PluginRegistry(load_entry_points=False, plugins=[("typo", Typo())])


def test_plugin_without_identity_fails_at_start_up():
    class Anonymous:
        @hookimpl
        def asll_commissions(self, tenant):
            return []

    with pytest.raises(PluginLoadError, match="asll_plugin_info"):
        PluginRegistry(load_entry_points=False, plugins=[("anonymous", Anonymous())])


def test_plugin_that_cannot_be_imported_fails_start_up(monkeypatch):
    import importlib.metadata

    broken = importlib.metadata.EntryPoint(name="broken", value="asll_missing_module.plugin", group="asll.plugins")
    class FakeDist:
        entry_points = [broken]
        metadata = {"name": "broken-dist"}

    monkeypatch.setattr(importlib.metadata, "distributions", lambda: [FakeDist()])
    with pytest.raises(PluginLoadError, match="asll_missing_module"):
        PluginRegistry()


def test_platform_admin_toggles_a_plugin_on_the_web_page_and_it_is_audited(world, client):
    login(client, world.platform_admin.email, world.password)
    page = client.get("/admin/plugins")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Loire (42)" in html and "Désactiver" in html
    response = client.post("/admin/plugins", data={"tenant_id": world.loire.tenant.id, "plugin": "orne",
                                                    "enabled": "y", "csrf_token": csrf_token(html)},
                           follow_redirects=True)
    assert "Plugin « orne » activé." in response.get_data(as_text=True)
    with client.application.app_context(), unscoped():
        assert "orne" in plugin_service.enabled_plugins(world.loire.tenant.id)
        event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "plugin.enable")
                                   .order_by(AuditEvent.id.desc())).first()
    assert event.tenant_id == world.loire.tenant.id and event.actor_id == world.platform_admin.id
    assert event.changes == {"plugin": "orne", "enabled": [False, True]}


def test_plugin_admin_page_is_refused_to_a_departement_admin(world, client):
    login(client, world.loire.users[Role.DEPT_ADMIN].email, world.password)
    assert client.get("/admin/plugins").status_code == 403


def test_cli_enables_and_disables_a_plugin_with_an_audit_entry(app_ctx, world, app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["asll", "plugins", "disable", "42", "loire"])
    assert result.exit_code == 0, result.output
    assert "désactivé pour Loire" in result.output
    db.session.expire_all()
    plugin_service._forget_cache()
    assert "loire" not in plugin_service.enabled_plugins(world.loire.tenant.id)
    with tenant_context(world.loire.tenant.id):
        actions = db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.seq)).all()
    assert actions[-1] == "plugin.disable"
    result = runner.invoke(args=["asll", "plugins", "enable", "42", "inconnu"])
    assert result.exit_code == 1 and "Plugin « inconnu » inconnu." in result.output


def test_plugin_settings_are_validated_and_defaulted(app_ctx, world):
    orne_admin = world.orne.actor(Role.DEPT_ADMIN)
    info = plugin_service.tenant_info(world.orne.tenant.id)
    assert info.settings_for("orne")["agreement_month_measures"] == 762
    from asll.services.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as refused:
        plugin_service.update_settings(orne_admin, "orne", {"agreement_measures": "beaucoup", "couleur": "bleu"})
    # marshmallow's defaults ("Not a valid integer.", "Unknown field.") reach the admin in French.
    assert refused.value.fields == {"agreement_measures": ["Un nombre entier est attendu."],
                                    "couleur": ["Champ inconnu."]}
    saved = plugin_service.update_settings(orne_admin, "orne", {"agreement_measures": 130})
    assert saved["agreement_measures"] == 130
