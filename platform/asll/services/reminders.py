"""Reminders: e-mails to the people who must act before each obligation of a measure falls due.

How a reminder travels, and why it is sent exactly once from the user's view
----------------------------------------------------------------------------
1. :func:`sweep` (one tenant, one date; run by the beat through a Celery task, which passes
   the date explicitly) takes the tenant's sweep lock (a row of ``reminder_sweep`` updated only
   when free or expired: two beats never sweep a tenant at the same time), marks past-due
   obligations overdue, and for every open or overdue obligation whose latest reminder step
   has come (steps are days relative to the due date, e.g. ``(-15, -3, 0)``) records one
   :class:`Reminder` per responsible person (unique per obligation × due date × step × person)
   with the :class:`OutboxMessage` that will carry it — its own e-mail, or the person's daily
   digest when they chose one. All in one transaction; the unique constraints are the
   backstop if a lock ever expired under a slow sweep.
2. After that commit it returns the outbox rows to send: ``pending`` ones (new, or waiting
   for a retry whose delay has passed) and ``sending`` ones whose lease expired (the worker
   that claimed them died). The task enqueues one send task per row. A sweep that runs
   again (a second beat, a broker that lost a message, a worker killed mid-batch) re-enqueues
   whatever is not sent yet and creates nothing twice.
3. :func:`deliver` claims the row atomically (``UPDATE … WHERE state = 'pending' OR (state =
   'sending' AND lease expired)``, committed before anything is sent), so two deliveries of
   the same row can never both pass; it drops reminders whose obligation was fulfilled or
   whose due date moved (cancelled), sends, and marks the row ``sent``. A transient SMTP
   failure puts the row back to ``pending`` with a growing delay (the task retries after a
   short one, the next sweep after a longer one); a permanent one (5xx) or too many attempts
   marks it ``failed``, listed for the département admin by :func:`delivery_problems`.
   Refusals the SMTP server gives during the session are seen here; a bounce the receiving
   side sends later, by mail to ``MAIL_FROM``, is not read by the platform.

The remaining window, stated honestly: if a worker dies after the SMTP server accepted a
message but before the row was marked ``sent`` (a few milliseconds), the row is claimed
again once its lease expires and the message is sent a second time. Both copies carry the
same ``Message-ID`` (stored on the row at creation), so the receiving side can recognise the
copy; the platform cannot, as SMTP offers no way to ask whether a message was received.

E-mails are in French, plain text and HTML, and carry only what the person needs to act:
the obligation, its due date, the measure's and household's references and a link to the
measure — never a name or an address of the household.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta

import marshmallow as ma
import sqlalchemy as sa
from babel.dates import format_date as babel_format_date
from flask import current_app, render_template
from itsdangerous import BadSignature, URLSafeTimedSerializer
from marshmallow import fields, validate, validates

from asll.domain.calendar import today
from asll.extensions import db
from asll.models import (
    Household,
    Measure,
    Membership,
    Obligation,
    ObligationState,
    Request,
    Role,
    Tenant,
    User,
)
from asll.models.base import utcnow
from asll.models.reminders import (
    OutboxKind,
    OutboxMessage,
    OutboxState,
    Reminder,
    ReminderPreference,
    ReminderSettings,
    ReminderSweep,
)
from asll.plugins.contract import MEASURE_KIND_LABELS, MeasureKind
from asll.services import audit, mail
from asll.services import plugins as plugin_service
from asll.services.access import get_in_tenant, served_commissions
from asll.services.actor import Actor
from asll.services.errors import Conflict, NotFound, PermissionDenied, ServiceError
from asll.services.schemas import FrenchSchema
from asll.services.validation import load
from asll.tenancy import tenant_context

# Tunables: Flask config key (environment variable ASLL_<KEY>, asll.config), else the default. A worker
# process builds its app from the environment, so tests set the variables before starting it.
DEFAULTS = {
    "REMINDER_LEASE_SECONDS": 600,  # a claimed message is taken over only after this (>> SMTP timeout)
    "REMINDER_RETRY_BASE_SECONDS": 60,  # delay before the 2nd attempt; doubles at each attempt
    "REMINDER_RETRY_MAX_SECONDS": 3600,
    "REMINDER_MAX_ATTEMPTS": 6,
    "REMINDER_SWEEP_LOCK_SECONDS": 900,
    "REMINDER_CATCH_UP_DAYS": 31,  # a step older than this (after the last step) is not sent any more
    "REMINDER_BATCH_SIZE": 1000,  # messages re-enqueued by one sweep; the next sweep takes the rest
}
STEP_MIN, STEP_MAX, MAX_STEPS = -120, 60, 6
DIGEST_SALT = "asll-rappels-recapitulatif"
DIGEST_TOKEN_MAX_AGE = 400 * 24 * 3600
LIVE_STATES = (ObligationState.OPEN, ObligationState.OVERDUE)


def setting(name: str) -> int:
    """A tunable from the Flask config (``ASLL_<NAME>`` in the settings table, asll.config)."""
    value = current_app.config.get(name)
    return int(value) if value not in (None, "") else DEFAULTS[name]


# =====================================================================================
# Reminder steps: plugin default, département admin's override
# =====================================================================================
def _normalise(steps: Iterable[int]) -> tuple[int, ...]:
    return tuple(sorted({int(s) for s in steps}))


def default_steps(tenant_id: int) -> tuple[int, ...]:
    """The steps the plugins give the tenant (the first plugin that answers; the core answers last)."""
    return _normalise(plugin_service.call(tenant_id, "asll_reminder_steps") or ())


def reminder_steps(tenant_id: int) -> tuple[int, ...]:
    """The steps in force: the département admin's override, else the plugins' default."""
    with tenant_context(tenant_id):
        row = db.session.scalar(sa.select(ReminderSettings))
    if row is not None and row.steps:
        return _normalise(row.steps)
    return default_steps(tenant_id)


def _require_dept_admin(actor: Actor) -> None:
    if actor.tenant_id is None or not actor.has(Role.DEPT_ADMIN):
        raise PermissionDenied("Seul un administrateur départemental peut gérer les rappels du département.")


def reminder_settings(actor: Actor) -> dict:
    """What the admin's page shows: the steps in force, the default, whether it is overridden."""
    _require_dept_admin(actor)
    current, default = reminder_steps(actor.tenant_id), default_steps(actor.tenant_id)
    with tenant_context(actor.tenant_id):
        overridden = db.session.scalar(sa.select(ReminderSettings.id)) is not None
    return {"steps": current, "default_steps": default, "overridden": overridden}


