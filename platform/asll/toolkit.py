"""The only module a département plugin imports from the core.

Keeping plugins behind this facade (CKAN's ``toolkit`` idea) lets the core change
its internals without breaking them.
"""

from datetime import date

from asll.domain.calendar import add_months, months_between, today
from asll.domain.machine import NO_BILAN_REASONS
from asll.plugins.contract import (
    CommissionDef,
    CommissionRole,
    DemoCase,
    DemoStep,
    ExportColumn,
    HouseholdFile,
    MeasureKind,
    MeasureTypeDef,
    ObligationDef,
    OrganisationSpec,
    PersonalData,
    PluginInfo,
    StatTable,
    SupportMeasureDef,
    TenantInfo,
    Violation,
)
from asll.plugins.hookspecs import hookimpl
from asll.services.schemas import DATE, REQUIRED, FrenchSchema

# For plugins that own tables (prefixed with the plugin's name, migrations in
# plugins/<dept>/migrations/versions as an Alembic branch depending on a core revision).
from asll.extensions import db  # noqa: E402
from asll.models.base import Base, TimestampMixin, str_enum  # noqa: E402
from asll.tenancy import TenantScoped, current_tenant_id  # noqa: E402

__all__ = [
    "Base",
    "TenantScoped",
    "TimestampMixin",
    "current_tenant_id",
    "db",
    "str_enum",
    "CommissionDef",
    "CommissionRole",
    "DATE",
    "FrenchSchema",
    "NO_BILAN_REASONS",
    "REQUIRED",
    "DemoCase",
    "DemoStep",
    "ExportColumn",
    "HouseholdFile",
    "MeasureKind",
    "MeasureTypeDef",
    "ObligationDef",
    "OrganisationSpec",
    "PersonalData",
    "PluginInfo",
    "StatTable",
    "SupportMeasureDef",
    "TenantInfo",
    "Violation",
    "add_months",
    "field_metadata",
    "french_date",
    "hookimpl",
    "json_date",
    "months_between",
    "personal_rows",
    "today",
]


def field_metadata(label: str, description: str | None = None, choice_labels=None) -> dict:
    """The ``metadata`` of a plugin's form field: its French label, a hint under it when the label is not
    enough, and the French labels of its choices (``{code: label}``)."""
    found = {"label": label}
    if description:
        found["description"] = description
    if choice_labels:
        found["choice_labels"] = dict(choice_labels)
    return found


def french_date(value: date) -> str:
    """A date as French messages print it: ``16/03/2026``."""
    return value.strftime("%d/%m/%Y")


def json_date(value) -> date | None:
    """A date kept as ISO text in a JSON ``extra`` (or already a date); None when empty."""
    if value in (None, ""):
        return None
    return value if isinstance(value, date) else date.fromisoformat(str(value))


# -- Read-only queries for plugins (Loire / Orne rules) ----------------------------------
# Plugins never import asll.models: these answer what a hook's arguments do not carry.
# Each runs in the current tenant, so the tenant scoping applies as to the core's queries.
_OPEN_STATUSES = ("operator_assigned", "started", "running", "prolongation_requested", "suspended")


def organisation_profile(organisation_id):
    """An organisation's name, kind, sectors and capacities (a dict), or None: for sector/capacity rules."""
    import sqlalchemy as sa
    from asll.models import Organisation

    org = db.session.scalar(sa.select(Organisation).where(Organisation.id == organisation_id)) \
        if organisation_id else None
    if org is None:
        return None
    return {"id": org.id, "name": org.name, "kind": org.kind.value, "sectors": list(org.sectors or []),
            "capacity": org.capacity, "capacity_unit": org.capacity_unit,
            "reinforced_capacity": org.reinforced_capacity}


def organisation_ids_by_name():
    """``{name: id}`` of the current tenant's organisations: demo cases name the operators they use."""
    import sqlalchemy as sa
    from asll.models import Organisation

    return dict(db.session.execute(sa.select(Organisation.name, Organisation.id)).all())


