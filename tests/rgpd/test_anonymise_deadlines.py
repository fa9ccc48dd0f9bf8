"""Anonymisation and the measure's deadlines, on the fixed clock: a running measure's file is never
anonymised; one nobody ended is closed when its file is; open deadlines are waived and waiting
reminder mails cancelled, audited."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from asll.extensions import db
from asll.models import AuditEvent, Household, Measure, MeasureStatus, Obligation, ObligationState
from asll.models.reminders import OutboxMessage, OutboxState, Reminder
from asll.services import measures, reminders, statistics
from asll.services.rgpd import anonymise, retention
from asll.services.rgpd.policy import policy_for
from asll.toolkit import ObligationDef
from tests.core.workflow_support import granted_measure, refused
from tests.rgpd.conftest import anonymise_entries, household, reference_names, run_retention_task


def test_a_running_measure_is_never_anonymised_one_nobody_ended_is_closed_with_its_deadlines(env, app, uploads):
    """A measure runs until its planned end, which is a contact: its file stays 2 years after it. One that
    nobody ended is then anonymised and closed (its dates kept: the statistics already count its planned
    end), its open deadlines waived, its waiting reminder mail cancelled; the dry run says so."""
    forgotten = household(env, "Quentin")
    measure_id = granted_measure(env, household_id=forgotten)  # decided 10 March 2026
    measures.transition(env.operator, measure_id, "start", {"start_date": "2026-03-16"})  # planned end 16/09/2026
    measure = db.session.get(Measure, measure_id)
    reference, planned_end = measure.reference, measure.planned_end_date
    assert planned_end == date(2026, 9, 16)
    reminders.set_reminder_steps(env.admin, [0])
    env.clock.to("2026-04-16", 8)  # the signed contract is due today and was never sent
    assert reminders.sweep(env.tenant_id, date(2026, 4, 16)).messages_created >= 1
    waiting = sorted(set(db.session.scalars(sa.select(Reminder.outbox_id).where(Reminder.measure_id == measure_id))))
    assert waiting

    # While it runs, not even a direct call anonymises it.
    error = refused(anonymise.MeasureStillOpen, anonymise.anonymise_household, env.admin, forgotten,
                    policy_for(env.tenant_id), date(2026, 9, 1), date(2026, 9, 16))
    assert error.status == 409 and error.message == (
        f"Le dossier {db.session.get(Household, forgotten).reference} n'est pas anonymisé : la mesure {reference} "
        "est en cours (démarrée (contrat signé)) jusqu'au 16/09/2026.")
    assert reference_names([forgotten]) == ["Quentin", "Quentin"]

    env.clock.to("2028-09-16", 2)  # 2 years after its planned end: still kept
    assert forgotten not in [c.household_id for c in retention.plan(env.tenant_id, date(2028, 9, 16)).files]
    env.clock.to("2028-09-17", 2)  # and 1 day: due, and the dry run says the measure will be closed
    dry_run = app.test_cli_runner().invoke(args=["asll", "retention", "--dry-run", "--tenant", "42"])
    assert f"dernier contact le 16/09/2026 ; mesure(s) jamais terminée(s), clôturée(s) sans suite : {reference}" in (
        dry_run.output)
    [candidate] = [c for c in retention.plan(env.tenant_id, date(2028, 9, 17)).files if c.household_id == forgotten]
    assert candidate.closes == (reference,)  # the admin's page shows it in its own column
    before = {year: statistics.tenant_tables(env.tenant_id, year) for year in (2026, 2027)}
    deadlines = dict(db.session.execute(sa.select(Obligation.kind, Obligation.state).where(
        Obligation.measure_id == measure_id)).all())

    run_retention_task(app)

    assert forgotten in anonymise_entries(env.tenant_id)
    measure = db.session.get(Measure, measure_id)
    assert (measure.status, measure.end_date, measure.planned_end_date) == (MeasureStatus.CLOSED, None, planned_end)
    # Its deadlines of 2026 stay missed, as the 2026 table counts them (no reminder is ever planned again).
    assert dict(db.session.execute(sa.select(Obligation.kind, Obligation.state).where(
        Obligation.measure_id == measure_id)).all()) == deadlines
    assert {db.session.get(OutboxMessage, i).state for i in waiting} == {OutboxState.CANCELLED}
    after = {year: statistics.tenant_tables(env.tenant_id, year) for year in (2026, 2027)}
    for year in before:
        for b, a in zip(before[year], after[year]):
            assert a == b, (year, b, a)
    [entry] = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "household.anonymise",
                                                             AuditEvent.object_id == forgotten))
    assert entry.changes["measures_closed"] == [reference] and entry.changes["reminders_cancelled"] == len(waiting)
    assert entry.changes["obligations_waived"] == 0
    assert [p for p in reminders.plan(env.tenant_id, date(2028, 9, 17)) if p.measure_id == measure_id] == []


def test_anonymising_an_ended_measure_waives_its_open_deadlines_and_cancels_its_waiting_reminders(env, app, uploads):
    ended = household(env, "Roussel")
    measure_id = granted_measure(env, household_id=ended)
    other = granted_measure(env, session_date="2027-01-12")  # another file, decided later: its deadlines stay
    measures.transition(env.operator, measure_id, "start", {"start_date": "2026-03-16"})
    env.clock.to("2026-09-01", 10)
    # A deadline set far ahead (the plugin's), still open when the file is anonymised.
    env.wf.extra_obligations = [ObligationDef("relance", "Relancer le bailleur", date(2028, 12, 1), "operator_worker")]
    measures.transition(env.agent, measure_id, "end", {"end_date": "2026-09-01", "reason": "term"})
    env.wf.extra_obligations = []
    open_before = dict(db.session.execute(sa.select(Obligation.kind, Obligation.state).where(
        Obligation.measure_id == measure_id, Obligation.state.in_(reminders.LIVE_STATES))).all())
    assert {"bilan", "relance"} <= set(open_before)  # the bilan was due on 1 October 2026 and never came
    reminders.set_reminder_steps(env.admin, [0])
    env.clock.to("2026-10-01", 8)
    swept = reminders.sweep(env.tenant_id, date(2026, 10, 1))
    assert swept.messages_created >= 1
    waiting = list(db.session.scalars(sa.select(Reminder.outbox_id).where(Reminder.measure_id == measure_id)))
    assert waiting and all(db.session.get(OutboxMessage, i).state is OutboxState.PENDING for i in waiting)
    other_live = db.session.scalar(sa.select(sa.func.count(Obligation.id)).where(
        Obligation.measure_id == other, Obligation.state.in_(reminders.LIVE_STATES)))

    env.clock.to("2028-09-02", 9)  # the end was recorded on 1 September 2026: 2 years + 1 day
    run_retention_task(app)

    assert ended in anonymise_entries(env.tenant_id)
    states = dict(db.session.execute(sa.select(Obligation.kind, Obligation.state).where(
        Obligation.measure_id == measure_id)).all())
    assert states["relance"] is ObligationState.WAIVED  # due in December 2028: sans objet
    assert states["bilan"] in reminders.LIVE_STATES  # missed in 2026, as the 2026 table counts it
    db.session.expire_all()
    assert {db.session.get(OutboxMessage, i).state for i in waiting} == {OutboxState.CANCELLED}
    assert db.session.scalar(sa.select(sa.func.count(Obligation.id)).where(
        Obligation.measure_id == other, Obligation.state.in_(reminders.LIVE_STATES))) == other_live > 0
    [entry] = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "household.anonymise",
                                                             AuditEvent.object_id == ended))
    assert entry.changes["obligations_waived"] == 1
    assert entry.changes["reminders_cancelled"] == len(set(waiting))
    # A later sweep sends nothing about the person any more.
    assert [p for p in reminders.plan(env.tenant_id, date(2028, 9, 2)) if p.measure_id == measure_id] == []