class StepsSchema(FrenchSchema):
    steps = fields.List(
        fields.Integer(strict=False, error_messages={"invalid": "Chaque délai doit être un nombre entier de jours."},
                       validate=validate.Range(min=STEP_MIN, max=STEP_MAX,
                                               error=f"Chaque délai doit être compris entre {STEP_MIN} et "
                                                     f"{STEP_MAX} jours par rapport à l'échéance.")),
        required=True, validate=validate.Length(min=1, max=MAX_STEPS,
                                                error=f"Indiquez entre 1 et {MAX_STEPS} délais de rappel."),
        error_messages={"required": "Ce champ est obligatoire.", "null": "Ce champ est obligatoire.",
                        "invalid": "Une liste de délais (en jours) est attendue."})

    @validates("steps")
    def _distinct(self, value, **_kwargs):
        if len(set(value)) != len(value):
            raise ma.ValidationError("Chaque délai ne peut figurer qu'une fois.")


def set_reminder_steps(actor: Actor, steps: list[int] | None) -> tuple[int, ...]:
    """Override the tenant's reminder steps (days relative to the due date: -15 = 15 days before,
    0 = on the due date, +7 = a week after); ``None`` goes back to the plugins' default."""
    _require_dept_admin(actor)
    with tenant_context(actor.tenant_id):
        row = db.session.scalar(sa.select(ReminderSettings))
        before = list(reminder_steps(actor.tenant_id))
        if steps is None:
            if row is not None:
                db.session.delete(row)
        else:
            loaded = load(StepsSchema(), {"steps": steps})
            if row is None:
                row = ReminderSettings(tenant_id=actor.tenant_id)
                db.session.add(row)
            row.steps = list(_normalise(loaded["steps"]))
            row.changed_by_id, row.changed_at = actor.user_id, utcnow()
        db.session.flush()
        after = list(reminder_steps(actor.tenant_id))
        audit.record(actor, "reminders.steps", object_type="reminder_settings", object_id=row.id if row else None,
                     changes={"steps": [before, after], "override": steps is not None})
        db.session.commit()
    return tuple(after)


# =====================================================================================
# Preferences: the daily digest is an option; reminders of one's obligations are not
# =====================================================================================
class PreferencesSchema(FrenchSchema):
    daily_digest = fields.Boolean(required=True, error_messages={"required": "Ce champ est obligatoire.",
                                                                 "invalid": "Oui ou non attendu."})


def _require_member(actor: Actor) -> None:
    if actor.user_id is None or actor.tenant_id is None or not actor.roles:
        raise PermissionDenied("Connectez-vous dans un département pour gérer vos rappels.")


def preferences(actor: Actor) -> dict:
    _require_member(actor)
    with tenant_context(actor.tenant_id):
        row = db.session.scalar(sa.select(ReminderPreference).where(ReminderPreference.user_id == actor.user_id))
    return {"daily_digest": bool(row and row.daily_digest)}