def household_profile(household_id):
    """What rules read of a household (a dict): sector, housing, landlord, resources, reference person."""
    import sqlalchemy as sa
    from asll.models import Household

    household = db.session.scalar(sa.select(Household).where(Household.id == household_id)) \
        if household_id else None
    if household is None:
        return None
    person = household.reference_person
    return {"id": household.id, "reference": household.reference, "sector": household.sector or "",
            "housing_status": household.housing_status.value if household.housing_status else None,
            "landlord_id": household.landlord_id, "landlord_consent": household.landlord_consent,
            "monthly_resources": household.monthly_resources, "resources_kind": household.resources_kind or "",
            "extra": dict(household.extra or {}),
            "birth_date": person.birth_date if person else None,
            "socio_professional_status": person.socio_professional_status if person else ""}


def household_measures(household_id):
    """The household's measures, oldest first (dicts: id, reference, measure_type, status and dates), for
    re-intervention, overlap and hand-over rules."""
    import sqlalchemy as sa
    from asll.models import Measure

    rows = db.session.execute(sa.select(
        Measure.id, Measure.reference, Measure.measure_type, Measure.status, Measure.decision_date,
        Measure.start_date, Measure.planned_end_date, Measure.end_date).where(Measure.household_id == household_id)
        .order_by(Measure.id)).all()
    return [{"id": r.id, "reference": r.reference, "measure_type": r.measure_type, "status": r.status.value,
             "decision_date": r.decision_date, "start_date": r.start_date, "planned_end_date": r.planned_end_date,
             "end_date": r.end_date} for r in rows]


def operator_load(operator_id, on, *, exclude_measure_id=None):
    """An operator's load: open measures now (all / reinforced) and measures notified in ``on``'s year."""
    import sqlalchemy as sa
    from asll.models import Measure

    mine = [Measure.operator_id == operator_id]
    if exclude_measure_id is not None:
        mine.append(Measure.id != exclude_measure_id)
    count = sa.func.count(Measure.id)
    is_open = Measure.status.in_(_OPEN_STATUSES)
    in_year = Measure.notified_date.between(date(on.year, 1, 1), date(on.year, 12, 31))
    row = db.session.execute(sa.select(count.filter(is_open).label("open"),
                                       count.filter(is_open, Measure.reinforced).label("open_reinforced"),
                                       count.filter(in_year).label("notified_in_year")).where(*mine)).one()
    return dict(row._mapping)


def notifying_commission(measure):
    """Code of the commission whose decision notified ``measure`` (its session's, else its request's), or None."""
    import sqlalchemy as sa
    from asll.models import CommissionSession, Decision, Request

    code = db.session.scalar(sa.select(CommissionSession.commission_code).join(
        Decision, Decision.session_id == CommissionSession.id).where(Decision.measure_id == measure.id)) \
        if measure.id else None
    if code is None and measure.request_id:
        code = db.session.scalar(sa.select(Request.commission_code).where(Request.id == measure.request_id))
    return code


def measure_documents(measure_id):
    """``(kind, recipient)`` of the documents stored for a measure (e.g. the landlord's decision letter)."""
    import sqlalchemy as sa
    from asll.models import Document

    return [tuple(r) for r in db.session.execute(
        sa.select(Document.kind, Document.recipient).where(Document.measure_id == measure_id)).all()]


def percent(part, whole) -> int:
    """A share as a whole percentage, rounded half up: plugins' tables print it as the core's do."""
    from asll.services.statistics import percent as core_percent

    return core_percent(part, whole)


def organisations_table():
    """The current tenant's organisations (id, name, kind, capacities) as a read-only subquery, to name
    operators in plugins' SQL statistics by a join rather than a look-up per row."""
    import sqlalchemy as sa
    from asll.models import Organisation

    return sa.select(Organisation.id, Organisation.name, Organisation.kind, Organisation.capacity,
                     Organisation.capacity_unit, Organisation.reinforced_capacity).subquery("organisations")


def measures_table():
    """The current tenant's measures as a read-only subquery, for plugins' SQL statistics and joins."""
    import sqlalchemy as sa
    from asll.models import Measure

    return sa.select(Measure.id, Measure.household_id, Measure.measure_type, Measure.kind, Measure.status,
                     Measure.operator_id, Measure.reinforced, Measure.decision_date, Measure.start_date,
                     Measure.end_date, Measure.granted_months, Measure.prolonged_months,
                     Measure.end_reason).subquery("measures")


