"""Yearly activity statistics of a tenant, computed by SQL aggregation, and their charts.

Definitions (the seeds count measures and *mois-mesures* without defining them; these
are the platform's, and the yearly report prints them):

* A measure **runs** from its ``start_date`` (the contract's date) up to, not including,
  its *effective end*: ``end_date`` when it was ended; otherwise its ``planned_end_date``
  if that is already past; otherwise tomorrow (it is still running today). A measure that
  never started never ran. Suspended periods are not subtracted (the measure is still
  followed by the operator).
* A measure is **followed** in a year ("mesure suivie") when it ran on at least one day
  of the year; it is **new** when its ``start_date`` is in the year.
* **Mois-mesures** of a year: for each measure, the number of calendar months of the year
  in which it ran on at least one day, summed. Computed by joining the measures to a
  12-row table of the year's months on overlap (portable SQL: SQLite and PostgreSQL).
* **Households** followed: distinct households with a followed measure.
* **Average duration** (months) of the measures that ended in the year, from start to end:
  whole calendar months plus the difference of days over 30.
* **Prolongation rate**: followed measures prolonged at least once, over followed measures.
* **Deadlines**: the measures' obligations due in the year: met (fulfilled on or before
  the due date), missed (fulfilled late, or still open after the due date), pending.
* **Typology** of the public (resources, housing status, age bracket of the reference
  person in the year) is counted over the households followed.

Every figure comes from ``GROUP BY`` queries in the current tenant; Python only turns
counts into percentages. Plugins add their own tables through ``asll_statistics``.
Statistics are for the roles that see the whole tenant (admin, agent, auditor).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from html import escape

import sqlalchemy as sa

from asll.domain.calendar import today
from asll.domain.machine import END_REASONS
from asll.extensions import db
from asll.models import (
    AnonymisedHousehold,
    Decision,
    DecisionOutcome,
    Household,
    HouseholdMember,
    HousingStatus,
    Measure,
    Obligation,
    ObligationState,
    Organisation,
    OrganisationKind,
    Request,
)
from asll.plugins.contract import MEASURE_KIND_LABELS, MeasureKind, StatTable
from asll.services import plugins as plugin_service
from asll.services.access import TENANT_WIDE_ROLES
from asll.services.actor import Actor
from asll.services.errors import PermissionDenied, ValidationFailed

MONTH_LABELS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
                "octobre", "novembre", "décembre")
AGE_BRACKETS = ("Moins de 25 ans", "25 à 39 ans", "40 à 59 ans", "60 ans et plus", "Âge non renseigné")
NOT_GIVEN = "Non renseigné"
TOTAL = "Total"
MIN_YEAR, MAX_YEAR = 1990, 2100
STATISTICS_ROLES = TENANT_WIDE_ROLES


def require_statistics_role(actor: Actor) -> None:
    if actor.tenant_id is None or not actor.has(*STATISTICS_ROLES):
        raise PermissionDenied("Les statistiques sont réservées à l'administration, aux agents du Département "
                               "et aux auditeurs.")


def check_year(year) -> int:
    try:
        year = int(year)
    except (TypeError, ValueError):
        raise ValidationFailed({"year": ["Année invalide."]}) from None
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValidationFailed({"year": [f"L'année doit être comprise entre {MIN_YEAR} et {MAX_YEAR}."]})
    return year


def percent(part, whole) -> int:
    """A share as a whole percentage, rounded half up (as the départements' tables print them)."""
    if not whole:
        return 0
    return int((Decimal(part) * 100 / Decimal(whole)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _one_decimal(value) -> float | None:
    if value is None:
        return None
    return float(Decimal(str(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


# -- the year's measures as SQL ---------------------------------------------------------
@dataclass(frozen=True)
class Period:
    year: int
    first: date  # 1 January
    after: date  # 1 January of the next year (exclusive bound)
    tomorrow: date  # exclusive end of a measure still running today

    @classmethod
    def of(cls, year: int, on: date | None = None) -> Period:
        current = on or today()
        return cls(year, date(year, 1, 1), date(year + 1, 1, 1), current + timedelta(days=1))

    @property
    def months_elapsed(self) -> int:
        """Months of the year already begun (12 for a past year): the denominator of monthly use."""
        current = self.tomorrow - timedelta(days=1)
        if current >= self.after:
            return 12
        if current < self.first:
            return 0
        return current.month


def _date(value: date):
    return sa.literal(value, sa.Date())


def months_table(year: int):
    """The 12 months of ``year`` as rows (month, first day, first day of the next month)."""
    rows = []
    for month in range(1, 13):
        start = date(year, month, 1)
        after = date(year + (month == 12), month % 12 + 1, 1)
        rows.append(sa.select(sa.literal(month, sa.Integer()).label("month"), _date(start).label("month_start"),
                              _date(after).label("month_after")))
    return sa.union_all(*rows).cte(f"months_{year}")


def effective_end(period: Period):
    """Exclusive end of a measure: its end, else its past planned end, else tomorrow."""
    return sa.case(
        (Measure.end_date.is_not(None), Measure.end_date),
        (sa.and_(Measure.planned_end_date.is_not(None), Measure.planned_end_date < _date(period.tomorrow)),
         Measure.planned_end_date),
        else_=_date(period.tomorrow),
    )


def ran_between(period: Period, first, after):
    """The measure ran on at least one day of [first, after)."""
    end = effective_end(period)
    return sa.and_(Measure.start_date.is_not(None), Measure.start_date < after, end > first,
                   end > Measure.start_date)


def activity(tenant_id: int, period: Period):
    """One row per measure followed in the year, with whether it is new and its mois-mesures."""
    months = months_table(period.year)
    months_run = (sa.select(sa.func.count()).select_from(months)
                  .where(ran_between(period, months.c.month_start, months.c.month_after))
                  .correlate(Measure).scalar_subquery())
    return (
        sa.select(
            Measure.id.label("measure_id"),
            Measure.kind.label("kind"),
            Measure.measure_type.label("measure_type"),
            Measure.operator_id.label("operator_id"),
            Measure.household_id.label("household_id"),
            Measure.request_id.label("request_id"),
            Measure.prolongation_count.label("prolongation_count"),
            sa.case((Measure.start_date >= _date(period.first), 1), else_=0).label("is_new"),
            months_run.label("months"),
        )
        .where(Measure.tenant_id == tenant_id, ran_between(period, _date(period.first), _date(period.after)))
        .subquery("activity")
    )


# -- the core's tables -------------------------------------------------------------------
def _rows(statement) -> list:
    return list(db.session.execute(statement))


def _summary(tenant_id: int, period: Period, act) -> StatTable:
    followed, new, households, months, prolonged = db.session.execute(sa.select(
        sa.func.count(act.c.measure_id),
        sa.func.coalesce(sa.func.sum(act.c.is_new), 0),
        sa.func.count(sa.distinct(act.c.household_id)),
        sa.func.coalesce(sa.func.sum(act.c.months), 0),
        sa.func.coalesce(sa.func.sum(sa.case((act.c.prolongation_count > 0, 1), else_=0)), 0),
    )).one()
    ended_in_year = sa.and_(Measure.tenant_id == tenant_id, Measure.end_date >= _date(period.first),
                            Measure.end_date < _date(period.after))
    duration = (
        (sa.extract("year", Measure.end_date) * 12 + sa.extract("month", Measure.end_date))
        - (sa.extract("year", Measure.start_date) * 12 + sa.extract("month", Measure.start_date))
        + (sa.extract("day", Measure.end_date) - sa.extract("day", Measure.start_date)) / 30.0
    )
    ended, average = db.session.execute(
        sa.select(sa.func.count(Measure.id), sa.func.avg(sa.case((Measure.start_date.is_not(None), duration))))
        .where(ended_in_year)).one()
    rows = (
        ("Mesures suivies dans l'année", followed),
        ("dont mesures nouvelles (démarrées dans l'année)", new),
        ("dont mesures commencées avant l'année", followed - new),
        ("Ménages accompagnés", households),
        ("Mois-mesures", months),
        ("Mesures terminées dans l'année", ended),
        ("Durée moyenne des mesures terminées (mois)", _one_decimal(average) if average is not None else "—"),
        ("Mesures prolongées au moins une fois", prolonged),
        ("Taux de prolongation (%)", percent(prolonged, followed)),
    )
    return StatTable("synthese", f"Synthèse de l'activité {period.year}", ("Indicateur", "Valeur"), rows,
                     note="Mesure suivie : en cours au moins un jour de l'année. Mois-mesures : nombre de mois "
                          "civils de l'année pendant lesquels chaque mesure a été en cours, additionné.")


def _by_kind(act) -> StatTable:
    found = {row.kind: row for row in _rows(
        sa.select(act.c.kind, sa.func.count().label("followed"), sa.func.sum(act.c.is_new).label("new"),
                  sa.func.sum(act.c.months).label("months")).group_by(act.c.kind))}
    total = sum(row.followed for row in found.values())
    order = [k.value for k in MeasureKind] + sorted(set(found) - {k.value for k in MeasureKind})
    rows = [
        (MEASURE_KIND_LABELS.get(kind, kind), found[kind].followed, percent(found[kind].followed, total),
         int(found[kind].new or 0), int(found[kind].months or 0))
        for kind in order if kind in found
    ]
    if rows:
        rows.append((TOTAL, total, 100, sum(r[3] for r in rows), sum(r[4] for r in rows)))
    return StatTable("par_nature", "Mesures suivies par nature", ("Nature", "Mesures suivies", "Part (%)",
                     "dont nouvelles", "Mois-mesures"), tuple(rows), chart="pie")


def _by_type(tenant_id: int, act) -> StatTable:
    definitions = plugin_service.measure_types(tenant_id)
    rows = [
        (definitions[row.measure_type].label if row.measure_type in definitions else row.measure_type,
         MEASURE_KIND_LABELS.get(row.kind, row.kind), row.followed, int(row.new or 0), int(row.months or 0))
        for row in _rows(sa.select(act.c.measure_type, act.c.kind, sa.func.count().label("followed"),
                                   sa.func.sum(act.c.is_new).label("new"), sa.func.sum(act.c.months).label("months"))
                         .group_by(act.c.measure_type, act.c.kind).order_by(act.c.measure_type))
    ]
    return StatTable("par_type", "Mesures suivies par type de mesure",
                     ("Type de mesure", "Nature", "Mesures suivies", "dont nouvelles", "Mois-mesures"),
                     tuple(rows), chart="bar")


def _by_operator(tenant_id: int, period: Period, act) -> StatTable:
    per_operator = (sa.select(act.c.operator_id, sa.func.count().label("followed"),
                              sa.func.sum(act.c.is_new).label("new"), sa.func.sum(act.c.months).label("months"))
                    .group_by(act.c.operator_id).subquery("per_operator"))
    statement = (
        sa.select(Organisation.name, Organisation.capacity, Organisation.capacity_unit,
                  sa.func.coalesce(per_operator.c.followed, 0).label("followed"),
                  sa.func.coalesce(per_operator.c.new, 0).label("new"),
                  sa.func.coalesce(per_operator.c.months, 0).label("months"))
        .select_from(Organisation)
        .outerjoin(per_operator, per_operator.c.operator_id == Organisation.id)
        .where(Organisation.tenant_id == tenant_id,
               sa.or_(Organisation.kind == OrganisationKind.OPERATOR, per_operator.c.followed.is_not(None)))
        .order_by(Organisation.name)
    )
    rows = []
    for row in _rows(statement):
        capacity, use = row.capacity, None
        if row.capacity_unit == "year":
            unit = "ménages par an"
            use = percent(row.followed, capacity) if capacity else None
        else:
            unit = "ménages par mois"
            if capacity and period.months_elapsed:
                use = percent(Decimal(int(row.months)) / period.months_elapsed, capacity)
        rows.append((row.name, int(row.followed), int(row.new), int(row.months),
                     capacity if capacity is not None else "—", unit if capacity is not None else "—",
                     use if use is not None else "—"))
    unassigned = db.session.execute(
        sa.select(sa.func.count(), sa.func.sum(act.c.is_new), sa.func.sum(act.c.months))
        .where(act.c.operator_id.is_(None))).one()
    if unassigned[0]:
        rows.append(("Sans opérateur désigné", unassigned[0], int(unassigned[1] or 0), int(unassigned[2] or 0),
                     "—", "—", "—"))
    return StatTable("par_operateur", "Activité par opérateur : capacité et utilisation",
                     ("Opérateur", "Mesures suivies", "dont nouvelles", "Mois-mesures", "Capacité", "Unité",
                      "Utilisation (%)"), tuple(rows), chart="bar",
                     note="Utilisation : pour une capacité mensuelle, mois-mesures divisés par les mois écoulés "
                          "de l'année, rapportés à la capacité ; pour une capacité annuelle, mesures suivies "
                          "rapportées à la capacité.")


def _grouped_share(act, key_column, join, title: str, key: str, heading: str,
                   chart: str | None = "bar") -> StatTable:
    """Followed measures grouped by one column of a joined table, with shares."""
    statement = join(sa.select(key_column.label("key"), sa.func.count().label("n")).select_from(act))
    statement = statement.group_by(key_column).order_by(sa.desc("n"), key_column)
    found = _rows(statement)
    total = sum(row.n for row in found)
    rows = [(row.key if row.key not in (None, "") else NOT_GIVEN, row.n, percent(row.n, total)) for row in found]
    if rows:
        rows.append((TOTAL, total, 100))
    return StatTable(key, title, (heading, "Mesures suivies", "Part (%)"), tuple(rows), chart=chart)


def _public(tenant_id: int, period: Period, act) -> list[StatTable]:
    followed = sa.select(act.c.household_id).distinct().subquery("followed_households")
    reference_birth = (sa.select(HouseholdMember.birth_date)
                       .where(HouseholdMember.household_id == Household.id, HouseholdMember.is_reference)
                       .order_by(HouseholdMember.id).limit(1).correlate(Household).scalar_subquery())
    age = period.year - sa.extract("year", reference_birth)
    # An anonymised file has no birth date any more: the bracket it had that year was kept (services/rgpd).
    kept = (sa.select(AnonymisedHousehold.age_brackets[str(period.year)].as_string())
            .where(AnonymisedHousehold.household_id == Household.id).correlate(Household).scalar_subquery())
    bracket = sa.func.coalesce(kept, sa.case(
        (reference_birth.is_(None), AGE_BRACKETS[4]),
        (age < 25, AGE_BRACKETS[0]),
        (age < 40, AGE_BRACKETS[1]),
        (age < 60, AGE_BRACKETS[2]),
        else_=AGE_BRACKETS[3],
    ))
    # One row per followed household first, so that the groups are plain columns.
    public = (sa.select(Household.resources_kind.label("resources"), Household.housing_status.label("status"),
                        bracket.label("age_bracket"))
              .select_from(followed).join(Household, Household.id == followed.c.household_id)
              .where(Household.tenant_id == tenant_id).subquery("public"))

    def grouped(column, key, title, heading, labels=None, order=(), chart="pie"):
        found = {row.key: row.n for row in _rows(
            sa.select(column.label("key"), sa.func.count().label("n")).group_by(column))}
        total = sum(found.values())
        keys = [k for k in order if k in found] + sorted(
            (k for k in found if k not in order), key=lambda k: (-found[k], str(k)))
        rows = [((labels or {}).get(k, k) if k not in (None, "") else NOT_GIVEN, found[k], percent(found[k], total))
                for k in keys]
        if rows:
            rows.append((TOTAL, total, 100))
        return StatTable(key, title, (heading, "Ménages", "Part (%)"), tuple(rows), chart=chart)

    return [
        grouped(public.c.resources, "public_ressources", "Public : nature des ressources", "Ressources"),
        grouped(public.c.status, "public_statut", "Public : statut d'occupation du logement",
                "Statut d'occupation", labels={s: s.label for s in HousingStatus}, order=list(HousingStatus)),
        grouped(public.c.age_bracket, "public_age", f"Public : âge de la personne de référence en {period.year}",
                "Tranche d'âge", order=list(AGE_BRACKETS), chart="bar"),
    ]


def _by_month(tenant_id: int, period: Period) -> StatTable:
    months = months_table(period.year)
    statement = (
        sa.select(months.c.month, sa.func.count(Measure.id).label("n"))
        .select_from(months)
        .outerjoin(Measure, sa.and_(Measure.tenant_id == tenant_id,
                                    ran_between(period, months.c.month_start, months.c.month_after)))
        .group_by(months.c.month).order_by(months.c.month)
    )
    rows = tuple((MONTH_LABELS[row.month - 1].capitalize(), row.n) for row in _rows(statement))
    return StatTable("par_mois", f"Mesures en cours chaque mois de {period.year}", ("Mois", "Mesures en cours"),
                     rows, chart="bar", note="La somme des mesures en cours de chaque mois est le nombre de "
                                             "mois-mesures de l'année.")


def _ends(tenant_id: int, period: Period) -> StatTable:
    found = _rows(sa.select(Measure.end_reason.label("key"), sa.func.count().label("n"))
                  .where(Measure.tenant_id == tenant_id, Measure.end_date >= _date(period.first),
                         Measure.end_date < _date(period.after))
                  .group_by(Measure.end_reason).order_by(sa.desc("n"), Measure.end_reason))
    total = sum(row.n for row in found)
    rows = [(END_REASONS.get(row.key, row.key or NOT_GIVEN), row.n, percent(row.n, total)) for row in found]
    if rows:
        rows.append((TOTAL, total, 100))
    return StatTable("fins", f"Mesures terminées en {period.year} par motif de fin", ("Motif de fin", "Mesures",
                     "Part (%)"), tuple(rows), chart="pie")


def _decisions(tenant_id: int, period: Period) -> StatTable:
    found = {row.outcome: row.n for row in _rows(
        sa.select(Decision.outcome, sa.func.count().label("n"))
        .where(Decision.tenant_id == tenant_id, Decision.decision_date >= _date(period.first),
               Decision.decision_date < _date(period.after)).group_by(Decision.outcome))}
    total = sum(found.values())
    rows = [(outcome.label, found[outcome], percent(found[outcome], total)) for outcome in DecisionOutcome
            if outcome in found]
    if rows:
        rows.append((TOTAL, total, 100))
    return StatTable("decisions", f"Décisions prises en {period.year}", ("Décision", "Nombre", "Part (%)"),
                     tuple(rows), chart="pie")


def _deadlines(tenant_id: int, period: Period) -> StatTable:
    closed_on = sa.func.date(Obligation.closed_at)
    done = Obligation.state == ObligationState.DONE
    still_open = Obligation.state.in_((ObligationState.OPEN, ObligationState.OVERDUE))
    current = _date(period.tomorrow - timedelta(days=1))
    met = sa.case((sa.and_(done, closed_on <= Obligation.due_date), 1), else_=0)
    late = sa.case((sa.and_(done, closed_on > Obligation.due_date), 1), else_=0)
    overdue = sa.case((sa.and_(still_open, Obligation.due_date < current), 1), else_=0)
    pending = sa.case((sa.and_(still_open, Obligation.due_date >= current), 1), else_=0)
    statement = (
        sa.select(Obligation.kind, sa.func.max(Obligation.label).label("label"),
                  sa.func.sum(met).label("met"), sa.func.sum(late).label("late"),
                  sa.func.sum(overdue).label("overdue"), sa.func.sum(pending).label("pending"))
        .where(Obligation.tenant_id == tenant_id, Obligation.due_date >= _date(period.first),
               Obligation.due_date < _date(period.after), Obligation.state != ObligationState.WAIVED)
        .group_by(Obligation.kind).order_by(Obligation.kind)
    )
    rows = []
    for row in _rows(statement):
        met_n, late_n, overdue_n, pending_n = (int(row.met or 0), int(row.late or 0), int(row.overdue or 0),
                                               int(row.pending or 0))
        rows.append((row.label, met_n, late_n + overdue_n, late_n, overdue_n, pending_n,
                     percent(met_n, met_n + late_n + overdue_n)))
    if rows:
        met_t, missed_t = sum(r[1] for r in rows), sum(r[2] for r in rows)
        rows.append((TOTAL, met_t, missed_t, sum(r[3] for r in rows), sum(r[4] for r in rows),
                     sum(r[5] for r in rows), percent(met_t, met_t + missed_t)))
    return StatTable("echeances", f"Échéances arrivées en {period.year} : respectées et manquées",
                     ("Échéance", "Respectées", "Manquées", "dont tenues en retard", "dont non tenues",
                      "À venir", "Respect (%)"), tuple(rows), chart="bar",
                     note="Une échéance est respectée si l'obligation a été remplie au plus tard à sa date "
                          "d'échéance ; les obligations devenues sans objet ne sont pas comptées.")


def core_tables(tenant_id: int, year: int, *, on: date | None = None) -> list[StatTable]:
    """The platform's own tables for ``tenant_id`` and ``year`` (``on`` is "today", for tests)."""
    period = Period.of(year, on)
    act = activity(tenant_id, period)
    origin = Request.origin
    prescriber = sa.func.coalesce(Organisation.name, "")
    return [
        _summary(tenant_id, period, act),
        _by_kind(act),
        _by_type(tenant_id, act),
        _by_month(tenant_id, period),
        _by_operator(tenant_id, period, act),
        _grouped_share(act, Household.sector, lambda s: s.join(Household, Household.id == act.c.household_id),
                       "Mesures suivies par secteur du ménage", "par_secteur", "Secteur"),
        _grouped_share(act, origin, lambda s: s.outerjoin(Request, Request.id == act.c.request_id),
                       "Mesures suivies par origine de la demande", "par_origine", "Origine", chart="pie"),
        _grouped_share(act, prescriber, lambda s: s.outerjoin(Request, Request.id == act.c.request_id)
                       .outerjoin(Organisation, Organisation.id == Request.prescriber_organisation_id),
                       "Mesures suivies par service instructeur", "par_prescripteur", "Service instructeur"),
        *_public(tenant_id, period, act),
        _ends(tenant_id, period),
        _decisions(tenant_id, period),
        _deadlines(tenant_id, period),
    ]


def plugin_tables(tenant_id: int, year: int) -> list[StatTable]:
    """The tables of the plugins enabled for the tenant, keys prefixed by the plugin when needed."""
    tables = []
    for plugin, table in plugin_service.collect(tenant_id, "asll_statistics", year=year):
        if not isinstance(table, StatTable):
            raise TypeError(f"Le plugin « {plugin} » a renvoyé autre chose qu'un StatTable.")
        if not table.key.startswith(f"{plugin}."):
            table = replace(table, key=f"{plugin}.{table.key}")
        tables.append(table)
    return tables


def tables_for(actor: Actor, year, *, on: date | None = None) -> list[StatTable]:
    """Every table of the actor's tenant for ``year``: the core's, then the plugins'."""
    require_statistics_role(actor)
    return tenant_tables(actor.tenant_id, year, on=on)


def tenant_tables(tenant_id: int, year, *, on: date | None = None) -> list[StatTable]:
    """The tables of a tenant with no actor check: for the command line (aggregates only)."""
    year = check_year(year)
    return core_tables(tenant_id, year, on=on) + plugin_tables(tenant_id, year)


def table(tables: list[StatTable], key: str) -> StatTable:
    return next(t for t in tables if t.key == key)


def as_dict(table: StatTable) -> dict:
    """A table as ``{first column: row}`` (rows keyed by their label), handy for reading figures."""
    return {row[0]: row for row in table.rows}


# -- charts as inline SVG -----------------------------------------------------------------
PALETTE = ("#000091", "#e1000f", "#18753c", "#b34000", "#6a6af4", "#a558a0", "#009099", "#7f7f7f",
           "#c3992a", "#3a3a3a")


def _number(value) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | Decimal):
        return float(value)
    return None


def chart_points(table: StatTable) -> list[tuple[str, float]]:
    """(label, value) pairs a chart draws: first value column, total rows left out."""
    points = []
    for row in table.rows:
        if len(row) < 2 or str(row[0]) == TOTAL:
            continue
        value = _number(row[1])
        if value is not None:
            points.append((str(row[0]), value))
    return points


def format_number(value) -> str:
    """French number formatting: thin no-break space for thousands, comma for decimals."""
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, int):
        return f"{value:,}".replace(",", "\u202f")
    if isinstance(value, float | Decimal):
        text = f"{float(value):,.1f}".replace(",", "\u202f").replace(".", ",")
        return text[:-2] if text.endswith(",0") else text
    return "" if value is None else str(value)


def svg_chart(table: StatTable, *, width: int = 640) -> str:
    """The table's chart as an accessible inline SVG (presentation attributes only: no CSS, no JS)."""
    points = chart_points(table)
    if table.chart not in ("bar", "pie") or not points or not any(v for _, v in points):
        return ""
    chart_id = "graphique-" + "".join(c if c.isalnum() else "-" for c in table.key)
    if table.chart == "pie":
        body, height = _pie(points, width)
    else:
        body, height = _bars(points, width)
    summary = "; ".join(f"{label} : {format_number(value)}" for label, value in points)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-labelledby="{chart_id}-titre {chart_id}-desc">'
        f'<title id="{chart_id}-titre">{escape(table.title)}</title>'
        f'<desc id="{chart_id}-desc">{escape(summary)}</desc>{body}</svg>'
    )


def _truncate(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


def _bars(points: list[tuple[str, float]], width: int) -> tuple[str, int]:
    bar, gap, label_width, top = 18, 8, 220, 6
    height = top * 2 + len(points) * (bar + gap)
    highest = max(v for _, v in points) or 1
    room = width - label_width - 70
    parts = []
    for index, (label, value) in enumerate(points):
        y = top + index * (bar + gap)
        length = max(0.0, value) / highest * room
        parts.append(
            f'<text x="{label_width - 6}" y="{y + bar * 0.72:.1f}" text-anchor="end" font-size="12" '
            f'font-family="DejaVu Sans, Arial, sans-serif" fill="#161616">{escape(_truncate(label, 34))}</text>'
            f'<rect x="{label_width}" y="{y}" width="{length:.1f}" height="{bar}" '
            f'fill="{PALETTE[index % len(PALETTE)]}"></rect>'
            f'<text x="{label_width + length + 4:.1f}" y="{y + bar * 0.72:.1f}" font-size="12" '
            f'font-family="DejaVu Sans, Arial, sans-serif" fill="#161616">{escape(format_number(value))}</text>'
        )
    return "".join(parts), height


def _pie(points: list[tuple[str, float]], width: int) -> tuple[str, int]:
    radius, cx, cy = 90, 100, 100
    legend_line = 20
    height = max(2 * cy, 20 + len(points) * legend_line)
    total = sum(max(0.0, v) for _, v in points) or 1
    parts, angle = [], -math.pi / 2
    for index, (label, value) in enumerate(points):
        share = max(0.0, value) / total
        colour = PALETTE[index % len(PALETTE)]
        if share >= 0.9999:
            parts.append(f'<circle cx="{cx}" cy="{cy}" r="{radius}" fill="{colour}"></circle>')
        elif share > 0:
            end = angle + share * 2 * math.pi
            x1, y1 = cx + radius * math.cos(angle), cy + radius * math.sin(angle)
            x2, y2 = cx + radius * math.cos(end), cy + radius * math.sin(end)
            large = 1 if share > 0.5 else 0
            parts.append(f'<path d="M{cx},{cy} L{x1:.2f},{y1:.2f} A{radius},{radius} 0 {large},1 {x2:.2f},{y2:.2f} Z" '
                         f'fill="{colour}" stroke="#ffffff" stroke-width="1"></path>')
            angle = end
        y = 16 + index * legend_line
        parts.append(
            f'<rect x="{2 * cx + 20}" y="{y - 11}" width="12" height="12" fill="{colour}"></rect>'
            f'<text x="{2 * cx + 38}" y="{y}" font-size="12" font-family="DejaVu Sans, Arial, sans-serif" '
            f'fill="#161616">{escape(_truncate(label, 40))} : {escape(format_number(value))} '
            f'({percent(Decimal(str(max(0.0, value))), Decimal(str(total)))} %)</text>'
        )
    return "".join(parts), height
