"""Reminders in process, with a fixed clock: which reminders are due when, to whom, how they are
recorded and delivered (to the mail folder or a real SMTP server), the département admin's
delays, the digest option, the sweep lock, the failures list and the preview command."""

from __future__ import annotations

import datetime as dt
import email
import re
from email import policy
from pathlib import Path

import pytest
import sqlalchemy as sa

from asll.extensions import db
from asll.models import AuditEvent, Obligation, ObligationState, Organisation, OrganisationKind, Role, User
from asll.models.base import utcnow
from asll.models.reminders import OutboxKind, OutboxMessage, OutboxState, Reminder
from asll.services import mail, reminders, tenants, users
from asll.services.actor import Actor
from asll.services.errors import NotFound, PermissionDenied, ServiceError, ValidationFailed
from asll.tenancy import tenant_context
from tests.core.workflow_support import database_state
from tests.reminders.conftest import (
    ADDRESS,
    CITY,
    FIRST_NAME,
    LAST_NAME,
    add_measure,
    add_user,
    day,
    obligation,
    outbox_rows,
    set_obligations,
)


def _email(role: Role, code: str = "42") -> str:
    return f"{role.value}.{code}@test.asll.fr"


def _last_audit(tenant_id: int) -> AuditEvent:
    with tenant_context(tenant_id):
        return db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.seq.desc())).first()


def _sweep(tenant_id: int, clock, when: str) -> reminders.SweepResult:
    clock.to(when)
    return reminders.sweep(tenant_id, day(when))


def _reminders_of(tenant_id: int) -> list[tuple[str, int, str]]:
    """(obligation kind, step, recipient e-mail) of every recorded reminder, sorted."""
    db.session.expire_all()
    with tenant_context(tenant_id):
        rows = db.session.execute(
            sa.select(Obligation.kind, Reminder.step, OutboxMessage.recipient)
            .join(Obligation, Obligation.id == Reminder.obligation_id)
            .join(OutboxMessage, OutboxMessage.id == Reminder.outbox_id))
        return sorted(tuple(r) for r in rows)


def _mail_files(app) -> list[Path]:
    return sorted(Path(app.config["MAIL_FOLDER"]).glob("*.eml"))


def _parse(path: Path) -> email.message.EmailMessage:
    return email.message_from_bytes(path.read_bytes(), policy=policy.default)


@pytest.fixture
def mail_folder(app, tmp_path, monkeypatch):
    """Mail goes to an empty folder of this test (no SMTP server configured)."""
    monkeypatch.setitem(app.config, "MAIL_FOLDER", str(tmp_path / "mail"))
    monkeypatch.setitem(app.config, "SMTP_HOST", "")
    monkeypatch.setitem(app.config, "BASE_URL", "https://asll.test.fr/")
    return tmp_path / "mail"


# =====================================================================================
# Reminder steps: core default, plugin default, département admin's override
# =====================================================================================
def test_steps_come_from_the_core_then_a_plugin_then_the_departement_admin(app_ctx, world, rp):
    bare = tenants.create_tenant(Actor.system(), "99", "Sans plugin")
    db.session.commit()
    assert reminders.reminder_steps(bare.id) == (-15, -3, 0)  # the core's built-in plugin

    loire, orne = world.loire, world.orne
    rp.steps = (-1, -10)  # an enabled plugin answers before the core
    assert reminders.reminder_steps(loire.tenant.id) == (-10, -1)

    admin = loire.actor(Role.DEPT_ADMIN)
    assert reminders.set_reminder_steps(admin, [0, -30, "-7"]) == (-30, -7, 0)
    assert reminders.reminder_steps(loire.tenant.id) == (-30, -7, 0)
    assert reminders.reminder_steps(orne.tenant.id) == (-10, -1)  # the Loire's choice stays in the Loire
    assert reminders.reminder_settings(admin) == {"steps": (-30, -7, 0), "default_steps": (-10, -1),
                                                  "overridden": True}
    entry = _last_audit(loire.tenant.id)
    assert (entry.action, entry.actor_id) == ("reminders.steps", admin.user_id)
    assert entry.changes == {"steps": [[-10, -1], [-30, -7, 0]], "override": True}

    assert reminders.set_reminder_steps(admin, None) == (-10, -1)  # back to the plugins' default
    assert reminders.reminder_settings(admin)["overridden"] is False
    assert _last_audit(loire.tenant.id).changes == {"steps": [[-30, -7, 0], [-10, -1]], "override": False}


