"""The rows of an export: one SELECT per dataset (the access criteria AND the filters), streamed,
and the pseudonyms that replace identities for statistics partners."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy import orm

from asll.extensions import db
from asll.models import CommissionSession, Decision, Household, HouseholdMember, Measure, Organisation, Request
from asll.models.exports import ExportSecret
from asll.services.access import household_criteria, measure_criteria, request_criteria
from asll.services.actor import Actor
from asll.services.errors import ValidationFailed
from asll.services.exports.columns import ColumnDef, columns_for
from asll.services.rgpd.kanonymity import Protection, export_k


YIELD_PER = 2000


# -- pseudonyms -------------------------------------------------------------------------
def tenant_secret(tenant_id: int) -> bytes:
    """The tenant's pseudonym key, created on first use (the unique constraint settles a race)."""
    row = db.session.scalar(sa.select(ExportSecret).where(ExportSecret.tenant_id == tenant_id))
    if row is None:
        try:
            with db.session.begin_nested():
                row = ExportSecret(tenant_id=tenant_id, secret=secrets.token_hex(32))
                db.session.add(row)
        except sa.exc.IntegrityError:
            row = db.session.scalar(sa.select(ExportSecret).where(ExportSecret.tenant_id == tenant_id))
    return bytes.fromhex(row.secret)


def pseudonym(secret: bytes, kind: str, object_id: int | None) -> str | None:
    """A stable, non-reversible designation of an object for statistics partners."""
    if object_id is None:
        return None
    digest = hmac.new(secret, f"{kind}:{object_id}".encode(), hashlib.sha256).hexdigest()
    return f"{kind[0].upper()}-{digest[:16]}"


# -- the rows -------------------------------------------------------------------------
def _reference_person(tenant_id: int):
    """The reference person's name and birth date, as scalar subqueries of the row's household.

    Each is an index lookup on ``household_member.household_id`` whatever the planner's
    statistics: a grouped subquery joined instead was re-aggregated for every row by
    PostgreSQL on fresh, unanalysed tables (quadratic), a correlated join condition by SQLite.
    The subquery reads the Core table with its tenant condition written ``tenant_id + 0``:
    given ``tenant_id = ?`` (the ORM's tenant criteria add it to every entity), SQLite chose
    the tenant's index and scanned all the tenant's members for every row (12,000 households:
    2 minutes instead of seconds). The household it correlates to is tenant-scoped anyway.
    """
    members = HouseholdMember.__table__

    def pick(column):
        return (sa.select(column)
                .where(members.c.household_id == Household.id, (members.c.tenant_id + 0) == tenant_id,
                       members.c.is_reference)
                .order_by(members.c.id).limit(1).correlate(Household).scalar_subquery())

    return (pick(members.c.last_name).label("last_name"), pick(members.c.first_name).label("first_name"),
            pick(members.c.birth_date).label("birth_date"))


def _household_fields(tenant_id: int):
    last_name, first_name, birth_date = _reference_person(tenant_id)
    return (
        Household.id.label("household_id"), Household.reference.label("household_reference"),
        last_name, first_name, birth_date, Household.address, Household.postcode, Household.city,
        Household.sector, Household.housing_status, Household.resources_kind, Household.monthly_resources,
        Household.family_situation,
    )


def _created_between(statement, column, date_from, date_to):
    """Rows created on ``date_from`` .. ``date_to`` (whole days, both included)."""
    if date_from:
        statement = statement.where(column >= datetime.combine(date_from, datetime.min.time()))
    if date_to:
        statement = statement.where(column < datetime.combine(date_to + timedelta(days=1), datetime.min.time()))
    return statement


def _date_filter(filters: dict, key: str):
    return date.fromisoformat(filters[key]) if filters.get(key) else None


