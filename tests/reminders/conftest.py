"""Fixtures of the reminders tests: a fake plugin that sets obligations, measures, a fixed clock,
a real SMTP server (aiosmtpd) on localhost, and a Celery worker configured to use it."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import socket
import threading
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
import time_machine
from aiosmtpd.controller import Controller

from asll.extensions import db
from asll.models import (
    Household,
    HouseholdMember,
    Measure,
    MeasureStatus,
    OrganisationKind,
    Request,
    RequestStatus,
    Role,
)
from asll.models.reminders import OutboxMessage, Reminder
from asll.services import measures, users
from asll.services import plugins as plugin_service
from asll.services.actor import Actor
from asll.tenancy import tenant_context, unscoped
from asll.toolkit import ObligationDef, PluginInfo, hookimpl
from tests.factories import PASSWORD
from tests.tasks.conftest import celery_worker  # noqa: F401  (the real worker fixture, reused here)
from tests.waiting import wait_for  # noqa: F401  (the tests here import it from this module)

PARIS = ZoneInfo("Europe/Paris")
RP = "rp"
WAIT = 60.0
# Personal data the e-mails must never carry (the households below are created with them).
LAST_NAME, FIRST_NAME, ADDRESS, CITY = "Delacroix", "Noémie", "7 impasse des Glycines", "Saint-Chamond"


def day(value: str) -> dt.date:
    return dt.date.fromisoformat(value)


class ReminderPlugin:
    """A fake département plugin: the obligations of each measure and the reminder steps are set by the test."""

    def __init__(self):
        self.obligations: dict[int, list[ObligationDef]] = {}
        self.steps: tuple[int, ...] | None = None

    @hookimpl
    def asll_plugin_info(self):
        return PluginInfo(name=RP, label="Rappels (test)", departement_code="98", departement_name="Test")

    @hookimpl
    def asll_obligations(self, tenant, measure):
        return list(self.obligations.get(measure.id, ()))

    @hookimpl
    def asll_reminder_steps(self, tenant):
        return self.steps  # None: no answer, the next plugin (finally the core) answers


@pytest.fixture
def rp(app, world):
    """The fake plugin, registered in this process and enabled for the Loire and the Orne instead
    of their real plugins (disabled, so that what they compute cannot blur these tests).

    A worker process does not know it (it loads the installed plugins only); it does not need
    to: the obligations are rows by the time the worker sweeps.
    """
    registry = app.extensions["asll_plugins"]
    plugin = ReminderPlugin()
    registry.register(plugin, RP)
    try:
        with app.app_context():
            for tenant_world in (world.loire, world.orne):
                plugin_service.set_enabled(Actor.system(), tenant_world.tenant.id, tenant_world.plugin, False)
                plugin_service.set_enabled(Actor.system(), tenant_world.tenant.id, RP, True)
            db.session.remove()
        yield plugin
    finally:
        registry.unregister(RP)
        with app.app_context():
            plugin_service._forget_cache()


@pytest.fixture
def clock():
    """A fixed French clock for in-process tests; ``clock.to("2026-04-01")`` moves it."""
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, 0, tzinfo=PARIS), tick=False) as traveller:
        yield Clock(traveller)


class Clock:
    def __init__(self, traveller):
        self._traveller = traveller

    def to(self, value: str, hour: int = 9) -> dt.date:
        self._traveller.move_to(dt.datetime.combine(day(value), dt.time(hour), tzinfo=PARIS))
        return day(value)


# -- building cases -------------------------------------------------------------------
_counter = iter(range(1, 1_000_000))


def add_measure(tenant_world, *, worker_id: int | None = None, operator_id: int | None = -1,
                kind: str = "acces") -> int:
    """A household, its request and a running measure of the tenant, inserted directly (the
    workflow services are tested elsewhere; reminders only need the rows)."""
    n = next(_counter)
    code = tenant_world.tenant.code
    prescriber = tenant_world.users[Role.PRESCRIBER]
    prescriber_org = tenant_world.orgs[OrganisationKind.PRESCRIBER].id
    if operator_id == -1:
        operator_id = tenant_world.orgs[OrganisationKind.OPERATOR].id
    with tenant_context(tenant_world.tenant.id):
        household = Household(reference=f"M-{code}-2026-{n:05d}", address=ADDRESS, postcode="42400", city=CITY,
                              sector="Centre", created_by_id=prescriber.id, created_by_organisation_id=prescriber_org,
                              members=[HouseholdMember(last_name=LAST_NAME, first_name=FIRST_NAME, is_reference=True,
                                                       birth_date=dt.date(1985, 6, 1),
                                                       tenant_id=tenant_world.tenant.id)])
        db.session.add(household)
        db.session.flush()
        request = Request(reference=f"D-{code}-2026-{n:05d}", household_id=household.id,
                          measure_type=f"{RP}.suivi", status=RequestStatus.DECIDED,
                          filed_by_id=prescriber.id, prescriber_organisation_id=prescriber_org)
        db.session.add(request)
        db.session.flush()
        measure = Measure(reference=f"A-{code}-2026-{n:05d}", household_id=household.id, request_id=request.id,
                          measure_type=f"{RP}.suivi", kind=kind, status=MeasureStatus.RUNNING,
                          operator_id=operator_id, worker_id=worker_id, decision_date=dt.date(2026, 1, 20),
                          granted_months=6, start_date=dt.date(2026, 2, 1), planned_end_date=dt.date(2026, 8, 1),
                          extra={})
        db.session.add(measure)
        db.session.commit()
        return measure.id


def set_obligations(rp: ReminderPlugin, tenant_id: int, measure_id: int, *definitions: ObligationDef) -> None:
    """Give the measure these obligations through the core's own recomputation."""
    rp.obligations[measure_id] = list(definitions)
    with tenant_context(tenant_id):
        measure = db.session.scalar(sa.select(Measure).where(Measure.id == measure_id))
        measures.recompute_obligations(measure)
        db.session.commit()