@pytest.mark.parametrize("steps, errors", [
    ([], {"steps": ["Indiquez entre 1 et 6 délais de rappel."]}),
    ([-15, -3, -15], {"steps": ["Chaque délai ne peut figurer qu'une fois."]}),
    ([-200, 0], {"steps": {0: ["Chaque délai doit être compris entre -120 et 60 jours par rapport à l'échéance."]}}),
    (["J-15"], {"steps": {0: ["Chaque délai doit être un nombre entier de jours."]}}),
    ([-40, -30, -20, -10, -5, -2, 0], {"steps": ["Indiquez entre 1 et 6 délais de rappel."]}),
])
def test_invalid_steps_are_refused_in_french_and_nothing_changes(app_ctx, world, steps, errors):
    admin = world.loire.actor(Role.DEPT_ADMIN)
    before = database_state()
    with pytest.raises(ValidationFailed) as info:
        reminders.set_reminder_steps(admin, steps)
    assert info.value.fields == errors
    assert database_state() == before


@pytest.mark.parametrize("role", [Role.DEPT_AGENT, Role.OPERATOR_WORKER, Role.AUDITOR, Role.COMMISSION_SECRETARY])
def test_only_a_departement_admin_sets_the_steps_and_sees_the_failures(app_ctx, world, role):
    actor = world.loire.actor(role)
    before = database_state()
    for call in (lambda: reminders.set_reminder_steps(actor, [-5]), lambda: reminders.reminder_settings(actor),
                 lambda: reminders.delivery_problems(actor)):
        with pytest.raises(PermissionDenied):
            call()
    assert database_state() == before


# =====================================================================================
# Which step is due when (fixed clock), and the overdue state
# =====================================================================================
def test_reminders_at_j15_j3_and_on_the_due_date_then_the_obligation_is_overdue(app, app_ctx, world, rp, clock,
                                                                                mail_folder):
    loire = world.loire
    tid = loire.tenant.id
    clock.to("2026-03-20")
    measure_id = add_measure(loire)
    set_obligations(rp, tid, measure_id, obligation("contrat", "Envoyer le contrat signé", "2026-04-16"))

    assert _sweep(tid, clock, "2026-03-31").reminders_created == 0  # J-16: too early
    first = _sweep(tid, clock, "2026-04-01")  # J-15
    assert (first.reminders_created, first.messages_created) == (1, 1)
    [row] = outbox_rows(tid)
    assert first.to_send == [row.id] and row.state is OutboxState.PENDING
    assert _reminders_of(tid) == [("contrat", -15, _email(Role.OPERATOR_WORKER))]

    again = _sweep(tid, clock, "2026-04-01")  # a second beat the same day: nothing new, same row to send
    assert (again.reminders_created, again.to_send) == (0, [row.id])
    assert reminders.deliver(tid, row.id).status == "sent"
    assert _sweep(tid, clock, "2026-04-01").to_send == []

    for when, step in (("2026-04-12", None), ("2026-04-13", -3), ("2026-04-15", None), ("2026-04-16", 0)):
        result = _sweep(tid, clock, when)
        assert result.reminders_created == (0 if step is None else 1), when
        for outbox_id in result.to_send:
            assert reminders.deliver(tid, outbox_id).status == "sent"
    assert [step for _kind, step, _to in _reminders_of(tid)] == [-15, -3, 0]
    with tenant_context(tid):
        assert db.session.scalar(sa.select(Obligation.state)) is ObligationState.OPEN  # due today: not late yet

    late = _sweep(tid, clock, "2026-04-17")
    assert (late.overdue_marked, late.reminders_created) == (1, 0)
    db.session.expire_all()
    with tenant_context(tid):
        assert db.session.scalar(sa.select(Obligation.state)) is ObligationState.OVERDUE
    assert len(_mail_files(app)) == 3


def test_after_an_outage_only_the_latest_step_is_sent(app_ctx, world, rp, clock, mail_folder):
    """Steps whose day passed while nothing ran are superseded: one e-mail, not three at once."""
    tid = world.loire.tenant.id
    clock.to("2026-04-01")
    measure_id = add_measure(world.loire)
    set_obligations(rp, tid, measure_id, obligation("plan", "Établir le plan d'action", "2026-04-16"),
                    obligation("contrat", "Envoyer le contrat signé", "2026-04-20"))
    _sweep(tid, clock, "2026-04-14")  # J-2 of the plan (J-15 and J-3 passed), J-6 of the contract
    assert _reminders_of(tid) == [("contrat", -15, _email(Role.OPERATOR_WORKER)),
                                  ("plan", -3, _email(Role.OPERATOR_WORKER))]


