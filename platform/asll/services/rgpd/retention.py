"""The retention task: which files leave the active base on a given day, and doing it.

A file's **last contact** is the latest date of its requests (creation, submission, consent),
decisions, measures (decision, start, end — or planned end while not ended —, notification,
bilan), measure
events, documents, other support measures, and of the contact dates its plugins declare
(``PersonalData.last_contact``). The support itself counts: a measure still running until
its planned end keeps the file active until then. A file is anonymised on day ``on`` when
``last contact + active_months`` (the policy) is *before* ``on``: kept through the
anniversary, anonymised from the next day.

A measure still running is never anonymised: its planned end is a contact, so its file stays
until 2 years after it (and the person's own erasure request is refused meanwhile, ``rights.py``).
A measure nobody ever ended (or that never started) is thus anonymised 2 years after its planned
end (or its decision) without any contact since: the support is over in fact, and the statistics
already count it ended at its planned end. Anonymising closes it (« clôturée », its dates left as
they are, so that no year's figures move), waives its deadlines still open from this year on (past
years' stay as their tables counted them) and cancels the reminder mails waiting for them: nobody
is reminded about a person the platform no longer knows. The plan says which measures it closes.

:func:`plan` is what the task would do (the admin's page and ``flask asll retention
--dry-run`` show it); :func:`apply` does exactly that plan, one file per transaction, each
with its audit entry, then destroys the archive entries whose legal period is over. A
per-tenant lock row keeps two runs of a tenant from overlapping.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from asll.domain.calendar import add_months, today
from asll.extensions import db
from asll.models import (
    AnonymisedHousehold,
    ArchiveEntry,
    Decision,
    Document,
    Household,
    Measure,
    MeasureEvent,
    Request,
    RetentionRun,
    SupportMeasure,
    Tenant,
)
from asll.models.base import utcnow
from asll.services import audit
from asll.services.actor import Actor
from asll.services.errors import ServiceError
from asll.services.rgpd import anonymise, data
from asll.services.rgpd.policy import Policy, policy_for
from asll.tenancy import tenant_context, unscoped

PARIS = ZoneInfo("Europe/Paris")
# The beat runs the task daily at this Paris time (tasks/schedule.py says the same).
RUN_AT = time(3, 30)
# Files anonymised per tenant and run: a backlog is worked through over the next days.
MAX_FILES_PER_RUN = 500
LOCK_MINUTES = 30


def local_date(value) -> date | None:
    """A stored date or datetime as a French calendar date (SQLite gives naive UTC back)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(PARIS).date()
    if isinstance(value, str):
        return local_date(datetime.fromisoformat(value)) if len(value) > 10 else date.fromisoformat(value)
    return value


def next_run_date(now: datetime | None = None) -> date:
    """The day of the next daily run: today before 3:30 (Paris), else tomorrow."""
    current = (now or datetime.now(PARIS)).astimezone(PARIS)
    return current.date() if current.time() < RUN_AT else current.date() + timedelta(days=1)


# -- last contact ---------------------------------------------------------------------
def core_last_contacts(household_ids: list[int] | None = None) -> dict[int, date]:
    """Households of the current tenant (all, or those named) with the last contact their core tables show."""
    found: dict[int, date] = {}

    def merge(statement, household_column):
        if household_ids is not None:
            statement = statement.where(household_column.in_(household_ids))
        for household_id, value in db.session.execute(statement).all():
            day = local_date(value)
            if day is not None and (household_id not in found or day > found[household_id]):
                found[household_id] = day

    merge(sa.select(Household.id, Household.created_at), Household.id)
    for column in (Request.created_at, Request.submitted_at, Request.consent_date):
        merge(sa.select(Request.household_id, sa.func.max(column)).group_by(Request.household_id),
              Request.household_id)
    for column in (Decision.decision_date, Decision.created_at):
        merge(sa.select(Request.household_id, sa.func.max(column))
              .join(Decision, Decision.request_id == Request.id).group_by(Request.household_id), Request.household_id)
    for column in (Measure.decision_date, Measure.start_date, Measure.end_date, Measure.notified_date,
                   Measure.bilan_date):
        merge(sa.select(Measure.household_id, sa.func.max(column)).group_by(Measure.household_id),
              Measure.household_id)
    # A measure not ended yet supports the household until its planned end.
    merge(sa.select(Measure.household_id, sa.func.max(Measure.planned_end_date)).where(Measure.end_date.is_(None))
          .group_by(Measure.household_id), Measure.household_id)
    for column in (MeasureEvent.at, MeasureEvent.effective_date):
        merge(sa.select(Measure.household_id, sa.func.max(column))
              .join(MeasureEvent, MeasureEvent.measure_id == Measure.id).group_by(Measure.household_id),
              Measure.household_id)
    merge(sa.select(Request.household_id, sa.func.max(Document.created_at))
          .join(Document, Document.request_id == Request.id).group_by(Request.household_id), Request.household_id)
    merge(sa.select(Measure.household_id, sa.func.max(Document.created_at))
          .join(Document, Document.measure_id == Measure.id).group_by(Measure.household_id), Measure.household_id)
    for column in (SupportMeasure.created_at, SupportMeasure.start_date, SupportMeasure.end_date):
        merge(sa.select(SupportMeasure.household_id, sa.func.max(column)).group_by(SupportMeasure.household_id),
              SupportMeasure.household_id)
    return found


