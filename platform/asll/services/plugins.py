"""Plugin activation per tenant, plugin settings, and the definitions plugins contribute."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import marshmallow as ma
import sqlalchemy as sa
from flask import current_app, g, has_app_context

from asll.extensions import db
from asll.models import PluginActivation, Tenant
from asll.models.base import utcnow
from asll.plugins.contract import CommissionDef, MeasureTypeDef, TenantInfo
from asll.plugins.manager import PluginRegistry
from asll.services import audit
from asll.services.actor import Actor
from asll.services.errors import NotFound, PermissionDenied, ValidationFailed
from asll.tenancy import tenant_context, unscoped


def registry() -> PluginRegistry:
    return current_app.extensions["asll_plugins"]


def _activations(tenant_id: int) -> list[PluginActivation]:
    with unscoped():
        return list(
            db.session.scalars(
                sa.select(PluginActivation).where(PluginActivation.tenant_id == tenant_id)
            )
        )


def default_settings(plugin: str) -> dict[str, Any]:
    info = registry().infos[plugin]
    return info.settings_schema().load({}) if info.settings_schema else {}


def enabled_plugins(tenant_id: int) -> frozenset[str]:
    """Plugins enabled for the tenant (cached for the current request or task)."""
    cache = g.setdefault("asll_enabled_plugins", {}) if has_app_context() else {}
    if tenant_id not in cache:
        known = set(registry().plugin_names)
        cache[tenant_id] = frozenset(a.plugin for a in _activations(tenant_id) if a.enabled and a.plugin in known)
    return cache[tenant_id]


def _forget_cache() -> None:
    if has_app_context():
        g.pop("asll_enabled_plugins", None)
        g.pop("asll_tenant_info", None)


def tenant_info(tenant_id: int) -> TenantInfo:
    cache = g.setdefault("asll_tenant_info", {}) if has_app_context() else {}
    if tenant_id not in cache:
        with unscoped():
            tenant = db.session.get(Tenant, tenant_id)
        if tenant is None:
            raise NotFound("Département introuvable.")
        settings = {}
        for activation in _activations(tenant_id):
            if activation.plugin in registry().infos:
                settings[activation.plugin] = {**default_settings(activation.plugin), **(activation.settings or {})}
        cache[tenant_id] = TenantInfo(id=tenant.id, code=tenant.code, name=tenant.name, plugin_settings=settings)
    return cache[tenant_id]


def call(tenant_id: int, hook_name: str, **kwargs):
    """Call a hook for a tenant: only its enabled plugins (and the core) answer."""
    return registry().call(tenant_info(tenant_id), enabled_plugins(tenant_id), hook_name, **kwargs)


def collect(tenant_id: int, hook_name: str, **kwargs):
    return registry().collect(tenant_info(tenant_id), enabled_plugins(tenant_id), hook_name, **kwargs)


def merged_fields(tenant_id: int, hook_name: str, **kwargs) -> dict[str, Any]:
    """The form fields the enabled plugins add through a ``*_fields`` hook, in one dict."""
    merged: dict[str, Any] = {}
    for fields_of_plugin in call(tenant_id, hook_name, **kwargs):
        merged.update(fields_of_plugin or {})
    return merged


def measure_types(tenant_id: int) -> dict[str, MeasureTypeDef]:
    from dataclasses import replace

    return {d.code: replace(d, plugin=plugin) for plugin, d in collect(tenant_id, "asll_measure_types")}


def commissions(tenant_id: int) -> dict[str, CommissionDef]:
    from dataclasses import replace

    return {d.code: replace(d, plugin=plugin) for plugin, d in collect(tenant_id, "asll_commissions")}


def support_measures(tenant_id: int) -> dict[str, str]:
    return {d.code: d.label for _plugin, d in collect(tenant_id, "asll_support_measures")}


# -- platform admin ---------------------------------------------------------------
def _require_platform_admin(actor: Actor) -> None:
    if not (actor.is_platform_admin or actor.user_id is None):
        raise PermissionDenied("Seul un administrateur de la plateforme peut activer ou désactiver un plugin.")


def plugin_overview(actor: Actor) -> list[dict]:
    """Every tenant with every plugin's state, for the platform admin's page."""
    _require_platform_admin(actor)
    with unscoped():
        tenants = list(db.session.scalars(sa.select(Tenant).order_by(Tenant.code)))
        activations = {
            (a.tenant_id, a.plugin): a for a in db.session.scalars(sa.select(PluginActivation))
        }
    return [
        {
            "tenant": tenant,
            "plugins": [
                {"name": name, "info": registry().infos[name], "activation": activations.get((tenant.id, name))}
                for name in registry().plugin_names
            ],
        }
        for tenant in tenants
    ]


def set_enabled(actor: Actor, tenant_id: int, plugin: str, enabled: bool) -> PluginActivation:
    """Enable or disable a plugin for a tenant; audited in that tenant's chain."""
    _require_platform_admin(actor)
    if plugin not in registry().infos:
        raise NotFound(f"Plugin « {plugin} » inconnu.", "plugin_inconnu")
    with unscoped():
        if db.session.get(Tenant, tenant_id) is None:
            raise NotFound("Département introuvable.")
        activation = db.session.scalar(
            sa.select(PluginActivation).where(
                PluginActivation.tenant_id == tenant_id, PluginActivation.plugin == plugin
            )
        )
        before = activation.enabled if activation else False
        if activation is None:
            activation = PluginActivation(tenant_id=tenant_id, plugin=plugin, settings={})
            db.session.add(activation)
        activation.enabled = enabled
        activation.changed_by_id = actor.user_id
        activation.changed_at = utcnow()
        db.session.flush()
        audit.record(
            actor,
            "plugin.enable" if enabled else "plugin.disable",
            object_type="plugin_activation",
            object_id=activation.id,
            changes={"plugin": plugin, "enabled": [before, enabled]},
            tenant_id=tenant_id,
        )
    db.session.commit()
    _forget_cache()
    return activation


def update_settings(actor: Actor, plugin: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """A département admin edits the current tenant's settings of an enabled plugin."""
    from asll.models import Role

    if not actor.has(Role.DEPT_ADMIN) or actor.tenant_id is None:
        raise PermissionDenied("Seul un administrateur départemental peut modifier ces paramètres.")
    if plugin not in enabled_plugins(actor.tenant_id):
        raise NotFound(f"Le plugin « {plugin} » n'est pas activé pour ce département.", "plugin_inactif")
    schema_cls = registry().infos[plugin].settings_schema
    if schema_cls is None:
        raise ValidationFailed({"_schema": ["Ce plugin n'a pas de paramètres."]})
    try:
        loaded = schema_cls().load(dict(data))
    except ma.ValidationError as exc:
        raise ValidationFailed(exc.messages) from exc
    with tenant_context(actor.tenant_id):
        activation = db.session.scalar(sa.select(PluginActivation).where(PluginActivation.plugin == plugin))
        before = dict(activation.settings or {})
        activation.settings = schema_cls().dump(loaded)
        activation.changed_by_id = actor.user_id
        activation.changed_at = utcnow()
        audit.record(actor, "plugin.settings", object_type="plugin_activation", object_id=activation.id,
                     changes=audit.diff(before, activation.settings))
        db.session.commit()
    _forget_cache()
    return activation.settings