def test_overdue_obligations_are_never_marked_ahead_of_the_real_date(app_ctx, world, rp, clock):
    """A sweep (or a preview) for a future date must not make today's obligations late."""
    tid = world.loire.tenant.id
    clock.to("2026-04-01")
    set_obligations(rp, tid, add_measure(world.loire), obligation("bilan", "Recevoir le bilan", "2026-04-05"))
    result = reminders.sweep(tid, day("2026-04-10"))
    assert result.overdue_marked == 0
    with tenant_context(tid):
        assert db.session.scalar(sa.select(Obligation.state)) is ObligationState.OPEN


# =====================================================================================
# To whom
# =====================================================================================
def test_each_obligation_goes_to_the_people_who_must_act_in_its_tenant_only(app_ctx, world, rp, clock):
    loire, orne = world.loire, world.orne
    clock.to("2026-03-25")
    second_worker = add_user(loire, Role.OPERATOR_WORKER, "ts2.42@test.asll.fr", OrganisationKind.OPERATOR)
    add_user(loire, Role.COMMISSION_SECRETARY, "secretariat2.42@test.asll.fr", OrganisationKind.COMMISSION_SECRETARIAT)
    due = "2026-04-04"  # J-3 on 1 April
    cases = {
        "ouvrier": (add_measure(loire), "operator_worker"),
        "assigne": (add_measure(loire, worker_id=second_worker), "operator_worker"),
        "prescripteur": (add_measure(loire), "prescriber"),
        "commission": (add_measure(loire), "commission_secretary"),
        "agent": (add_measure(loire), "dept_agent"),
        "sans_operateur": (add_measure(loire, operator_id=None), "operator_worker"),
    }
    for kind, (measure_id, role) in cases.items():
        set_obligations(rp, loire.tenant.id, measure_id, obligation(kind, f"Obligation {kind}", due, role))
    orne_measure = add_measure(orne)
    set_obligations(rp, orne.tenant.id, orne_measure, obligation("contact", "Contacter le ménage", due))
    # A fulfilled obligation is never reminded.
    set_obligations(rp, loire.tenant.id, add_measure(loire), obligation("fait", "Déjà fait", due, done=True))

    for tenant in (loire.tenant, orne.tenant):
        _sweep(tenant.id, clock, "2026-04-01")

    assert _reminders_of(loire.tenant.id) == sorted([
        ("ouvrier", -3, _email(Role.OPERATOR_WORKER)), ("ouvrier", -3, "ts2.42@test.asll.fr"),
        ("assigne", -3, "ts2.42@test.asll.fr"),  # the assigned worker only
        ("prescripteur", -3, _email(Role.PRESCRIBER)),  # who filed the request
        ("commission", -3, _email(Role.COMMISSION_SECRETARY)), ("commission", -3, "secretariat2.42@test.asll.fr"),
        ("agent", -3, _email(Role.DEPT_AGENT)),
        ("sans_operateur", -3, _email(Role.DEPT_AGENT)),  # nobody at the operator: the département follows up
    ])
    assert _reminders_of(orne.tenant.id) == [("contact", -3, _email(Role.OPERATOR_WORKER, "61"))]


def test_the_prescriber_organisation_is_reminded_when_the_filer_left(app_ctx, world, rp, clock):
    loire = world.loire
    clock.to("2026-03-25")
    add_user(loire, Role.PRESCRIBER, "collegue.42@test.asll.fr", OrganisationKind.PRESCRIBER)
    measure_id = add_measure(loire)
    db.session.execute(sa.update(User).where(User.id == loire.users[Role.PRESCRIBER].id).values(active=False))
    db.session.commit()  # the prescriber who filed the request left
    set_obligations(rp, loire.tenant.id, measure_id, obligation("bilan", "Recevoir le bilan", "2026-04-04", "prescriber"))
    _sweep(loire.tenant.id, clock, "2026-04-01")
    assert _reminders_of(loire.tenant.id) == [("bilan", -3, "collegue.42@test.asll.fr")]


