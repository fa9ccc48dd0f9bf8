"""Loading plugins from entry points and calling hooks for one tenant.

The manager is built inside ``create_app`` (never at import time) and stored in
``app.extensions["asll_plugins"]``. A hook called for a tenant goes through
``pm.subset_hook_caller`` with the plugins that tenant has not enabled removed,
so a disabled plugin is never reached for that tenant.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pluggy

from asll.plugins import defaults, hookspecs
from asll.plugins.contract import PluginInfo, TenantInfo

ENTRY_POINT_GROUP = "asll.plugins"
CORE_PLUGIN = "core"


class PluginLoadError(RuntimeError):
    """A plugin could not be loaded or does not honour the contract."""


class PluginRegistry:
    def __init__(self, *, load_entry_points: bool = True, plugins: Iterable[tuple[str, object]] = ()):
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.pm.register(defaults, name=CORE_PLUGIN)
        if load_entry_points:
            try:
                self.pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
            except Exception as exc:  # noqa: BLE001 - re-raised with context: start-up must fail loudly
                raise PluginLoadError(f"Impossible de charger un plugin {ENTRY_POINT_GROUP}: {exc}") from exc
        for name, plugin in plugins:
            self.pm.register(plugin, name=name)
        self.infos: dict[str, PluginInfo] = {}
        self.validate()

    # -- registration -------------------------------------------------------------
    def validate(self) -> None:
        """Check every hook implementation against the specs and every plugin's identity."""
        try:
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            raise PluginLoadError(str(exc)) from exc
        infos: dict[str, PluginInfo] = {}
        for name, plugin in self.pm.list_name_plugin():
            if name == CORE_PLUGIN:
                continue
            info_impl = getattr(plugin, "asll_plugin_info", None)
            if info_impl is None:
                raise PluginLoadError(f"Le plugin « {name} » ne déclare pas asll_plugin_info.")
            info = info_impl()
            if not isinstance(info, PluginInfo) or info.name != name:
                raise PluginLoadError(
                    f"Le plugin « {name} » doit renvoyer un PluginInfo nommé « {name} »."
                )
            infos[name] = info
        self.infos = infos

    def register(self, plugin: object, name: str) -> None:
        self.pm.register(plugin, name=name)
        self.validate()

    def unregister(self, name: str) -> None:
        self.pm.unregister(name=name)
        self.validate()

    @property
    def plugin_names(self) -> list[str]:
        """Département plugins (the built-in core plugin is always on and not listed)."""
        return sorted(self.infos)

    # -- per-tenant calls ---------------------------------------------------------
    def _caller(self, enabled: Iterable[str], hook_name: str):
        enabled = set(enabled)
        removed = [self.pm.get_plugin(n) for n in self.plugin_names if n not in enabled]
        return self.pm.subset_hook_caller(hook_name, remove_plugins=removed)

    def call(self, tenant: TenantInfo, enabled: Iterable[str], hook_name: str, **kwargs: Any):
        """Call ``hook_name`` for ``tenant`` on the core and the ``enabled`` plugins only."""
        return self._caller(enabled, hook_name)(tenant=tenant, **kwargs)

    def collect(
        self, tenant: TenantInfo, enabled: Iterable[str], hook_name: str, **kwargs: Any
    ) -> list[tuple[str, Any]]:
        """Like :meth:`call` for list hooks, but each item comes with the plugin that gave it."""
        caller = self._caller(enabled, hook_name)
        kwargs = {"tenant": tenant, **kwargs}
        results: list[tuple[str, Any]] = []
        for impl in reversed(caller.get_hookimpls()):  # pluggy's own calling order
            value = impl.function(**{arg: kwargs[arg] for arg in impl.argnames})
            for item in value or ():
                results.append((impl.plugin_name, item))
        return results

    def global_call(self, hook_name: str, **kwargs: Any):
        """Call a hook that is not tenant-specific (e.g. ``asll_blueprints``) on every plugin."""
        return getattr(self.pm.hook, hook_name)(**kwargs)