def set_preferences(actor: Actor, data: dict) -> dict:
    """The actor's own preferences in the current tenant. Only the digest can be chosen: the
    reminders of the obligations one is responsible for cannot be switched off."""
    _require_member(actor)
    loaded = load(PreferencesSchema(), data)
    with tenant_context(actor.tenant_id):
        _store_preference(actor, actor.user_id, loaded["daily_digest"])
        db.session.commit()
    return {"daily_digest": loaded["daily_digest"]}


def _store_preference(actor: Actor, user_id: int, daily_digest: bool) -> None:
    row = db.session.scalar(sa.select(ReminderPreference).where(ReminderPreference.user_id == user_id))
    before = bool(row and row.daily_digest)
    if row is None:
        row = ReminderPreference(user_id=user_id, tenant_id=actor.tenant_id)
        db.session.add(row)
    row.daily_digest, row.changed_at = daily_digest, utcnow()
    db.session.flush()
    audit.record(actor, "reminders.preferences", object_type="reminder_preference", object_id=row.id,
                 changes={"user_id": user_id, "daily_digest": [before, daily_digest]})


def _digest_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=DIGEST_SALT)


def digest_unsubscribe_token(tenant_id: int, user_id: int) -> str:
    return _digest_serializer().dumps({"t": tenant_id, "u": user_id})


def digest_unsubscribe_url(tenant_id: int, user_id: int) -> str:
    return f"{_base_url()}/rappels/desabonnement/{digest_unsubscribe_token(tenant_id, user_id)}"


def unsubscribe_digest(token: str) -> dict:
    """The one-click link of a digest: back to one e-mail per reminder (nothing is lost)."""
    try:
        payload = _digest_serializer().loads(token, max_age=DIGEST_TOKEN_MAX_AGE)
        tenant_id, user_id = int(payload["t"]), int(payload["u"])
    except (BadSignature, KeyError, TypeError, ValueError) as exc:
        raise NotFound("Lien de désabonnement invalide ou expiré.", "lien_invalide") from exc
    user = db.session.scalar(sa.select(User).where(User.id == user_id))
    if user is None:
        raise NotFound("Lien de désabonnement invalide ou expiré.", "lien_invalide")
    actor = Actor(user_id=user.id, label=user.email, tenant_id=tenant_id)
    with tenant_context(tenant_id):
        _store_preference(actor, user.id, False)
        db.session.commit()
    return {"daily_digest": False, "email": user.email}


# =====================================================================================
# Who must act: resolving an obligation's responsible role to users
# =====================================================================================
class Directory:
    """The tenant's active members by role and organisation, loaded once per sweep."""

    def __init__(self):
        rows = db.session.execute(
            sa.select(Membership.role, Membership.organisation_id, User.id, User.email)
            .join(User, User.id == Membership.user_id)
            .where(Membership.active, User.active)
            .order_by(User.id))
        self.by_role: dict[Role, dict[int, str]] = defaultdict(dict)
        self.by_role_org: dict[tuple[Role, int | None], dict[int, str]] = defaultdict(dict)
        for role, organisation_id, user_id, email in rows:
            self.by_role[role][user_id] = email
            self.by_role_org[(role, organisation_id)][user_id] = email
        # The commissions each secretary serves (None: all), by the very rule that lets them run
        # the sessions (access.served_commissions, over all their memberships): one small query
        # per secretary, once per sweep.
        self.served: dict[int, frozenset[str] | None] = {}
        for user_id, email in self.by_role.get(Role.COMMISSION_SECRETARY, {}).items():
            held = [key for key, users in self.by_role_org.items() if user_id in users]
            self.served[user_id] = served_commissions(Actor(
                user_id=user_id, label=email, roles=frozenset(role for role, _ in held),
                organisation_ids=frozenset(org for _, org in held if org is not None)))

    def resolve(self, role: str, *, operator_id, worker_id, filed_by_id, prescriber_org_id,
                commission_code: str | None = None) -> list[tuple[int, str]]:
        """Users who must act. The operator's assigned worker, else all its workers; the request's
        prescriber, else the prescribers of their organisation; the secretaries who serve the
        deciding commission; else everyone holding the role.
        Nobody found (e.g. an operator without accounts): the département agents, then admins."""
        found: dict[int, str] = {}
        if role == Role.OPERATOR_WORKER:
            workers = self.by_role_org.get((Role.OPERATOR_WORKER, operator_id), {}) if operator_id else {}
            found = {worker_id: workers[worker_id]} if worker_id in workers else dict(workers)
        elif role == Role.PRESCRIBER:
            prescribers = self.by_role.get(Role.PRESCRIBER, {})
            if filed_by_id in prescribers:
                found = {filed_by_id: prescribers[filed_by_id]}
            elif prescriber_org_id:
                found = dict(self.by_role_org.get((Role.PRESCRIBER, prescriber_org_id), {}))
        elif role == Role.COMMISSION_SECRETARY:
            found = {user_id: email for user_id, email in self.by_role.get(Role.COMMISSION_SECRETARY, {}).items()
                     if commission_code is None or self.served.get(user_id) is None
                     or commission_code in self.served[user_id]}
        elif role in {r.value for r in Role}:
            found = dict(self.by_role.get(Role(role), {}))
        if not found:
            found = dict(self.by_role.get(Role.DEPT_AGENT, {})) or dict(self.by_role.get(Role.DEPT_ADMIN, {}))
        return sorted(found.items())