def last_contact(tenant_id: int, household: Household, core: date | None = None) -> date:
    """One file's last contact: the core's dates (``core`` when already known) and the plugins' own."""
    if core is None:
        core = core_last_contacts([household.id])[household.id]
    plugin_dates = [s.last_contact for s in data.plugin_sections(tenant_id, data.household_file(household))
                    if s.last_contact]
    return max([core, *plugin_dates])


# -- the plan ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Candidate:
    household_id: int
    reference: str
    last_contact: date
    # The first day the file may be anonymised (last contact + the active period + 1 day).
    due_on: date
    # Its measures never ended (their planned end 2 years gone): the anonymisation closes them.
    closes: tuple[str, ...] = ()


@dataclass
class Plan:
    tenant_id: int
    tenant_label: str
    on: date
    policy: Policy
    files: list[Candidate] = field(default_factory=list)
    later: int = 0  # eligible files beyond MAX_FILES_PER_RUN, left to the next runs
    archive_to_destroy: list[tuple[str, int, date]] = field(default_factory=list)  # (reference, entries, after)
    problems: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.files and not self.archive_to_destroy


def due_on(last: date, policy: Policy) -> date:
    return add_months(last, policy.active_months) + timedelta(days=1)


def plan(tenant_id: int, on: date | None = None) -> Plan:
    """What the run of day ``on`` does in the current tenant (nothing is written)."""
    on = on or today()
    policy = policy_for(tenant_id)
    with unscoped():
        tenant = db.session.get(Tenant, tenant_id)
    from asll.services.rgpd.legal import departement_de

    result = Plan(tenant_id, f"{departement_de(tenant.code, tenant.name)} ({tenant.code})", on, policy)
    done = dict(db.session.execute(sa.select(AnonymisedHousehold.household_id,
                                               AnonymisedHousehold.last_contact)).all())
    references = dict(db.session.execute(sa.select(Household.id, Household.reference)).all())
    eligible = []
    for household_id, last in core_last_contacts().items():
        if due_on(last, policy) > on:
            continue
        if household_id in done and done[household_id] >= last:
            continue
        eligible.append((last, references[household_id], household_id))
    eligible.sort()
    left_open: dict[int, list[str]] = {}  # household -> its measures never ended: anonymising closes them
    for household_id, measure_reference in db.session.execute(
            sa.select(Measure.household_id, Measure.reference)
            .where(Measure.household_id.in_([e[2] for e in eligible]),
                   Measure.status.not_in(anonymise.CLOSED_MEASURES)).order_by(Measure.id)):
        left_open.setdefault(household_id, []).append(measure_reference)
    for last, reference, household_id in eligible:
        if len(result.files) >= MAX_FILES_PER_RUN:
            result.later += 1
            continue
        household = db.session.get(Household, household_id)
        try:
            last = last_contact(tenant_id, household, last)
        except ServiceError as exc:
            result.problems.append(f"{reference} : {exc.message}")
            continue
        if due_on(last, policy) > on or (household_id in done and done[household_id] >= last):
            continue
        result.files.append(Candidate(household_id, reference, last, due_on(last, policy),
                                      tuple(left_open.get(household_id, ()))))
    expired = db.session.execute(
        sa.select(ArchiveEntry.household_reference, sa.func.count(ArchiveEntry.id), sa.func.max(ArchiveEntry.destroy_after))
        .where(ArchiveEntry.destroy_after < on).group_by(ArchiveEntry.household_reference)
        .order_by(ArchiveEntry.household_reference)).all()
    result.archive_to_destroy = [(reference, count, after) for reference, count, after in expired]
    return result


# -- applying it ---------------------------------------------------------------------------
@dataclass
class Summary:
    tenant_id: int
    on: date
    anonymised: list[str] = field(default_factory=list)
    archived_entries: int = 0
    archive_destroyed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    skipped: bool = False  # another run of the tenant holds the lock

    def as_dict(self) -> dict:
        return {"tenant_id": self.tenant_id, "on": self.on.isoformat(), "anonymised": self.anonymised,
                "archived_entries": self.archived_entries, "archive_destroyed": self.archive_destroyed,
                "errors": self.errors, "skipped": self.skipped}