def test_a_secretary_is_reminded_of_the_commissions_they_may_run(app_ctx, world):
    """The rule that lets a secretary run a commission's sessions (access.served_commissions, over
    all their memberships) is the rule of its reminders: a département admin who also sits in a
    secretariat serving one commission runs, and is reminded of, every commission."""
    loire = world.loire
    tid, secretariat = loire.tenant.id, loire.orgs[OrganisationKind.COMMISSION_SECRETARIAT]
    with tenant_context(tid):
        db.session.execute(sa.update(Organisation).where(Organisation.id == secretariat.id)
                           .values(commission_codes=["loire.clu"]))
        db.session.commit()
    both = add_user(loire, Role.COMMISSION_SECRETARY, "double.42@test.asll.fr", OrganisationKind.COMMISSION_SECRETARIAT)
    with tenant_context(tid):
        users.add_membership(Actor.system(tid), db.session.get(User, both), tid, Role.DEPT_ADMIN)
        db.session.commit()
        directory = reminders.Directory()

        def reminded(code):
            return {user_id for user_id, _ in directory.resolve(
                Role.COMMISSION_SECRETARY.value, operator_id=None, worker_id=None, filed_by_id=None,
                prescriber_org_id=None, commission_code=code)}

        secretary = loire.users[Role.COMMISSION_SECRETARY].id  # the same secretariat, no other role
        assert reminded("loire.clu") == {secretary, both}
        assert reminded("loire.autre") == {both}


# =====================================================================================
# The e-mail itself, in the embedded mail folder
# =====================================================================================
def test_the_email_is_french_text_and_html_with_references_and_a_link_but_no_personal_data(
        app, app_ctx, world, rp, clock, mail_folder):
    tid = world.loire.tenant.id
    clock.to("2026-04-01")
    measure_id = add_measure(world.loire, kind="maintien")
    set_obligations(rp, tid, measure_id, obligation("prolongation", "Demander la prolongation", "2026-04-16"))
    result = reminders.sweep(tid, day("2026-04-01"))
    assert reminders.deliver(tid, result.to_send[0]).status == "sent"

    [path] = _mail_files(app)
    message = _parse(path)
    [row] = outbox_rows(tid)
    measure_ref, household_ref = "A-42-2026-", "M-42-2026-"
    assert message["To"] == _email(Role.OPERATOR_WORKER)
    assert message["Message-ID"] == row.message_id and path.name == row.message_id.strip("<>") + ".eml"
    assert message["Content-Language"] == "fr" and message["Auto-Submitted"] == "auto-generated"
    assert str(message["Subject"]).startswith("[ASLL Loire] Rappel d'échéance : Demander la prolongation – 16/04/2026 "
                                              f"(mesure {measure_ref}")
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "Une échéance arrive (dans 15 jours)" in text
    assert "Vous recevez ce rappel au titre de : Travailleur social de l'opérateur." in text
    assert "Obligation : Demander la prolongation" in text
    assert "Échéance   : jeudi 16 avril 2026" in text
    assert re.search(rf"Mesure     : {measure_ref}\d{{5}} \(Maintien dans le logement\)", text)
    assert re.search(rf"Ménage     : {household_ref}\d{{5}}", text)
    assert f"Consulter la mesure : https://asll.test.fr/mesures/{measure_id}\n" in text
    assert f'href="https://asll.test.fr/mesures/{measure_id}"' in html and "jeudi 16 avril 2026" in html
    assert "<html lang=\"fr\">" in html and "Travailleur social de l&#39;opérateur" in html
    for secret in (LAST_NAME, FIRST_NAME, ADDRESS, CITY, "Saint-Chamond", "1985"):
        assert secret not in text and secret not in html and secret not in str(message["Subject"])
    assert row.state is OutboxState.SENT and row.attempts == 1 and row.subject == str(message["Subject"])
    entry = _last_audit(tid)
    assert (entry.action, entry.object_id, entry.changes["measures"]) == ("reminders.sent", row.id, [measure_id])


def test_an_interrupted_delivery_to_the_mail_folder_is_redone_in_the_same_file(app, app_ctx, world, rp, clock,
                                                                               mail_folder):
    """The worker died after writing the file, before marking the row sent: the retry rewrites
    the same file (named after the Message-ID), so the folder holds the message once."""
    tid = world.loire.tenant.id
    clock.to("2026-04-01")
    set_obligations(rp, tid, add_measure(world.loire), obligation("plan", "Établir le plan d'action", "2026-04-04"))
    [outbox_id] = reminders.sweep(tid, day("2026-04-01")).to_send
    assert reminders.deliver(tid, outbox_id).status == "sent"
    with tenant_context(tid):  # as if the worker had died just before its last UPDATE
        db.session.execute(sa.update(OutboxMessage).values(state=OutboxState.SENDING,
                                                           lease_expires_at=utcnow() - dt.timedelta(seconds=1)))
        db.session.commit()
        assert reminders.messages_to_send(utcnow()) == [outbox_id]
    assert reminders.deliver(tid, outbox_id).status == "sent"
    assert reminders.deliver(tid, outbox_id).status == "skipped"  # a third delivery finds it sent
    assert len(_mail_files(app)) == 1
    [row] = outbox_rows(tid)
    assert (row.state, row.attempts) == (OutboxState.SENT, 2)