# =====================================================================================
# Planning: what is due on a date (shared by the sweep and the preview)
# =====================================================================================
@dataclass(frozen=True)
class PlannedReminder:
    obligation_id: int
    measure_id: int
    measure_reference: str
    household_reference: str
    kind: str
    label: str
    due_date: date
    step: int
    step_date: date
    role: str
    user_id: int
    email: str
    digest: bool


def latest_step(due_date: date, steps: Iterable[int], on_date: date) -> int | None:
    """The latest step whose day has come: earlier ones it supersedes are not sent any more
    (one e-mail saying "in 2 days", not three at once after an outage)."""
    reached = [s for s in steps if due_date + timedelta(days=s) <= on_date]
    return max(reached) if reached else None


def plan(tenant_id: int, on_date: date) -> list[PlannedReminder]:
    """Reminders due on ``on_date`` and not recorded yet, one per (obligation, person)."""
    with tenant_context(tenant_id):
        steps = reminder_steps(tenant_id)
        if not steps:
            return []
        # due + min(step) <= on_date, and not older than the catch-up window after the last step:
        # a range on (tenant_id, state, due_date), the obligation table's index.
        latest_due = on_date - timedelta(days=min(steps))
        earliest_due = on_date - timedelta(days=max(steps) + setting("REMINDER_CATCH_UP_DAYS"))
        rows = db.session.execute(
            sa.select(Obligation.id, Obligation.measure_id, Obligation.kind, Obligation.label, Obligation.due_date,
                      Obligation.responsible_role, Measure.reference, Measure.operator_id, Measure.worker_id,
                      Household.reference, Request.filed_by_id, Request.prescriber_organisation_id,
                      Request.commission_code)
            .join(Measure, Measure.id == Obligation.measure_id)
            .join(Household, Household.id == Measure.household_id)
            .outerjoin(Request, Request.id == Measure.request_id)
            .where(Obligation.state.in_(LIVE_STATES), Obligation.due_date <= latest_due,
                   Obligation.due_date >= earliest_due)
            .order_by(Obligation.due_date, Obligation.id)).all()
        if not rows:
            return []
        candidates = sa.select(Obligation.id).where(Obligation.state.in_(LIVE_STATES),
                                                    Obligation.due_date <= latest_due,
                                                    Obligation.due_date >= earliest_due)
        recorded = {tuple(r) for r in db.session.execute(
            sa.select(Reminder.obligation_id, Reminder.due_date, Reminder.step, Reminder.user_id)
            .where(Reminder.obligation_id.in_(candidates)))}
        digest_users = set(db.session.scalars(
            sa.select(ReminderPreference.user_id).where(ReminderPreference.daily_digest)))
        directory = Directory()
        planned = []
        for row in rows:
            (obligation_id, measure_id, kind, label, due_date, role, measure_ref, operator_id, worker_id,
             household_ref, filed_by_id, prescriber_org_id, commission_code) = row
            step = latest_step(due_date, steps, on_date)
            if step is None:
                continue
            for user_id, email in directory.resolve(role, operator_id=operator_id, worker_id=worker_id,
                                                    filed_by_id=filed_by_id, prescriber_org_id=prescriber_org_id,
                                                    commission_code=commission_code):
                if (obligation_id, due_date, step, user_id) in recorded:
                    continue
                planned.append(PlannedReminder(
                    obligation_id=obligation_id, measure_id=measure_id, measure_reference=measure_ref,
                    household_reference=household_ref, kind=kind, label=label, due_date=due_date, step=step,
                    step_date=due_date + timedelta(days=step), role=role, user_id=user_id, email=email,
                    digest=user_id in digest_users))
        return planned


# =====================================================================================
# The sweep
# =====================================================================================
@dataclass
class SweepResult:
    tenant_id: int
    on_date: date
    locked_out: bool = False  # another sweep of this tenant was running: it does the work
    overdue_marked: int = 0
    reminders_created: int = 0
    messages_created: int = 0
    to_send: list[int] = field(default_factory=list)

    def as_dict(self) -> dict:
        data = asdict(self)
        data["on_date"] = self.on_date.isoformat()
        return data


