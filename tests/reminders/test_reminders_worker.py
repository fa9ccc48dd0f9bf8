"""Reminders end to end: a real Celery worker process, the broker the environment configures
(embedded SQLAlchemy transport, or Redis with ``REDIS_URL``) and a real SMTP server on localhost.

The worker's clock is the real one: the sweep date is passed as a task argument, as the beat
does with today's date. Obligations are created in this process (through the core's own
recomputation, from a fake plugin); the worker only reads their rows.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter

import pytest
import time_machine
from celery.exceptions import TimeoutError as CeleryTimeoutError

from asll.extensions import db
from asll.models import OrganisationKind, Role
from asll.models.base import utcnow
from asll.models.reminders import OutboxKind, OutboxState
from asll.services import reminders
from asll.tenancy import tenant_context
from tests.reminders.conftest import (
    ADDRESS,
    CITY,
    FIRST_NAME,
    LAST_NAME,
    PARIS,
    WAIT,
    add_measure,
    add_user,
    obligation,
    outbox_rows,
    reminder_count,
    set_obligations,
    wait_for,
)
from tests.tasks.conftest import record_broker

pytestmark = pytest.mark.worker

ON = "2026-04-01"  # the sweep date of every test here


def _result(async_result, worker, timeout: float = WAIT):
    try:
        return async_result.get(timeout=timeout)
    except CeleryTimeoutError:
        pytest.fail(f"no result for task {async_result.id} after {timeout:g} s (worker alive: {worker.alive})\n"
                    f"{worker.log_tail()}")


def _barrier(app, worker, tenant_id: int) -> None:
    """Wait until the worker has run everything enqueued before now (solo pool, FIFO queue)."""
    _result(app.extensions["celery"].send_task("asll.ping", kwargs={"tenant_id": tenant_id}), worker)


def _sweep(app, tenant_id: int):
    return app.extensions["celery"].send_task("asll.reminders.sweep_tenant",
                                              kwargs={"tenant_id": tenant_id, "on_date": ON})


def _setup(app, world, rp, build):
    """Build the test's cases at a fixed date in this process, with the département admins'
    reminder steps (J-15, J-3, J), whatever the installed plugins propose."""
    with app.app_context(), time_machine.travel(dt.datetime(2026, 3, 25, 9, 0, tzinfo=PARIS), tick=False):
        for tenant_world in (world.loire, world.orne):
            reminders.set_reminder_steps(tenant_world.actor(Role.DEPT_ADMIN), [-15, -3, 0])
        built = build()
        db.session.remove()
    return built


def _all_sent(app, expected: int):
    def check():
        with app.app_context():
            rows = outbox_rows()
            db.session.remove()
        return rows if len(rows) == expected and all(r.state is OutboxState.SENT for r in rows) else None
    return check


def _email(role: Role, code: str = "42") -> str:
    return f"{role.value}.{code}@test.asll.fr"


def _scenario(world, rp) -> dict:
    """Several measures of the Loire and the Orne on 1 April 2026; returns the ids the tests check."""
    loire, orne = world.loire, world.orne
    add_user(loire, Role.OPERATOR_WORKER, "ts2.42@test.asll.fr", OrganisationKind.OPERATOR)
    m1, m2, m3 = add_measure(loire), add_measure(loire), add_measure(loire)
    set_obligations(rp, loire.tenant.id, m1, obligation("contrat", "Envoyer le contrat signé", "2026-04-16"),
                    obligation("plan", "Établir le plan d'action", "2026-04-04"))
    set_obligations(rp, loire.tenant.id, m2, obligation("bilan", "Transmettre le bilan", "2026-04-01", "prescriber"),
                    obligation("prolongation", "Demander la prolongation", "2026-04-20"))  # J-19: not yet
    set_obligations(rp, loire.tenant.id, m3, obligation("decision", "Inscrire la demande en commission", "2026-04-04",
                                                        "commission_secretary"),
                    obligation("demarrage", "Démarrer la mesure", "2026-04-16", done=True))  # fulfilled
    m4, m5, m6 = add_measure(orne), add_measure(orne), add_measure(orne)
    set_obligations(rp, orne.tenant.id, m4, obligation("contact", "Contacter le ménage 6 mois après la fin",
                                                       "2026-04-16"))
    set_obligations(rp, orne.tenant.id, m5, obligation("bilan", "Transmettre le bilan", "2026-04-04"))
    set_obligations(rp, orne.tenant.id, m6, obligation("reprise", "Statuer sur la reprise", "2026-04-01", "dept_agent"))
    reminders.set_preferences(orne.actor(Role.OPERATOR_WORKER), {"daily_digest": True})
    return {"m1": m1, "m2": m2, "m3": m3, "m4": m4, "m5": m5, "m6": m6}


def _expected_subjects(world, ids) -> Counter:
    from asll.models import Measure
    from asll.services.access import get_in_tenant

    refs = {}
    for tenant_world, keys in ((world.loire, ("m1", "m2", "m3")), (world.orne, ("m4", "m5", "m6"))):
        with tenant_context(tenant_world.tenant.id):
            for key in keys:
                refs[key] = get_in_tenant(Measure, ids[key]).reference
    op42, ts2 = _email(Role.OPERATOR_WORKER), "ts2.42@test.asll.fr"
    return Counter({
        (op42, f"[ASLL Loire] Rappel d'échéance : Envoyer le contrat signé – 16/04/2026 (mesure {refs['m1']})"): 1,
        (ts2, f"[ASLL Loire] Rappel d'échéance : Envoyer le contrat signé – 16/04/2026 (mesure {refs['m1']})"): 1,
        (op42, f"[ASLL Loire] Rappel d'échéance : Établir le plan d'action – 04/04/2026 (mesure {refs['m1']})"): 1,
        (ts2, f"[ASLL Loire] Rappel d'échéance : Établir le plan d'action – 04/04/2026 (mesure {refs['m1']})"): 1,
        (_email(Role.PRESCRIBER),
         f"[ASLL Loire] Rappel d'échéance : Transmettre le bilan – 01/04/2026 (mesure {refs['m2']})"): 1,
        (_email(Role.COMMISSION_SECRETARY),
         f"[ASLL Loire] Rappel d'échéance : Inscrire la demande en commission – 04/04/2026 (mesure {refs['m3']})"): 1,
        (_email(Role.OPERATOR_WORKER, "61"), "[ASLL Orne] Récapitulatif du 01/04/2026 : 2 échéances"): 1,
        (_email(Role.DEPT_AGENT, "61"),
         f"[ASLL Orne] Rappel d'échéance : Statuer sur la reprise – 01/04/2026 (mesure {refs['m6']})"): 1,
    })


def test_the_right_emails_arrive_for_a_set_of_measures_at_a_fixed_date(app, world, rp, mail_worker, request):
    worker, smtp = mail_worker
    record_broker(request.config, app.extensions["celery"].conf.broker_url)
    ids = _setup(app, world, rp, lambda: _scenario(world, rp))

    fan_out = _result(app.extensions["celery"].send_task("asll.reminders.sweep_all", kwargs={"on_date": ON}), worker)
    assert fan_out == {"on_date": ON, "tenant_ids": sorted([world.loire.tenant.id, world.orne.tenant.id])}
    wait_for(lambda: len(smtp.messages()) >= 8, what="8 e-mails")
    _barrier(app, worker, world.loire.tenant.id)
    received = smtp.messages()

    with app.app_context():
        assert Counter((m.to, m.subject) for m in received) == _expected_subjects(world, ids)
        rows = outbox_rows()
        assert len(rows) == 8 and {r.state for r in rows} == {OutboxState.SENT}
        assert sorted(m.message_id for m in received) == sorted(r.message_id for r in rows)
        assert reminder_count() == 9
        db.session.remove()

    for message in received:  # French, text + HTML, references and link, nothing personal
        assert message.message["Content-Language"] == "fr"
        assert message.message.get_content_type() == "multipart/alternative"
        for part in (message.text, message.html, message.subject):
            for secret in (LAST_NAME, FIRST_NAME, ADDRESS, CITY):
                assert secret not in part
    contract = next(m for m in received if m.to == "ts2.42@test.asll.fr" and "contrat" in m.subject)
    assert "Une échéance arrive (dans 15 jours)." in contract.text
    assert "Échéance   : jeudi 16 avril 2026" in contract.text
    assert re.search(r"Mesure     : A-42-2026-\d{5} \(Accès au logement\)", contract.text)
    assert re.search(r"Ménage     : M-42-2026-\d{5}", contract.text)
    assert f"Consulter la mesure : https://asll.test.fr/mesures/{ids['m1']}" in contract.text
    assert f'href="https://asll.test.fr/mesures/{ids["m1"]}"' in contract.html
    bilan = next(m for m in received if m.to == _email(Role.PRESCRIBER))
    assert "Une échéance arrive (aujourd'hui)." in bilan.text and "Prescripteur" in bilan.text
    digest = next(m for m in received if m.to == _email(Role.OPERATOR_WORKER, "61"))
    assert "Voici le récapitulatif du mercredi 1 avril 2026 : 2 échéances" in digest.text
    assert "Transmettre le bilan" in digest.text and "Contacter le ménage 6 mois après la fin" in digest.text
    assert f"https://asll.test.fr/mesures/{ids['m4']}" in digest.text
    assert digest.message["List-Unsubscribe"].strip().startswith("<https://asll.test.fr/rappels/desabonnement/")


def test_a_sweep_run_twice_or_more_sends_nothing_twice(app, world, rp, mail_worker):
    worker, smtp = mail_worker
    _setup(app, world, rp, lambda: _scenario(world, rp))
    loire_id, orne_id = world.loire.tenant.id, world.orne.tenant.id

    # Two beats at once: both sweeps of each tenant are queued before the worker runs either.
    first, second = _sweep(app, loire_id), _sweep(app, loire_id)
    orne_first, orne_second = _sweep(app, orne_id), _sweep(app, orne_id)
    created = sorted(_result(r, worker)["reminders_created"] for r in (first, second))
    assert created == [0, 6]
    assert sorted(_result(r, worker)["reminders_created"] for r in (orne_first, orne_second)) == [0, 3]
    # The second sweep re-enqueued the rows still waiting: each was sent by one task only.
    assert len(_result(second, worker)["to_send"]) > 0
    wait_for(_all_sent(app, 8), what="8 outbox rows sent")
    _barrier(app, worker, loire_id)

    # A third run later the same day: nothing new, nothing to re-send.
    again = _result(app.extensions["celery"].send_task("asll.reminders.sweep_all", kwargs={"on_date": ON}), worker)
    assert again["tenant_ids"] == sorted([loire_id, orne_id])
    _barrier(app, worker, loire_id)
    _barrier(app, worker, orne_id)
    third = _result(_sweep(app, loire_id), worker)
    assert (third["reminders_created"], third["to_send"]) == (0, [])

    received = smtp.messages()
    assert len(received) == 8
    assert all(count == 1 for count in Counter(m.message_id for m in received).values())
    with app.app_context():
        assert reminder_count() == 9 and len(outbox_rows()) == 8
        assert all(r.attempts == 1 for r in outbox_rows())
        db.session.remove()


def test_a_worker_killed_in_the_middle_of_a_batch_loses_nothing_and_sends_nothing_twice(app, world, rp, mail_worker):
    worker, smtp = mail_worker
    loire_id = world.loire.tenant.id

    def build():
        for n in range(6):
            set_obligations(rp, loire_id, add_measure(world.loire),
                            obligation(f"obligation_{n}", f"Obligation n° {n + 1}", "2026-04-04"))
    _setup(app, world, rp, build)

    smtp.hold_at = 3  # the 3rd message: the worker waits for the server's answer, and dies there
    sweep = _result(_sweep(app, loire_id), worker)
    assert sweep["reminders_created"] == 6 and len(sweep["to_send"]) == 6
    assert smtp.holding.wait(WAIT), worker.log_tail()
    assert len(smtp.messages()) == 2
    assert worker.kill() == -9
    smtp.release()  # the server never accepted the held message
    held_id = smtp.held_message_id

    with app.app_context():
        states = {r.message_id: r.state for r in outbox_rows(loire_id)}
        db.session.remove()
    assert states[held_id] is OutboxState.SENDING  # claimed by the dead worker: its lease runs
    assert sum(s is OutboxState.SENT for s in states.values()) == 2

    worker.restart()  # picks up the send tasks still in the queue

    def lease_expired():
        with app.app_context(), tenant_context(loire_id):
            due = reminders.messages_to_send(utcnow())
            rows = {r.id: r.message_id for r in outbox_rows(loire_id)}
            db.session.remove()
        return any(rows[i] == held_id for i in due)
    wait_for(lease_expired, what="the held message's lease to expire")
    # The beat's next run: it creates nothing and hands the abandoned message to a live worker.
    recovery = _result(_sweep(app, loire_id), worker)
    assert recovery["reminders_created"] == 0 and recovery["to_send"]
    wait_for(_all_sent(app, 6), what="all 6 outbox rows sent")
    _barrier(app, worker, loire_id)

    received = smtp.messages()
    with app.app_context():
        rows = outbox_rows(loire_id)
        db.session.remove()
    assert Counter(m.message_id for m in received) == Counter({r.message_id: 1 for r in rows})
    assert {r.message_id: r.attempts for r in rows}[held_id] == 2
    assert sorted(m.subject.split(" : ")[1].split(" – ")[0] for m in received) == [
        f"Obligation n° {n}" for n in range(1, 7)]


def test_the_documented_window_a_death_after_the_server_accepted_resends_the_same_message_id(
        app, world, rp, mail_worker):
    """The one case exactly-once cannot cover (see asll.services.reminders): the server accepted
    the message, the worker died before marking it sent. It is sent again — as the very same
    message (same Message-ID), which the receiving side can recognise."""
    worker, smtp = mail_worker
    loire_id = world.loire.tenant.id
    _setup(app, world, rp, lambda: set_obligations(
        rp, loire_id, add_measure(world.loire), obligation("plan", "Établir le plan d'action", "2026-04-04")))

    smtp.hold_at, smtp.hold_accepts = 1, True  # accepted by the server, the answer never arrives
    _result(_sweep(app, loire_id), worker)
    assert smtp.holding.wait(WAIT), worker.log_tail()
    assert worker.kill() == -9
    smtp.release()
    assert len(smtp.messages()) == 1
    worker.restart()

    def lease_expired():
        with app.app_context(), tenant_context(loire_id):
            due = reminders.messages_to_send(utcnow())
            db.session.remove()
        return due
    wait_for(lease_expired, what="the lease of the dead worker's claim to expire")
    _result(_sweep(app, loire_id), worker)
    wait_for(_all_sent(app, 1), what="the outbox row marked sent")

    first, second = smtp.messages()
    with app.app_context():
        [row] = outbox_rows(loire_id)
        db.session.remove()
    assert first.message_id == second.message_id == row.message_id
    assert first.subject == second.subject and row.attempts == 2


def test_an_smtp_server_that_refuses_then_accepts_gets_the_message_once(app, world, rp, mail_worker):
    worker, smtp = mail_worker
    loire_id = world.loire.tenant.id
    _setup(app, world, rp, lambda: set_obligations(
        rp, loire_id, add_measure(world.loire), obligation("plan", "Établir le plan d'action", "2026-04-04")))

    smtp.refuse_next = 2  # "451 try again later", twice
    assert len(_result(_sweep(app, loire_id), worker)["to_send"]) == 1
    wait_for(lambda: smtp.messages(), what="the message after two refusals")
    wait_for(_all_sent(app, 1), what="the outbox row marked sent")
    _barrier(app, worker, loire_id)

    assert smtp.refused == 2 and smtp.data_commands == 3
    [message] = smtp.messages()
    assert message.to == _email(Role.OPERATOR_WORKER)
    with app.app_context():
        [row] = outbox_rows(loire_id)
        db.session.remove()
    assert (row.state, row.attempts, row.last_error, row.kind) == (OutboxState.SENT, 3, "", OutboxKind.REMINDER)
    assert message.message_id == row.message_id
    log = worker.log_text()
    assert log.count("Retry in") == 2, worker.log_tail()