def test_a_delivery_whose_lease_is_still_running_is_left_alone(app, app_ctx, world, rp, clock, mail_folder):
    tid = world.loire.tenant.id
    clock.to("2026-04-01")
    set_obligations(rp, tid, add_measure(world.loire), obligation("plan", "Établir le plan d'action", "2026-04-04"))
    [outbox_id] = reminders.sweep(tid, day("2026-04-01")).to_send
    with tenant_context(tid):  # another worker is sending it right now
        db.session.execute(sa.update(OutboxMessage).values(state=OutboxState.SENDING,
                                                           lease_expires_at=utcnow() + dt.timedelta(minutes=5)))
        db.session.commit()
        assert reminders.messages_to_send(utcnow()) == []
    assert reminders.deliver(tid, outbox_id).status == "skipped"
    assert _mail_files(app) == []
    clock.to("2026-04-01", hour=10)  # its lease expired: the worker must have died
    assert reminders.deliver(tid, outbox_id).status == "sent"


def test_fulfilled_or_moved_obligations_are_not_reminded_any_more(app, app_ctx, world, rp, clock, mail_folder):
    tid = world.loire.tenant.id
    clock.to("2026-04-01")
    done_measure, moved_measure = add_measure(world.loire), add_measure(world.loire)
    set_obligations(rp, tid, done_measure, obligation("contrat", "Envoyer le contrat signé", "2026-04-04"))
    set_obligations(rp, tid, moved_measure, obligation("bilan", "Recevoir le bilan", "2026-04-04"))
    to_send = reminders.sweep(tid, day("2026-04-01")).to_send
    assert len(to_send) == 2

    # Before the worker sends: one obligation is fulfilled, the other's due date moves.
    set_obligations(rp, tid, done_measure, obligation("contrat", "Envoyer le contrat signé", "2026-04-04", done=True))
    set_obligations(rp, tid, moved_measure, obligation("bilan", "Recevoir le bilan", "2026-05-04"))
    assert [reminders.deliver(tid, i).status for i in to_send] == ["cancelled", "cancelled"]
    assert _mail_files(app) == []
    assert {r.state for r in outbox_rows(tid)} == {OutboxState.CANCELLED}

    # The moved one is reminded again for its new due date, when its time comes.
    assert reminders.sweep(tid, day("2026-04-01")).reminders_created == 0
    clock.to("2026-04-19")
    result = reminders.sweep(tid, day("2026-04-19"))
    assert result.reminders_created == 1
    assert reminders.deliver(tid, result.to_send[0]).status == "sent"
    assert "04/05/2026" in str(_parse(_mail_files(app)[0])["Subject"])