def _acquire_sweep_lock(now: datetime) -> str | None:
    """Take the tenant's sweep lock if free or expired; the token proves ownership."""
    if db.session.scalar(sa.select(ReminderSweep.id)) is None:
        try:
            db.session.add(ReminderSweep())
            db.session.commit()
        except sa.exc.IntegrityError:  # another sweep created it at the same moment
            db.session.rollback()
    token = uuid.uuid4().hex
    taken = db.session.execute(
        sa.update(ReminderSweep)
        .where(sa.or_(ReminderSweep.locked_until.is_(None), ReminderSweep.locked_until < now))
        .values(locked_until=now + timedelta(seconds=setting("REMINDER_SWEEP_LOCK_SECONDS")), locked_by=token)
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return token if taken == 1 else None


def _release_sweep_lock(token: str, on_date: date | None) -> None:
    values = {"locked_until": None, "last_finished_at": utcnow()}
    if on_date is not None:
        values["last_sweep_on"] = on_date
    db.session.execute(sa.update(ReminderSweep).where(ReminderSweep.locked_by == token).values(**values)
                       .execution_options(synchronize_session=False))
    db.session.commit()


def sweep(tenant_id: int, on_date: date) -> SweepResult:
    """Record the reminders due on ``on_date`` and return the outbox rows to send (see the module)."""
    result = SweepResult(tenant_id=tenant_id, on_date=on_date)
    with tenant_context(tenant_id):
        token = _acquire_sweep_lock(utcnow())
        if token is None:
            result.locked_out = True
            return result
        completed = False
        try:
            result.overdue_marked = _mark_overdue(on_date)
            created = _record(tenant_id, plan(tenant_id, on_date), on_date)
            result.reminders_created, result.messages_created = created
            db.session.commit()
            completed = True
        except sa.exc.IntegrityError:
            # Only if a lock expired under a slow sweep and another one recorded the same
            # reminders: nothing of this run is kept, the other run's rows stand.
            db.session.rollback()
            current_app.logger.warning("Rappels : balayage concurrent détecté pour le département %s", tenant_id)
        except Exception:
            db.session.rollback()
            raise
        finally:
            _release_sweep_lock(token, on_date if completed else None)
        result.to_send = messages_to_send(utcnow())
    return result


def _mark_overdue(on_date: date) -> int:
    """Open obligations whose due date has really passed become overdue (never ahead of today)."""
    cutoff = min(on_date, today())
    return db.session.execute(
        sa.update(Obligation).where(Obligation.state == ObligationState.OPEN, Obligation.due_date < cutoff)
        .values(state=ObligationState.OVERDUE).execution_options(synchronize_session=False)).rowcount


def _record(tenant_id: int, planned: list[PlannedReminder], on_date: date) -> tuple[int, int]:
    """Insert the reminders and their outbox rows; a digest reader's go into the day's digest."""
    messages = 0
    digests: dict[int, OutboxMessage | None] = {}
    for item in planned:
        outbox = None
        if item.digest:
            if item.user_id not in digests:
                digests[item.user_id], created = _open_digest(tenant_id, item, on_date)
                messages += created
            outbox = digests[item.user_id]
        if outbox is None:  # no digest wanted, or today's digest has already left
            outbox = _new_message(OutboxKind.REMINDER, item, on_date,
                                  key=f"r:{item.obligation_id}:{item.due_date:%Y%m%d}:{item.step}:{item.user_id}")
            messages += 1
        db.session.add(Reminder(obligation_id=item.obligation_id, measure_id=item.measure_id, due_date=item.due_date,
                                step=item.step, step_date=item.step_date, user_id=item.user_id, role=item.role,
                                outbox=outbox))
    db.session.flush()
    return len(planned), messages


def _new_message(kind: OutboxKind, item: PlannedReminder, on_date: date, key: str) -> OutboxMessage:
    message = OutboxMessage(key=key, kind=kind, user_id=item.user_id, recipient=item.email, scheduled_for=on_date,
                            state=OutboxState.PENDING, attempts=0,
                            message_id=mail.make_message_id(key.replace(":", "."), uuid.uuid4().hex[:12]))
    db.session.add(message)
    db.session.flush()
    return message


def _open_digest(tenant_id: int, item: PlannedReminder, on_date: date) -> tuple[OutboxMessage | None, int]:
    """Today's digest of the user if it has not left yet (a conditional touch, so a delivery
    that claims it concurrently either sees these reminders or makes us send them apart)."""
    key = f"d:{tenant_id}:{item.user_id}:{on_date:%Y%m%d}"
    existing = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.key == key))
    if existing is None:
        return _new_message(OutboxKind.DIGEST, item, on_date, key=key), 1
    still_pending = db.session.execute(
        sa.update(OutboxMessage).where(OutboxMessage.id == existing.id, OutboxMessage.state == OutboxState.PENDING)
        .values(updated_at=utcnow()).execution_options(synchronize_session=False)).rowcount
    return (existing if still_pending == 1 else None), 0