def _statement(actor: Actor, dataset: str, filters: dict, with_entity: bool):
    """The SELECT of a dataset for ``actor``: the access criteria AND the filters, in id order."""
    tenant_id = actor.tenant_id
    date_from, date_to = _date_filter(filters, "date_from"), _date_filter(filters, "date_to")
    sector = filters.get("sector")
    if dataset == "measures":
        operator = orm.aliased(Organisation, name="operator_org")
        prescriber = orm.aliased(Organisation, name="prescriber_org")
        entities = (Measure, Household, Request) if with_entity else ()
        statement = (
            sa.select(*entities, Measure.id, Measure.reference, Measure.measure_type, Measure.kind, Measure.status,
                      Measure.decision_date, Measure.granted_months, Measure.start_date, Measure.planned_end_date,
                      Measure.end_date, Measure.end_reason, Measure.prolongation_count, Measure.prolonged_months,
                      Measure.reinforced, Measure.bilan_date, *_household_fields(tenant_id),
                      operator.name.label("operator_name"), Request.id.label("request_id"),
                      Request.reference.label("request_reference"), Request.origin,
                      prescriber.name.label("prescriber_name"))
            .select_from(Measure)
            .join(Household, Household.id == Measure.household_id)
            .outerjoin(operator, operator.id == Measure.operator_id)
            .outerjoin(Request, Request.id == Measure.request_id)
            .outerjoin(prescriber, prescriber.id == Request.prescriber_organisation_id)
            .where(Measure.tenant_id == tenant_id, measure_criteria(actor))
            .order_by(Measure.id)
        )
        if with_entity:
            # Plugins read the measure with its household and request; the diagnostic stays unloaded.
            statement = statement.options(orm.contains_eager(Measure.household), orm.contains_eager(Measure.request),
                                          orm.defer(Request.diagnostic))
        if date_from:  # ran during the period (not ended before it)
            statement = statement.where(sa.or_(Measure.end_date.is_(None), Measure.end_date >= date_from))
        if date_to:
            statement = statement.where(sa.or_(Measure.start_date <= date_to,
                                               sa.and_(Measure.start_date.is_(None), Measure.decision_date <= date_to)))
        for key in ("measure_type", "kind", "status"):
            if filters.get(key):
                statement = statement.where(getattr(Measure, key) == filters[key])
        if filters.get("operator_id") is not None:
            statement = statement.where(Measure.operator_id == filters["operator_id"])
    elif dataset == "requests":
        prescriber = orm.aliased(Organisation, name="prescriber_org")
        statement = (
            sa.select(Request.id, Request.reference, Request.measure_type, Request.status, Request.origin,
                      Request.commission_code, Request.created_at, Request.submitted_at, Request.consent_date,
                      *_household_fields(tenant_id), prescriber.name.label("prescriber_name"))
            .select_from(Request)
            .join(Household, Household.id == Request.household_id)
            .outerjoin(prescriber, prescriber.id == Request.prescriber_organisation_id)
            .where(Request.tenant_id == tenant_id, request_criteria(actor))
            .order_by(Request.id)
        )
        statement = _created_between(statement, Request.created_at, date_from, date_to)
        for key in ("measure_type", "status"):
            if filters.get(key):
                statement = statement.where(getattr(Request, key) == filters[key])
        if filters.get("operator_id") is not None:
            statement = statement.where(Request.id.in_(sa.select(Measure.request_id).where(
                Measure.operator_id == filters["operator_id"])))
    elif dataset == "households":
        members_count = (sa.select(sa.func.count(HouseholdMember.id))
                         .where(HouseholdMember.household_id == Household.id)
                         .correlate(Household).scalar_subquery())
        statement = (
            sa.select(*_household_fields(tenant_id), Household.created_at, members_count.label("members_count"))
            .select_from(Household)
            .where(Household.tenant_id == tenant_id, household_criteria(actor))
            .order_by(Household.id)
        )
        statement = _created_between(statement, Household.created_at, date_from, date_to)
        if filters.get("measure_type") or filters.get("operator_id") is not None:
            measures = sa.select(Measure.household_id)
            if filters.get("measure_type"):
                measures = measures.where(Measure.measure_type == filters["measure_type"])
            if filters.get("operator_id") is not None:
                measures = measures.where(Measure.operator_id == filters["operator_id"])
            statement = statement.where(Household.id.in_(measures))
    elif dataset == "decisions":
        operator = orm.aliased(Organisation, name="operator_org")
        statement = (
            sa.select(Decision.id, Decision.decision_date, Decision.outcome, Decision.measure_type,
                      Decision.duration_months, Decision.reason, Decision.redirected_to,
                      Request.id.label("request_id"), Request.reference.label("request_reference"),
                      Request.commission_code, Household.id.label("household_id"),
                      Household.reference.label("household_reference"), *_reference_person(tenant_id)[:2],
                      Household.sector,
                      operator.name.label("operator_name"), CommissionSession.session_date)
            .select_from(Decision)
            .join(Request, Request.id == Decision.request_id)
            .join(Household, Household.id == Request.household_id)
            .outerjoin(operator, operator.id == Decision.operator_id)
            .outerjoin(CommissionSession, CommissionSession.id == Decision.session_id)
            .where(Decision.tenant_id == tenant_id,
                   Decision.request_id.in_(sa.select(Request.id).where(request_criteria(actor))))
            .order_by(Decision.id)
        )
        if date_from:
            statement = statement.where(Decision.decision_date >= date_from)
        if date_to:
            statement = statement.where(Decision.decision_date <= date_to)
        if filters.get("measure_type"):
            statement = statement.where(Decision.measure_type == filters["measure_type"])
        if filters.get("status"):
            statement = statement.where(Decision.outcome == filters["status"])
        if filters.get("operator_id") is not None:
            statement = statement.where(Decision.operator_id == filters["operator_id"])
    else:
        raise ValidationFailed({"dataset": ["Jeu de données inconnu."]})
    if sector:
        statement = statement.where(Household.sector == sector)
    return statement