# =====================================================================================
# Daily digest (an option) and preferences
# =====================================================================================
def test_a_digest_reader_gets_one_email_a_day_and_can_unsubscribe_from_it(app, app_ctx, world, rp, clock,
                                                                          mail_folder):
    orne = world.orne
    tid = orne.tenant.id
    worker = orne.actor(Role.OPERATOR_WORKER)
    assert reminders.preferences(worker) == {"daily_digest": False}
    assert reminders.set_preferences(worker, {"daily_digest": True}) == {"daily_digest": True}
    entry = _last_audit(tid)
    assert (entry.action, entry.changes["daily_digest"]) == ("reminders.preferences", [False, True])

    clock.to("2026-04-01")
    first, second = add_measure(orne), add_measure(orne)
    set_obligations(rp, tid, first, obligation("contact", "Contacter le ménage 6 mois après la fin", "2026-04-16"))
    set_obligations(rp, tid, second, obligation("bilan", "Recevoir le bilan", "2026-04-01"),
                    obligation("plan", "Établir le plan d'action", "2026-04-04"))
    result = reminders.sweep(tid, day("2026-04-01"))
    assert (result.reminders_created, result.messages_created) == (3, 1)
    [digest] = outbox_rows(tid)
    assert digest.kind is OutboxKind.DIGEST and len(digest.reminders) == 3
    assert reminders.deliver(tid, digest.id).status == "sent"

    [path] = _mail_files(app)
    message = _parse(path)
    assert str(message["Subject"]) == "[ASLL Orne] Récapitulatif du 01/04/2026 : 3 échéances"
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "Voici le récapitulatif du mercredi 1 avril 2026 : 3 échéances" in text
    order = [text.index(label) for label in ("Recevoir le bilan", "Établir le plan d'action",
                                             "Contacter le ménage 6 mois après la fin")]
    assert order == sorted(order)  # by due date
    assert "(aujourd'hui)" in text and "(dans 3 jours)" in text and "(dans 15 jours)" in text
    assert f"https://asll.test.fr/mesures/{first}" in text and f"https://asll.test.fr/mesures/{second}" in text
    unsubscribe = re.search(r"<(https://asll\.test\.fr/rappels/desabonnement/([^>]+))>", message["List-Unsubscribe"])
    assert unsubscribe and unsubscribe.group(1) in text
    assert LAST_NAME not in text and CITY not in text

    # The same day, a new obligation after the digest left: sent on its own, not lost.
    set_obligations(rp, tid, add_measure(orne), obligation("reprise", "Statuer sur la reprise", "2026-04-04"))
    late = reminders.sweep(tid, day("2026-04-01"))
    assert late.reminders_created == 1
    assert [(r.kind, len(r.reminders)) for r in outbox_rows(tid)] == [(OutboxKind.DIGEST, 3), (OutboxKind.REMINDER, 1)]

    # The link in the digest: no more digest, the reminders come one by one.
    assert reminders.unsubscribe_digest(unsubscribe.group(2)) == {"daily_digest": False,
                                                                  "email": _email(Role.OPERATOR_WORKER, "61")}
    assert reminders.preferences(worker) == {"daily_digest": False}
    clock.to("2026-04-13")  # the contact's J-3, and the day-of reminders of the two due on 4 April
    result = reminders.sweep(tid, day("2026-04-13"))
    assert result.reminders_created == result.messages_created == 3  # one e-mail each
    with pytest.raises(NotFound):
        reminders.unsubscribe_digest(unsubscribe.group(2)[:-2] + "xx")


def test_reminders_of_ones_own_obligations_cannot_be_switched_off(app_ctx, world):
    worker = world.loire.actor(Role.OPERATOR_WORKER)
    before = database_state()
    with pytest.raises(ValidationFailed) as info:
        reminders.set_preferences(worker, {"daily_digest": False, "obligation_reminders": False})
    assert info.value.fields == {"obligation_reminders": ["Champ inconnu."]}
    with pytest.raises(ValidationFailed) as info:
        reminders.set_preferences(worker, {})
    assert info.value.fields == {"daily_digest": ["Ce champ est obligatoire."]}
    with pytest.raises(PermissionDenied):
        reminders.set_preferences(Actor.system(world.loire.tenant.id), {"daily_digest": True})
    assert database_state() == before


# =====================================================================================
# The sweep lock
# =====================================================================================
def test_a_sweep_that_finds_another_one_running_does_nothing_until_its_lock_expires(app_ctx, world, rp, clock):
    tid = world.loire.tenant.id
    clock.to("2026-04-01")
    set_obligations(rp, tid, add_measure(world.loire), obligation("plan", "Établir le plan d'action", "2026-04-04"))
    with tenant_context(tid):
        token = reminders._acquire_sweep_lock(utcnow())  # another sweep of the Loire is running
    assert token
    blocked = reminders.sweep(tid, day("2026-04-01"))
    assert blocked.locked_out and blocked.reminders_created == 0 and blocked.to_send == []
    assert outbox_rows() == []
    other = reminders.sweep(world.orne.tenant.id, day("2026-04-01"))  # the Orne is not blocked
    assert not other.locked_out

    clock.to("2026-04-01", hour=10)  # the other sweep died an hour ago: its lock (15 min) expired
    result = reminders.sweep(tid, day("2026-04-01"))
    assert not result.locked_out and result.reminders_created == 1
    assert reminders.sweep(tid, day("2026-04-01")).locked_out is False  # released after each run