def messages_to_send(now: datetime, limit: int | None = None) -> list[int]:
    """Outbox rows of the current tenant that a send task should (re)try now."""
    limit = limit or setting("REMINDER_BATCH_SIZE")
    return list(db.session.scalars(
        sa.select(OutboxMessage.id).where(sa.or_(
            sa.and_(OutboxMessage.state == OutboxState.PENDING,
                    sa.or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now)),
            sa.and_(OutboxMessage.state == OutboxState.SENDING, OutboxMessage.lease_expires_at < now)))
        .order_by(OutboxMessage.id).limit(limit)))


def sweepable_tenants() -> list[int]:
    """The active tenants the beat fans out to."""
    from asll.services.tenants import all_tenants

    return [t.id for t in all_tenants() if t.active]


# =====================================================================================
# Delivery
# =====================================================================================
@dataclass
class Delivery:
    outbox_id: int
    status: str  # sent | cancelled | skipped | retry | failed
    retry_in: float | None = None
    detail: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def _claim(outbox_id: int, now: datetime) -> str | None:
    token = uuid.uuid4().hex
    claimed = db.session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id == outbox_id, sa.or_(
            OutboxMessage.state == OutboxState.PENDING,
            sa.and_(OutboxMessage.state == OutboxState.SENDING, OutboxMessage.lease_expires_at < now)))
        .values(state=OutboxState.SENDING, attempts=OutboxMessage.attempts + 1, claim_token=token,
                lease_expires_at=now + timedelta(seconds=setting("REMINDER_LEASE_SECONDS")), next_attempt_at=None,
                updated_at=now)
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return token if claimed == 1 else None


def _finish(outbox_id: int, token: str | None, *, commit: bool = True, **values) -> bool:
    """Move a claimed row on; with a token, only if no later claim took it over meanwhile."""
    statement = sa.update(OutboxMessage).where(OutboxMessage.id == outbox_id)
    if token is not None:
        statement = statement.where(OutboxMessage.claim_token == token)
    done = db.session.execute(statement.values(updated_at=utcnow(), **values)
                              .execution_options(synchronize_session=False)).rowcount
    if commit:
        db.session.commit()
    return done == 1


def _is_live(reminder: Reminder) -> bool:
    obligation = reminder.obligation
    return (obligation is not None and obligation.state in LIVE_STATES
            and obligation.due_date == reminder.due_date)


def retry_delay(attempts: int) -> float:
    base = setting("REMINDER_RETRY_BASE_SECONDS")
    return float(min(base * 2 ** max(attempts - 1, 0), setting("REMINDER_RETRY_MAX_SECONDS")))


def deliver(tenant_id: int, outbox_id: int) -> Delivery:
    """Claim, compose, send and mark one outbox row (see the module docstring)."""
    with tenant_context(tenant_id):
        token = _claim(outbox_id, utcnow())
        if token is None:
            return Delivery(outbox_id, "skipped", detail="déjà envoyé, annulé ou en cours d'envoi")
        db.session.expire_all()  # read the row, its reminders and obligations as they are now
        message = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.id == outbox_id))
        max_attempts = setting("REMINDER_MAX_ATTEMPTS")
        if message.attempts > max_attempts:  # claimed again and again by workers that died
            _finish(outbox_id, token, state=OutboxState.FAILED, lease_expires_at=None,
                    last_error=f"Abandon après {message.attempts - 1} tentatives interrompues.")
            return Delivery(outbox_id, "failed", detail="trop de tentatives")
        live = [r for r in message.reminders if _is_live(r)]
        if not live:
            _finish(outbox_id, token, state=OutboxState.CANCELLED, lease_expires_at=None,
                    last_error="Obligation remplie ou échéance modifiée avant l'envoi.")
            return Delivery(outbox_id, "cancelled")
        outgoing = compose(message, live)
        db.session.commit()  # no transaction stays open while talking to the SMTP server
        try:
            mail.send(outgoing)
        except mail.MailError as exc:
            final = exc.permanent or message.attempts >= max_attempts
            if final:
                _finish(outbox_id, token, state=OutboxState.FAILED, lease_expires_at=None,
                        subject=outgoing.subject[:300], last_error=exc.message[:2000])
                return Delivery(outbox_id, "failed", detail=exc.message)
            delay = retry_delay(message.attempts)
            _finish(outbox_id, token, state=OutboxState.PENDING, lease_expires_at=None,
                    next_attempt_at=utcnow() + timedelta(seconds=delay), subject=outgoing.subject[:300],
                    last_error=exc.message[:2000])
            return Delivery(outbox_id, "retry", retry_in=delay, detail=exc.message)
        # Sent: mark it whoever holds the claim now, so that nobody sends it again.
        _finish(outbox_id, None, commit=False, state=OutboxState.SENT, sent_at=utcnow(), lease_expires_at=None,
                subject=outgoing.subject[:300], last_error="")
        audit.record(Actor.system(tenant_id, label="rappels"), "reminders.sent", object_type="reminder_outbox",
                     object_id=outbox_id, changes={"user_id": message.user_id, "kind": message.kind.value,
                                                   "obligations": [r.obligation_id for r in live],
                                                   "measures": sorted({r.measure_id for r in live})})
        db.session.commit()
        return Delivery(outbox_id, "sent")