# -- Read-only queries for plugins (Seine-Maritime / Moselle rules and statistics) -----------------
def request_profile(request_id):
    """What rules read of a request (a dict: measure type, origin, extra, whether it has a diagnostic), or None.

    At ``grant`` the measure is transient, so its ``request`` relationship does not load: this does.
    """
    import sqlalchemy as sa
    from asll.models import Request

    request = db.session.scalar(sa.select(Request).where(Request.id == request_id)) if request_id else None
    if request is None:
        return None
    return {"id": request.id, "reference": request.reference, "household_id": request.household_id,
            "measure_type": request.measure_type, "origin": request.origin or "", "status": request.status.value,
            "commission_code": request.commission_code, "has_diagnostic": bool(request.diagnostic),
            "extra": dict(request.extra or {})}


def household_support_measures(household_id):
    """The household's other support measures (MASP, MAJ, AVDL...): dicts with code, start_date, end_date."""
    import sqlalchemy as sa
    from asll.models import SupportMeasure

    rows = db.session.execute(sa.select(SupportMeasure.code, SupportMeasure.start_date, SupportMeasure.end_date)
                              .where(SupportMeasure.household_id == household_id)
                              .order_by(SupportMeasure.start_date)).all()
    return [{"code": r.code, "start_date": r.start_date, "end_date": r.end_date} for r in rows]


def measure_events_table():
    """The current tenant's measure timeline (transition, effective date, input data) as a read-only subquery."""
    import sqlalchemy as sa
    from asll.models import MeasureEvent

    return sa.select(MeasureEvent.id, MeasureEvent.measure_id, MeasureEvent.transition, MeasureEvent.effective_date,
                     MeasureEvent.data).subquery("measure_events")


def households_table():
    """The current tenant's households (sector, housing status, plugin ``extra`` JSON) as a read-only subquery."""
    import sqlalchemy as sa
    from asll.models import Household

    return sa.select(Household.id, Household.sector, Household.housing_status, Household.extra).subquery("households")


def requests_table():
    """The current tenant's requests (type, status, commission, submission, plugin ``extra``) as a read-only subquery."""
    import sqlalchemy as sa
    from asll.models import Request

    return sa.select(Request.id, Request.household_id, Request.measure_type, Request.status, Request.commission_code,
                     Request.submitted_at, Request.extra).subquery("requests")


def measure_extras_table():
    """The current tenant's measures with their plugin ``extra`` JSON (id, measure_type, extra), read-only subquery."""
    import sqlalchemy as sa
    from asll.models import Measure

    return sa.select(Measure.id, Measure.measure_type, Measure.extra).subquery("measure_extras")


def decisions_table():
    """The current tenant's decisions (outcome, date, session, measure) as a read-only subquery."""
    import sqlalchemy as sa
    from asll.models import Decision

    return sa.select(Decision.id, Decision.request_id, Decision.session_id, Decision.outcome, Decision.decision_date,
                     Decision.measure_type, Decision.measure_id).subquery("decisions")


def request_prescriber_name(request_id):
    """Name of the organisation that filed a request ("" if none): the Loire hands the household back to it."""
    import sqlalchemy as sa
    from asll.models import Organisation, Request

    return db.session.scalar(sa.select(Organisation.name).join(
        Request, Request.prescriber_organisation_id == Organisation.id).where(Request.id == request_id)) or "" \
        if request_id else ""


# -- RGPD: a plugin's rows as its asll_personal_data hook returns them ----------------------
def personal_rows(model, *criteria) -> tuple[dict, ...]:
    """Every column of the rows of ``model`` matching ``criteria``, JSON-ready, ordered by id: what the
    person's access right shows of a plugin table."""
    import sqlalchemy as sa
    from asll.services.audit import _jsonable

    columns = list(model.__table__.columns)
    rows = db.session.execute(sa.select(*columns).where(*criteria).order_by(model.id)).all()
    return tuple({column.name: _jsonable(value) for column, value in zip(columns, row, strict=True)} for row in rows)