def test_if_two_sweeps_ever_overlap_the_unique_constraints_keep_one_copy(app_ctx, world, rp, clock, monkeypatch):
    """A sweep slower than its lock: another run recorded the same reminders meanwhile. The late
    run's inserts hit the unique constraints; it keeps nothing and leaves the lock free."""
    tid = world.loire.tenant.id
    clock.to("2026-04-01")
    set_obligations(rp, tid, add_measure(world.loire), obligation("plan", "Établir le plan d'action", "2026-04-04"))
    stale_plan = reminders.plan(tid, day("2026-04-01"))  # what the slow run computed before the other committed
    assert len(stale_plan) == 1
    assert reminders.sweep(tid, day("2026-04-01")).reminders_created == 1  # the other run
    monkeypatch.setattr(reminders, "plan", lambda *_args: stale_plan)
    late = reminders.sweep(tid, day("2026-04-01"))
    assert (late.locked_out, late.reminders_created, len(late.to_send)) == (False, 0, 1)
    assert [len(r.reminders) for r in outbox_rows()] == [1]
    monkeypatch.undo()
    assert reminders.sweep(tid, day("2026-04-01")).locked_out is False


# =====================================================================================
# Real SMTP in process: failures the département admin sees
# =====================================================================================
def test_refused_addresses_fail_at_once_temporary_errors_wait_and_the_admin_sees_both(
        app, app_ctx, world, rp, clock, smtp_server, monkeypatch):
    controller, handler = smtp_server
    monkeypatch.setitem(app.config, "SMTP_HOST", controller.hostname)
    monkeypatch.setitem(app.config, "SMTP_PORT", controller.port)
    loire = world.loire
    tid = loire.tenant.id
    handler.refuse_recipients.add(_email(Role.PRESCRIBER))
    clock.to("2026-04-01")
    set_obligations(rp, tid, add_measure(loire), obligation("bilan", "Recevoir le bilan", "2026-04-04", "prescriber"))
    set_obligations(rp, tid, add_measure(loire), obligation("plan", "Établir le plan d'action", "2026-04-04"))
    bounced_id, delayed_id = reminders.sweep(tid, day("2026-04-01")).to_send

    bounced = reminders.deliver(tid, bounced_id)
    assert bounced.status == "failed" and "550" in bounced.detail
    handler.refuse_next = 1
    delayed = reminders.deliver(tid, delayed_id)
    assert (delayed.status, delayed.retry_in) == ("retry", 60.0)
    assert handler.messages() == []
    with tenant_context(tid):
        assert reminders.messages_to_send(utcnow()) == []  # the retry waits for its delay

    admin = loire.actor(Role.DEPT_ADMIN)
    problems = {p.outbox_id: p for p in reminders.delivery_problems(admin)}
    assert set(problems) == {bounced_id, delayed_id}
    assert problems[bounced_id].state_label == "Échec définitif"
    assert problems[bounced_id].recipient == _email(Role.PRESCRIBER) and problems[bounced_id].attempts == 1
    assert "Refus définitif du serveur SMTP (550)" in problems[bounced_id].last_error
    assert problems[bounced_id].measure_references[0].startswith("A-42-2026-")
    assert problems[delayed_id].state_label == "Nouvelle tentative prévue"
    assert "Refus temporaire du serveur SMTP (451)" in problems[delayed_id].last_error
    assert reminders.delivery_problems(world.orne.actor(Role.DEPT_ADMIN)) == []  # per tenant

    clock.to("2026-04-01", hour=10)  # the retry delay passed
    with tenant_context(tid):
        assert reminders.messages_to_send(utcnow()) == [delayed_id]
    assert reminders.deliver(tid, delayed_id).status == "sent"
    assert [m.to for m in handler.messages()] == [_email(Role.OPERATOR_WORKER)]

    # The admin has the address fixed, then puts the failed message back in the queue.
    handler.refuse_recipients.clear()
    with pytest.raises(ServiceError):
        reminders.retry_failed(admin, delayed_id)  # not failed
    assert reminders.retry_failed(admin, bounced_id) == bounced_id
    assert _last_audit(tid).action == "reminders.retry"
    assert reminders.deliver(tid, bounced_id).status == "sent"
    assert [m.to for m in handler.messages()] == [_email(Role.OPERATOR_WORKER), _email(Role.PRESCRIBER)]
    assert reminders.delivery_problems(admin) == []


def test_an_unreachable_smtp_server_is_a_temporary_failure(app, app_ctx, monkeypatch):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens there once closed
    monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(app.config, "SMTP_PORT", port)
    outgoing = mail.OutgoingMail(to="a@test.asll.fr", subject="Essai", text="Bonjour", html="<p>Bonjour</p>",
                                 message_id="<essai@asll.localhost>")
    with pytest.raises(mail.TransientMailError) as info:
        mail.send(outgoing)
    assert info.value.message.startswith("Serveur SMTP injoignable")