# =====================================================================================
# Composing the e-mail (French, plain text + HTML, minimal personal data)
# =====================================================================================
def _base_url() -> str:
    return (current_app.config.get("BASE_URL") or "").rstrip("/")


def measure_url(measure_id: int) -> str:
    return f"{_base_url()}/mesures/{measure_id}"


def long_date(value: date) -> str:
    return babel_format_date(value, format="full", locale="fr_FR")


def short_date(value: date) -> str:
    return value.strftime("%d/%m/%Y")


def relative(due_date: date, on_date: date) -> str:
    days = (due_date - on_date).days
    if days > 1:
        return f"dans {days} jours"
    if days == 1:
        return "demain"
    if days == 0:
        return "aujourd'hui"
    if days == -1:
        return "en retard d'un jour"
    return f"en retard de {-days} jours"


def _role_label(role: str) -> str:
    try:
        return Role(role).label
    except ValueError:
        return role


def _kind_label(kind: str) -> str:
    try:
        return MEASURE_KIND_LABELS[MeasureKind(kind)]
    except ValueError:
        return kind


def _item(reminder: Reminder, on_date: date, household_reference: str) -> dict:
    obligation, measure = reminder.obligation, reminder.measure
    return {
        "due": reminder.due_date,
        "label": obligation.label,
        "due_date": long_date(reminder.due_date),
        "due_short": short_date(reminder.due_date),
        "relative": relative(reminder.due_date, on_date),
        "overdue": reminder.due_date < on_date,
        "measure_reference": measure.reference,
        "measure_kind": _kind_label(measure.kind),
        "household_reference": household_reference,
        "url": measure_url(measure.id),
        "role": _role_label(reminder.role),
    }


def compose(message: OutboxMessage, reminders: list[Reminder]) -> mail.OutgoingMail:
    tenant = db.session.scalar(sa.select(Tenant).where(Tenant.id == message.tenant_id))
    # The measures (loaded for reminder.measure) and their households' references in one
    # query, not two per reminder: a digest carries many.
    household_references = {measure.id: reference for measure, reference in db.session.execute(
        sa.select(Measure, Household.reference).join(Household, Household.id == Measure.household_id)
        .where(Measure.id.in_({r.measure_id for r in reminders})))}
    items = sorted((_item(r, message.scheduled_for, household_references[r.measure_id]) for r in reminders),
                   key=lambda i: (i["due"], i["measure_reference"], i["label"]))
    context = {"tenant_name": tenant.name, "on_date": long_date(message.scheduled_for), "items": items,
               "base_url": _base_url()}
    headers: tuple[tuple[str, str], ...] = ()
    if message.kind is OutboxKind.DIGEST:
        context["unsubscribe_url"] = digest_unsubscribe_url(message.tenant_id, message.user_id)
        headers = (("List-Unsubscribe", f"<{context['unsubscribe_url']}>"),)
        count = len(items)
        subject = (f"[ASLL {tenant.name}] Récapitulatif du {short_date(message.scheduled_for)} : "
                   f"{count} échéance{'s' if count > 1 else ''}")
        template = "mail/digest"
    else:
        item = context["item"] = items[0]
        prefix = "Échéance dépassée" if item["overdue"] else "Rappel d'échéance"
        subject = (f"[ASLL {tenant.name}] {prefix} : {item['label']} – {item['due_short']} "
                   f"(mesure {item['measure_reference']})")
        template = "mail/reminder"
    return mail.OutgoingMail(to=message.recipient, subject=subject,
                             text=render_template(f"{template}.txt", **context),
                             html=render_template(f"{template}.html", **context),
                             message_id=message.message_id, headers=headers)


# =====================================================================================
# Preview (the ``flask asll reminders-preview`` command)
# =====================================================================================
@dataclass
class Preview:
    tenant_id: int
    tenant_code: str
    tenant_name: str
    on_date: date
    steps: tuple[int, ...]
    planned: list[PlannedReminder]
    waiting: int  # outbox rows not sent yet that the sweep would enqueue again

    @property
    def message_count(self) -> int:
        individual = sum(1 for p in self.planned if not p.digest)
        return individual + len({p.user_id for p in self.planned if p.digest})