def obligation(kind: str, label: str, due: str, role: str = "operator_worker", done: bool = False) -> ObligationDef:
    return ObligationDef(kind, label, day(due), role, done=done)


def bounced_reminder(tenant_world, rp: ReminderPlugin, clock, address: str) -> int:
    """A reminder recorded by the sweep, then refused for good by the mail server (wrong address)."""
    from asll.models.reminders import OutboxState
    from asll.services import reminders

    tenant_id = tenant_world.tenant.id
    measure_id = add_measure(tenant_world)
    set_obligations(rp, tenant_id, measure_id, obligation("contrat", "Envoyer le contrat signé", "2026-04-16"))
    clock.to("2026-04-01")
    [outbox_id] = reminders.sweep(tenant_id, day("2026-04-01")).to_send
    with tenant_context(tenant_id):
        message = db.session.get(OutboxMessage, outbox_id)
        message.state, message.attempts, message.recipient = OutboxState.FAILED, 1, address
        message.last_error = "Refus définitif du serveur SMTP (550) : boîte inconnue"
        db.session.commit()
    return outbox_id


def add_user(tenant_world, role: Role, email_address: str, organisation_kind: OrganisationKind | None = None) -> int:
    system = Actor.system(tenant_world.tenant.id)
    with tenant_context(tenant_world.tenant.id):
        user = users.create_user(Actor.system(), {"email": email_address, "full_name": f"Compte {email_address}",
                                                  "password": PASSWORD})
        organisation_id = tenant_world.orgs[organisation_kind].id if organisation_kind else None
        users.add_membership(system, user, tenant_world.tenant.id, role, organisation_id)
        db.session.commit()
        return user.id


def outbox_rows(tenant_id: int | None = None) -> list[OutboxMessage]:
    """Every outbox row (fresh from the database), with its reminders loaded."""
    db.session.rollback()
    db.session.expire_all()
    with unscoped():
        query = sa.select(OutboxMessage).order_by(OutboxMessage.id)
        if tenant_id is not None:
            query = query.where(OutboxMessage.tenant_id == tenant_id)
        rows = list(db.session.scalars(query))
        for row in rows:
            list(row.reminders)
    return rows