def test_a_message_that_keeps_failing_gives_up_after_the_maximum_attempts(app, app_ctx, world, rp, clock,
                                                                          smtp_server, monkeypatch):
    controller, handler = smtp_server
    monkeypatch.setitem(app.config, "SMTP_HOST", controller.hostname)
    monkeypatch.setitem(app.config, "SMTP_PORT", controller.port)
    monkeypatch.setitem(app.config, "REMINDER_MAX_ATTEMPTS", 3)
    tid = world.loire.tenant.id
    clock.to("2026-04-01")
    set_obligations(rp, tid, add_measure(world.loire), obligation("plan", "Établir le plan d'action", "2026-04-04"))
    [outbox_id] = reminders.sweep(tid, day("2026-04-01")).to_send
    handler.refuse_next = 10
    statuses = []
    for hour in (9, 10, 11):
        clock.to("2026-04-01", hour=hour)
        delivery = reminders.deliver(tid, outbox_id)
        statuses.append((delivery.status, delivery.retry_in))
    assert statuses == [("retry", 60.0), ("retry", 120.0), ("failed", None)]
    [row] = outbox_rows(tid)
    assert (row.state, row.attempts) == (OutboxState.FAILED, 3)
    assert handler.messages() == []


# =====================================================================================
# Preview command, beat schedule
# =====================================================================================
def test_the_preview_command_lists_what_the_sweep_would_send_and_writes_nothing(app, world, rp):
    import time_machine

    from tests.reminders.conftest import PARIS

    with app.app_context(), time_machine.travel(dt.datetime(2026, 3, 30, 9, 0, tzinfo=PARIS), tick=False):
        loire = world.loire
        first, second = add_measure(loire), add_measure(loire)
        set_obligations(rp, loire.tenant.id, first, obligation("contrat", "Envoyer le contrat signé", "2026-04-16"))
        set_obligations(rp, loire.tenant.id, second, obligation("bilan", "Recevoir le bilan", "2026-04-01",
                                                                "prescriber"),
                        obligation("prolongation", "Demander la prolongation", "2026-05-20"))
        reminders.set_reminder_steps(loire.actor(Role.DEPT_ADMIN), [-15, -3, 0])
        before = database_state()
        db.session.remove()

    result = app.test_cli_runner().invoke(args=["asll", "reminders-preview", "--date", "2026-04-01",
                                                "--tenant", "42"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "Département 42 Loire – balayage du 01/04/2026 (délais de rappel : J-15, J-3, J)"
    with app.app_context():
        by_kind = {p.kind: p for p in reminders.plan(loire.tenant.id, day("2026-04-01"))}
        assert database_state() == before
        db.session.remove()
    assert lines[1:3] == [
        f"  operator_worker.42@test.asll.fr [rappel] Envoyer le contrat signé – mesure "
        f"{by_kind['contrat'].measure_reference} (ménage {by_kind['contrat'].household_reference}) – "
        f"échéance 16/04/2026 (J-15, dans 15 jours)",
        f"  prescriber.42@test.asll.fr [rappel] Recevoir le bilan – mesure {by_kind['bilan'].measure_reference} "
        f"(ménage {by_kind['bilan'].household_reference}) – échéance 01/04/2026 (J, aujourd'hui)",
    ]
    assert lines[3:] == ["  2 rappel(s) en 2 message(s) ; 0 message(s) non encore envoyé(s) seraient renvoyé(s).",
                         "Total : 2 rappel(s)."]

    bad = app.test_cli_runner().invoke(args=["asll", "reminders-preview", "--date", "01/04/2026"])
    assert bad.exit_code == 2 and "date attendue au format AAAA-MM-JJ" in bad.output
    unknown = app.test_cli_runner().invoke(args=["asll", "reminders-preview", "--tenant", "00"])
    assert unknown.exit_code == 1 and "département « 00 » introuvable" in unknown.output


def test_the_beat_sweeps_every_quarter_hour_in_the_day_through_named_tasks(app):
    from celery.schedules import crontab

    celery_app = app.extensions["celery"]
    entry = celery_app.conf.beat_schedule["reminders-sweep"]
    assert entry["task"] == "asll.reminders.sweep_all"
    assert entry["schedule"] == crontab(minute="*/15", hour="7-19")
    for name in ("asll.reminders.sweep_all", "asll.reminders.sweep_tenant", "asll.reminders.send"):
        assert name in celery_app.tasks
        assert celery_app.tasks[name].acks_late