def preview(tenant_id: int, on_date: date) -> Preview:
    """What the sweep would send on ``on_date``, without writing anything."""
    with tenant_context(tenant_id):
        tenant = db.session.scalar(sa.select(Tenant).where(Tenant.id == tenant_id))
        if tenant is None:
            raise NotFound("Département introuvable.")
        planned = plan(tenant_id, on_date)
        waiting = len(messages_to_send(utcnow()))
        steps = reminder_steps(tenant_id)
        db.session.rollback()
    return Preview(tenant_id=tenant.id, tenant_code=tenant.code, tenant_name=tenant.name, on_date=on_date,
                   steps=steps, planned=planned, waiting=waiting)


def step_label(step: int) -> str:
    return "J" if step == 0 else f"J{step:+d}"


# =====================================================================================
# Delivery problems, for the département admin
# =====================================================================================
@dataclass(frozen=True)
class DeliveryProblem:
    outbox_id: int
    state: str
    state_label: str
    kind_label: str
    recipient: str
    subject: str
    attempts: int
    last_error: str
    scheduled_for: date
    updated_at: datetime
    measure_references: tuple[str, ...]


def delivery_problems(actor: Actor, *, limit: int = 200) -> list[DeliveryProblem]:
    """Messages that failed for good, and those waiting for a retry after an error, newest first."""
    _require_dept_admin(actor)
    with tenant_context(actor.tenant_id):
        rows = list(db.session.scalars(
            sa.select(OutboxMessage).where(sa.or_(
                OutboxMessage.state == OutboxState.FAILED,
                sa.and_(OutboxMessage.state.in_([OutboxState.PENDING, OutboxState.SENDING]),
                        OutboxMessage.last_error != "")))
            .order_by(OutboxMessage.updated_at.desc(), OutboxMessage.id.desc()).limit(limit)))
        references: dict[int, set[str]] = defaultdict(set)
        if rows:
            for outbox_id, reference in db.session.execute(
                    sa.select(Reminder.outbox_id, Measure.reference).join(Measure, Measure.id == Reminder.measure_id)
                    .where(Reminder.outbox_id.in_([r.id for r in rows]))):
                references[outbox_id].add(reference)
        return [DeliveryProblem(
            outbox_id=r.id, state=r.state.value,
            state_label=r.state.label if r.state is OutboxState.FAILED else "Nouvelle tentative prévue",
            kind_label=r.kind.label, recipient=r.recipient, subject=r.subject, attempts=r.attempts,
            last_error=r.last_error, scheduled_for=r.scheduled_for, updated_at=r.updated_at,
            measure_references=tuple(sorted(references[r.id]))) for r in rows]


RETRY_CONFLICT = ("Ce message n'est plus en échec : il vient d'être renvoyé, peut-être par quelqu'un d'autre ; "
                  "rechargez la page.")


def retry_failed(actor: Actor, outbox_id: int) -> int:
    """Put a failed message back in the queue (e.g. once the address was corrected); the next
    sweep sends it, or the caller enqueues it at once. Returns the outbox id.

    Serialised by a conditional UPDATE (``WHERE state = 'failed'``) checked by its rowcount:
    of N clicks on "Renvoyer" at once, one moves the message back to pending and is audited,
    the others (and a click on a message no longer failed) get a French 409 and change nothing.
    """
    _require_dept_admin(actor)
    with tenant_context(actor.tenant_id):
        message = get_in_tenant(OutboxMessage, outbox_id)
        if message is None:
            raise NotFound("Message introuvable.")
        if message.state is not OutboxState.FAILED:
            raise Conflict(RETRY_CONFLICT, "deja_renvoye")
        user = db.session.scalar(sa.select(User).where(User.id == message.user_id))
        recipient = user.email if user is not None else message.recipient
        before = {"state": message.state.value, "recipient": message.recipient}
        moved = db.session.execute(
            sa.update(OutboxMessage).where(OutboxMessage.id == outbox_id, OutboxMessage.state == OutboxState.FAILED)
            .values(state=OutboxState.PENDING, attempts=0, next_attempt_at=None, recipient=recipient,
                    updated_at=utcnow())
            .execution_options(synchronize_session=False)).rowcount
        if moved != 1:
            db.session.rollback()
            raise Conflict(RETRY_CONFLICT, "deja_renvoye")
        audit.record(actor, "reminders.retry", object_type="reminder_outbox", object_id=outbox_id,
                     changes=audit.diff(before, {"state": OutboxState.PENDING.value, "recipient": recipient}))
        db.session.commit()
    return outbox_id