def reminder_count() -> int:
    db.session.rollback()
    with unscoped():
        return db.session.scalar(sa.select(sa.func.count(Reminder.id)))


# -- SMTP -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Received:
    rcpt: tuple[str, ...]
    message: EmailMessage

    @property
    def message_id(self) -> str:
        return self.message["Message-ID"]

    @property
    def to(self) -> str:
        return self.rcpt[0]

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def text(self) -> str:
        return self.message.get_body(preferencelist=("plain",)).get_content()

    @property
    def html(self) -> str:
        return self.message.get_body(preferencelist=("html",)).get_content()


class RecordingHandler:
    """An aiosmtpd handler that records accepted messages and can refuse or hold some of them.

    * ``refuse_next``: the next N DATA commands get ``451`` (temporary refusal);
    * ``refuse_recipients``: these addresses get ``550`` at RCPT (unknown user: a bounce);
    * ``hold_at``: the N-th DATA command waits until :meth:`release` — the client is then
      stuck waiting for the server's answer, which is where a test kills the worker. With
      ``hold_accepts`` the held message is recorded before the wait (the server queued it; its
      "250" never reaches the dying client); otherwise it is not (the server never accepted
      it; released, it is answered ``451``). aiosmtpd cancels the handler when the client's
      connection drops, so nothing may be left to do after the wait.
    """

    def __init__(self):
        self.lock = threading.Lock()
        self.received: list[Received] = []
        self.data_commands = 0
        self.refuse_next = 0
        self.refused = 0
        self.refuse_recipients: set[str] = set()
        self.hold_at: int | None = None
        self.hold_accepts = False
        self.holding = threading.Event()
        self.held_message_id: str | None = None
        self._released = threading.Event()

    def release(self) -> None:
        self._released.set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse_recipients:
            return "550 5.1.1 <%s>: user unknown" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.data_commands += 1
            number = self.data_commands
            refuse = self.refuse_next > 0
            if refuse:
                self.refuse_next -= 1
                self.refused += 1
        if refuse:
            return "451 4.3.0 Temporary failure, try again later"
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        if self.hold_at == number:
            self.held_message_id = message["Message-ID"]
            if self.hold_accepts:
                self._record(envelope, message)
            self.holding.set()
            await asyncio.get_running_loop().run_in_executor(None, self._released.wait, WAIT)
            if not self.hold_accepts:
                return "451 4.3.0 Connection lost before acceptance"
            return "250 2.0.0 OK: queued"
        self._record(envelope, message)
        return "250 2.0.0 OK: queued"

    def _record(self, envelope, message) -> None:
        with self.lock:
            self.received.append(Received(tuple(envelope.rcpt_tos), message))

    def messages(self) -> list[Received]:
        with self.lock:
            return list(self.received)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server():
    """A real SMTP server on localhost for one test; stopped at the end whatever happened."""
    handler = RecordingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield controller, handler
    finally:
        handler.release()  # never leave a held DATA command behind
        controller.stop()


@pytest.fixture
def smtp_env(smtp_server, monkeypatch):
    """The worker's environment: the SMTP server above, short leases and retry delays.

    Set before the worker starts (a worker reads its configuration from the environment).
    """
    controller, handler = smtp_server
    monkeypatch.setenv("SMTP_HOST", controller.hostname)
    monkeypatch.setenv("SMTP_PORT", str(controller.port))
    monkeypatch.setenv("SMTP_TIMEOUT", "20")
    monkeypatch.setenv("ASLL_BASE_URL", "https://asll.test.fr")
    monkeypatch.setenv("ASLL_REMINDER_LEASE_SECONDS", "3")
    monkeypatch.setenv("ASLL_REMINDER_RETRY_BASE_SECONDS", "1")
    return handler


@pytest.fixture
def mail_worker(smtp_env, celery_worker):  # noqa: F811  (the imported fixture)
    """The real worker, started after ``smtp_env`` is in the environment; yields (worker, smtp handler)."""
    return celery_worker, smtp_env