def _lock(tenant_id: int) -> str | None:
    """Take the tenant's run lock (a conditional UPDATE decides between two runs); None if held."""
    token = secrets.token_hex(8)
    now = utcnow()
    if db.session.scalar(sa.select(RetentionRun.id)) is None:
        db.session.add(RetentionRun(tenant_id=tenant_id, last_summary={}))
        try:
            db.session.commit()
        except sa.exc.IntegrityError:  # the other run created it first: the UPDATE below decides
            db.session.rollback()
    taken = db.session.execute(
        sa.update(RetentionRun).where(sa.or_(RetentionRun.locked_until.is_(None), RetentionRun.locked_until < now))
        .values(locked_until=now + timedelta(minutes=LOCK_MINUTES), locked_by=token)
        .execution_options(synchronize_session=False)).rowcount == 1
    db.session.commit()
    return token if taken else None


def _release(token: str, summary: Summary) -> None:
    db.session.rollback()
    db.session.execute(sa.update(RetentionRun).where(RetentionRun.locked_by == token).values(
        locked_until=None, locked_by="", last_run_on=summary.on, last_finished_at=utcnow(),
        last_summary=summary.as_dict()).execution_options(synchronize_session=False))
    db.session.commit()


def _renew(token: str) -> None:
    db.session.execute(sa.update(RetentionRun).where(RetentionRun.locked_by == token)
                       .values(locked_until=utcnow() + timedelta(minutes=LOCK_MINUTES))
                       .execution_options(synchronize_session=False))
    db.session.commit()


def apply(tenant_id: int, on: date | None = None) -> Summary:
    """Run the retention of day ``on`` for one tenant: exactly :func:`plan`'s files, then the archive."""
    on = on or today()
    summary = Summary(tenant_id, on)
    with tenant_context(tenant_id):
        token = _lock(tenant_id)
        if token is None:
            summary.skipped = True
            return summary
        try:
            actor = Actor.system(tenant_id, label="conservation des données (RGPD)")
            todo = plan(tenant_id, on)
            summary.errors.extend(todo.problems)
            for candidate in todo.files:
                try:
                    archived = anonymise.anonymise_household(actor, candidate.household_id, todo.policy, on,
                                                             candidate.last_contact)
                except ServiceError as exc:
                    db.session.rollback()
                    summary.errors.append(f"{candidate.reference} : {exc.message}")
                    continue
                except Exception:  # noqa: BLE001 - one broken file must not stop the others; logged
                    db.session.rollback()
                    current_app.logger.exception("Anonymisation du ménage %s impossible", candidate.reference)
                    summary.errors.append(f"{candidate.reference} : erreur technique, l'équipe a été prévenue.")
                    continue
                summary.anonymised.append(candidate.reference)
                summary.archived_entries += archived
                _renew(token)
            for reference, _count, _after in todo.archive_to_destroy:
                anonymise.destroy_archive(actor, reference, on)
                summary.archive_destroyed.append(reference)
        finally:
            _release(token, summary)
    return summary


def tenants_to_run() -> list[int]:
    """Active tenants, for the beat's fan-out."""
    with unscoped():
        return list(db.session.scalars(sa.select(Tenant.id).where(Tenant.active).order_by(Tenant.id)))


# -- in French, for the CLI and the admin's page --------------------------------------------
def describe(plan_: Plan) -> list[str]:
    """The plan as French lines (``flask asll retention --dry-run``)."""
    policy = plan_.policy
    lines = [f"Département {plan_.tenant_label} – passage du {plan_.on.strftime('%d/%m/%Y')} "
             f"(conservation : {policy.active_months} mois après le dernier contact ; archive intermédiaire : "
             + (f"{policy.archive_years} ans" if policy.archive_enabled else "non") + ")"]
    if plan_.files:
        lines.append(f"  {len(plan_.files)} dossier(s) à anonymiser :")
        for candidate in plan_.files:
            lines.append(f"    {candidate.reference} – dernier contact le {candidate.last_contact.strftime('%d/%m/%Y')}"
                         + (f" ; mesure(s) jamais terminée(s), clôturée(s) sans suite : {', '.join(candidate.closes)}"
                            if candidate.closes else ""))
    else:
        lines.append("  Aucun dossier à anonymiser.")
    if plan_.later:
        lines.append(f"  {plan_.later} autre(s) dossier(s) attendront les passages suivants "
                     f"({MAX_FILES_PER_RUN} au plus par passage).")
    for reference, count, _after in plan_.archive_to_destroy:
        lines.append(f"  Archive intermédiaire à détruire : {reference} ({count} élément(s), délai expiré).")
    for problem in plan_.problems:
        lines.append(f"  Non traité – {problem}")
    return lines
