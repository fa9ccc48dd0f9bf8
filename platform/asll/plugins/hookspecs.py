"""The hooks a département plugin may implement.

Every hook takes keyword arguments only. Hooks called for a tenant receive a
:class:`~asll.plugins.contract.TenantInfo` and reach only the plugins enabled
for that tenant (see :mod:`asll.plugins.manager`). The core's own behaviour is
the built-in plugin :mod:`asll.plugins.defaults`, registered ``trylast``.
"""

from __future__ import annotations

import pluggy

PROJECT = "asll"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def asll_plugin_info():
    """Return the plugin's :class:`PluginInfo`: name, label and the département it serves.

    Called once per plugin at start-up, for every plugin whatever the tenant, so that the
    platform admin can list and enable it. ``PluginInfo.settings_schema`` (optional) is a
    marshmallow schema whose field defaults are the plugin's tenant settings.
    """


@hookspec
def asll_measure_types(tenant):
    """Return the :class:`MeasureTypeDef` list the département offers.

    Codes are prefixed with the plugin name (``loire.acces``) so that they never clash.
    """


@hookspec
def asll_commissions(tenant):
    """Return the :class:`CommissionDef` list: commissions and single deciders of the département."""


@hookspec
def asll_support_measures(tenant):
    """Return other support measures (:class:`SupportMeasureDef`) a household may already have.

    The core declares the national ones (MASP, MAJ, AEMO...); a plugin may add local ones.
    Which of them block a measure type is said by ``MeasureTypeDef.incompatible_with``.
    """


@hookspec
def asll_organisations(tenant):
    """Return the :class:`OrganisationSpec` list known from the département's documents.

    Used to create the demo data and to pre-fill a new tenant's organisations.
    """


@hookspec
def asll_request_fields(tenant, measure_type):
    """Return a ``dict`` of extra marshmallow fields for a request of ``measure_type``.

    The core merges them into the request schema; their values are stored in the
    request's ``extra`` JSON and validated when the request is submitted.
    """


@hookspec
def asll_validate_transition(tenant, measure, transition, data):
    """Return :class:`Violation` objects that forbid (or warn about) ``transition``.

    ``measure`` is the measure before the transition, ``data`` the validated input
    (dates, durations, reasons). Any blocking violation refuses the transition and
    nothing is changed.
    """


@hookspec
def asll_obligations(tenant, measure):
    """Return the dated :class:`ObligationDef` list of ``measure`` in its current state.

    Called after every transition; the core stores the result and reminds the
    responsible people before each due date.
    """


@hookspec(firstresult=True)
def asll_reminder_steps(tenant):
    """Return the reminder offsets in days relative to a due date, e.g. ``(-15, -3, 0)``.

    The first plugin that answers wins; the core's default answers last. A département
    admin may override the value in the tenant's settings.
    """


@hookspec
def asll_export_columns(tenant):
    """Return extra export columns as ``(key, French label, function(measure) -> value)``."""


@hookspec
def asll_statistics(tenant, year):
    """Return the département's own activity tables for ``year``."""


@hookspec
def asll_document_templates(tenant):
    """Return a ``dict`` mapping a document kind to a template path overriding the core's."""


@hookspec
def asll_blueprints():
    """Return Flask blueprints of the plugin; the core answers them only for tenants that enabled it."""