@dataclass
class ExportPlan:
    """What a run writes: the header, and how to turn a streamed row into values.

    A pseudonymised plan with quasi-identifiers (``ColumnDef.quasi``) ends with a column saying
    which rows were generalised or masked; :func:`stream_rows` settles that from a first pass
    (:mod:`asll.services.rgpd.kanonymity`) and writes the counts into that column's header."""

    columns: list[ColumnDef]
    pseudonymised: bool
    secret: bytes | None = None
    k: int = 0
    header: list[str] = field(init=False)
    quasi: list[int] = field(init=False)
    protection: Protection | None = field(init=False, default=None)

    def __post_init__(self):
        self.header = [self._label(c) for c in self.columns]
        self.quasi = [i for i, c in enumerate(self.columns) if self.pseudonymised and c.quasi] if self.k else []
        if self.quasi:
            self.header.append("Valeurs masquées")

    def _label(self, column: ColumnDef) -> str:
        if self.pseudonymised and column.pseudonym:
            return column.pseudonym_label
        if self.pseudonymised and column.banded:
            return column.banded_label or column.label
        return column.label

    def _value(self, column: ColumnDef, row):
        if self.pseudonymised and column.pseudonym:
            return pseudonym(self.secret, column.pseudonym, getattr(row, column.pseudonym_id))
        if self.pseudonymised:
            return to_month(column.banded(row) if column.banded else column.value(row))
        return column.value(row)

    def combination(self, row) -> tuple:
        return tuple(self._value(self.columns[i], row) for i in self.quasi)

    def protect(self, combinations) -> None:
        """Settle the steps from the export's combinations (the first pass); the header says the counts."""
        from asll.services.rgpd.kanonymity import Protection, export_k

        groups = tuple(self.columns[i].quasi for i in self.quasi)
        self.protection = Protection(self.k, groups).plan(combinations)
        self.header[-1] = self.protection.header()  # in place: the caller may hold the list already

    def values(self, row) -> list:
        out = [self._value(column, row) for column in self.columns]
        if self.protection is not None:
            shown, note = self.protection.apply(tuple(out[i] for i in self.quasi))
            for index, value in zip(self.quasi, shown, strict=True):
                out[index] = value
            out.append(note)
        return out


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ].*)?$")


def to_month(value):
    """A date (or an ISO date a plugin's column gives as text) as « MM/AAAA »: a pseudonymised export
    keeps no date finer than the month; any other value as it is."""
    if isinstance(value, str) and _ISO_DATE.match(value):
        value = date.fromisoformat(value[:10])
    if isinstance(value, datetime):
        value = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(ZoneInfo("Europe/Paris")).date()
    if isinstance(value, date):
        return f"{value.month:02d}/{value.year}"
    return value


def plan_for(actor: Actor, dataset: str, keys: list[str], pseudonymised: bool) -> ExportPlan:
    available = {c.key: c for c in columns_for(actor.tenant_id, dataset)}
    columns = [available[k] for k in keys if k in available and not (pseudonymised and available[k].personal)]
    if not columns:
        raise ValidationFailed({"columns": ["Aucune colonne exportable."]})
    secret = tenant_secret(actor.tenant_id) if pseudonymised else None
    k = export_k(actor.tenant_id) if pseudonymised else 0
    return ExportPlan(columns, pseudonymised, secret, k)


def count_rows(actor: Actor, dataset: str, filters: dict) -> int:
    inner = _statement(actor, dataset, filters, with_entity=False).order_by(None).subquery()
    return db.session.scalar(sa.select(sa.func.count()).select_from(inner)) or 0


def stream_rows(actor: Actor, dataset: str, filters: dict, plan: ExportPlan) -> Iterator[list]:
    """The export's rows, streamed from the database in batches (never all in memory).

    A pseudonymised plan with quasi-identifiers reads the rows' combinations first (one more
    streamed pass, only those columns kept, as counts), before anything is written: that pass
    runs now, so the header holds its counts when the writer starts."""
    if plan.quasi:
        plan.protect(_stream(actor, dataset, filters, plan, plan.combination, with_entity=False))
    return _stream(actor, dataset, filters, plan, plan.values, with_entity=any(c.plugin for c in plan.columns))


def _stream(actor: Actor, dataset: str, filters: dict, plan: ExportPlan, read, *, with_entity: bool) -> Iterator:
    statement = _statement(actor, dataset, filters, with_entity).execution_options(yield_per=YIELD_PER)
    result = db.session.execute(statement)
    try:
        for row in result:
            yield read(row)
    finally:
        result.close()


def has_household(tenant_id: int, dataset: str, filters: dict, household_id: int) -> bool:
    """Whether an export of ``dataset`` with ``filters`` has a row of the household, whoever asked for it.

    The RGPD expires the named exports holding a household it anonymises or erases. The access
    criteria are left out (they only ever narrow a user's rows, and may have narrowed since the
    file was produced): a file that might hold the household counts as holding it."""
    from asll.models import Role

    everyone = Actor(user_id=None, label="rgpd", tenant_id=tenant_id, roles=frozenset({Role.AUDITOR}))
    statement = (_statement(everyone, dataset, filters or {}, with_entity=False).order_by(None)
                 .where(Household.id == household_id).limit(1))
    return db.session.execute(statement).first() is not None
