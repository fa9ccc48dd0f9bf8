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
    nothing is changed. For ``"grant"``, ``data["session"]`` is the commission session
    that decided (``None`` for a single decider).
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
    """Return :class:`ExportColumn` objects: extra columns of the measures export.

    ``value(measure)`` receives the measure row (with its household and request loaded).
    """


@hookspec
def asll_statistics(tenant, year):
    """Return the département's own activity tables (:class:`StatTable`) for ``year``.

    Figures are computed by SQL aggregation in the current tenant (the tenant scoping
    applies to the plugin's queries as to the core's).
    """


@hookspec
def asll_document_templates(tenant):
    """Return a ``dict`` mapping a document kind to a Jinja template name overriding the core's.

    The template must be reachable by the app's loader, e.g. in the ``template_folder`` of a
    blueprint the plugin returns from :func:`asll_blueprints`.
    """


@hookspec
def asll_blueprints():
    """Return Flask blueprints of the plugin; the core answers them only for tenants that enabled it."""


@hookspec(firstresult=True)
def asll_request_commission(tenant, request):
    """Return the code of the commission (or single decider) that examines ``request``, or None.

    Called when the request is submitted; ``None`` means "the commission of its measure type".
    Lets a département route by the request's data (e.g. Orne: per circonscription).
    """


@hookspec
def asll_household_fields(tenant):
    """Return a ``dict`` of extra marshmallow fields for a household (e.g. Moselle's priority public).

    Values are validated when the household is created or updated and stored in its ``extra`` JSON.
    """


@hookspec
def asll_transition_fields(tenant, measure, transition):
    """Return a ``dict`` of extra marshmallow fields for ``transition`` of ``measure``.

    ``transition`` is a name of :data:`asll.domain.machine.TRANSITIONS` or ``"grant"``. The
    values arrive in ``data["extra"]`` for :func:`asll_validate_transition` and
    :func:`asll_after_transition`, and are merged into ``measure.extra`` by the core.
    """


@hookspec
def asll_after_transition(tenant, measure, transition, data):
    """Called after the core applied ``transition`` to ``measure``, in the same transaction.

    A plugin that owns tables records its own rows here (e.g. evaluation data at the end of
    a measure). Raising aborts the whole transition: nothing is saved. ``data`` is as for
    :func:`asll_validate_transition`, ``data["session"]`` included for ``"grant"``.
    """


@hookspec
def asll_demo_cases(tenant):
    """Return :class:`DemoCase` scenarios the demo data plays through the services.

    Each case creates a household, files a request and applies its steps, so that the
    demo shows the département's rules in every state of a request and a measure.
    """


@hookspec
def asll_personal_data(tenant, household):
    """Return a :class:`PersonalData` per table of the plugin that may hold rows about ``household``.

    ``household`` is a :class:`HouseholdFile` (id, reference, ids of its requests and measures).
    Answer for every such table *even when it has no row for this household*: the core checks that
    each plugin table with a foreign key to a household or a measure is declared, so that the
    person's access right (their complete data) and the anonymisation cannot miss one. A row's
    date that is a contact with the household goes in ``last_contact``; the amounts the FSL
    accounts must keep go in ``archive`` (moved to the intermediate archive on anonymisation).
    """


@hookspec
def asll_anonymise_personal_data(tenant, household, erase):
    """Anonymise (``erase=False``) or delete (``erase=True``) the plugin's rows about ``household``.

    Return the names of the tables handled: every table :func:`asll_personal_data` declares must be
    in the answer, or the core refuses to anonymise the file. Anonymising removes what identifies
    the person (names, addresses, contact data, free texts) and keeps what the plugin's
    :func:`asll_statistics` count, so that a past year's tables stay the same. Called in the core's
    transaction before the core's own rows change; raising aborts the whole file.
    """
