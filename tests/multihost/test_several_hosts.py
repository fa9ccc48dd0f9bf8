"""Production on several hosts (issue 16): two web processes, two Celery workers and one beat, each
with its own empty instance folder, sharing only PostgreSQL, Redis, an S3-compatible bucket and
an SMTP server. What one host does, another sees: a file uploaded through web A is downloaded
through web B, an export made by whichever worker is downloaded through both webs, a login on A
holds on B (cookie and CSRF token), and two workers sweeping the same reminders send each once.

The processes run with the real clock (time-machine cannot reach them): reminder deadlines are
set from today's date in Paris, and the sweep gets that date as its argument, as beat gives it.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis
import requests

from asll.extensions import db
from asll.models import Measure, OrganisationKind, Role
from asll.models.reminders import OutboxState
from asll.services import audit, reminders
from asll.services.access import get_in_tenant
from asll.tenancy import tenant_context
from tests.conftest import PARIS, csrf_token
from tests.multihost.cluster import Browser, files_in
from tests.waiting import wait_for
from tests.reminders.conftest import add_measure, add_user, obligation, outbox_rows, rp, set_obligations  # noqa: F401

pytestmark = pytest.mark.multihost

WAIT = 60.0  # any one thing the hosts do, on a busy machine


def log_in(web, email: str, password: str) -> Browser:
    """Log in through web ``web``'s real form and land on its dashboard (one département: chosen for us)."""
    browser = Browser()
    page = browser.get(web, "/connexion")
    assert page.status_code == 200, page.text[:300]
    response = browser.post(web, "/connexion", data={"email": email, "password": password,
                                                     "csrf_token": csrf_token(page.text)})
    assert response.status_code == 302, response.text[:500]
    board = browser.follow(web, response)
    assert board.status_code == 200 and urlsplit(board.url).path == "/tableau-de-bord", board.url
    return browser


def download(browser: Browser, web, path: str) -> requests.Response:
    """A download through ``web``: its own answer, or the short-lived presigned address it redirects to
    (followed like a browser would, without the site's cookies: the bucket is another host)."""
    response = browser.get(web, path)
    if response.status_code in (302, 303, 307) and urlsplit(response.headers["Location"]).netloc:
        response = requests.get(response.headers["Location"], timeout=30)
    assert response.status_code == 200, (web.name, path, response.status_code, response.text[:500])
    return response


BEAT_SCHEDULE_FILE = re.compile(r"celerybeat-schedule.*")  # the single beat's own schedule


def local_files(cluster) -> set[str]:
    """The files the hosts keep on their own disks (``<host>/<path>``), but for the beat's schedule."""
    return {f"{name}/{path}" for name, folder in cluster.instances.items() for path in files_in(folder)
            if not (name == "beat" and BEAT_SCHEDULE_FILE.fullmatch(path))}


# -- (c) one login, any web process --------------------------------------------------------------
def test_a_user_logged_in_on_web_a_stays_logged_in_on_web_b(cluster, world):
    kept_before = local_files(cluster)
    admin = world.loire.users[Role.DEPT_ADMIN]
    browser = log_in(cluster.web_a, admin.email, world.password)
    cookie = dict(browser.cookies)

    on_b = browser.get(cluster.web_b, "/tableau-de-bord")
    assert on_b.status_code == 200, (on_b.status_code, on_b.headers.get("Location"))
    assert admin.full_name in on_b.text and "Loire" in on_b.text
    same = Browser(cookies=dict(cookie))  # the very cookie web A set, nothing web B added
    assert same.get(cluster.web_b, "/tableau-de-bord").status_code == 200
    assert same.get(cluster.web_a, "/tableau-de-bord").status_code == 200

    token = csrf_token(browser.get(cluster.web_a, "/tableau-de-bord").text)
    forged = browser.post(cluster.web_b, "/deconnexion", data={"csrf_token": token[::-1]})
    assert forged.status_code == 400 and "Formulaire expiré" in forged.text  # web B does check the token
    logged_out = browser.post(cluster.web_b, "/deconnexion", data={"csrf_token": token})
    assert logged_out.status_code == 302 and urlsplit(logged_out.headers["Location"]).path == "/connexion"

    # The session ended for every web process (it lives in the shared database, not in one host).
    for web in (cluster.web_a, cluster.web_b):
        again = Browser(cookies=dict(cookie)).get(web, "/tableau-de-bord")
        assert again.status_code == 302 and urlsplit(again.headers["Location"]).path == "/connexion", web.name
    assert local_files(cluster) - kept_before == set(), "a host wrote a file on its own disk"


# -- (a) a file uploaded on one host, downloaded from another -------------------------------------
def test_a_file_uploaded_through_web_a_is_downloaded_through_web_b(app, cluster, world):
    kept_before = local_files(cluster)
    loire = world.loire
    prescriber = loire.users[Role.PRESCRIBER]
    on_a = log_in(cluster.web_a, prescriber.email, world.password)
    url = f"/demandes/{loire.request.id}"
    token = csrf_token(on_a.get(cluster.web_a, url).text)
    content = b"%PDF-1.4\n%" + secrets.token_hex(16).encode() + b"\n1 0 obj<</Type/Catalog>>endobj\n" \
              b"trailer<</Root 1 0 R>>\n%%EOF\n"
    bucket_before = cluster.s3.keys()

    uploaded = on_a.post(cluster.web_a, f"{url}/pieces-jointes", data={"csrf_token": token},
                         files={"file": ("bail signé.pdf", content, "application/pdf")})
    assert uploaded.status_code == 302, uploaded.text[:500]
    assert "Pièce jointe « bail signé.pdf » ajoutée." in on_a.follow(cluster.web_a, uploaded).text

    on_b = log_in(cluster.web_b, prescriber.email, world.password)  # another browser, another host
    page = on_b.get(cluster.web_b, url)
    assert page.status_code == 200
    [document_id] = set(re.findall(r'href="/documents/(\d+)"', page.text))
    assert download(on_b, cluster.web_b, f"/documents/{document_id}").content == content
    assert download(on_a, cluster.web_a, f"/documents/{document_id}").content == content

    assert len(cluster.s3.keys()) == len(bucket_before) + 1, "the file went to the shared bucket"
    assert local_files(cluster) - kept_before == set(), "a host wrote a file on its own disk"


# -- (b) an export made by one worker, downloaded through both webs --------------------------------
def test_an_export_made_by_either_worker_is_downloaded_through_both_webs(app, cluster, world):
    kept_before = local_files(cluster)
    loire = world.loire
    admin = log_in(cluster.web_a, loire.users[Role.DEPT_ADMIN].email, world.password)
    form = admin.get(cluster.web_a, "/rapports/exports/nouveau")
    asked = admin.post(cluster.web_a, "/rapports/exports/nouveau", data={
        "csrf_token": csrf_token(form.text), "dataset": "households", "file_format": "csv",
        "columns_households": ["household_reference", "city"]})
    assert asked.status_code == 302, asked.text[:500]
    export_id = int(asked.headers["Location"].rstrip("/").rsplit("/", 1)[1])

    status = wait_for(lambda: (s := admin.get(cluster.web_b, f"/rapports/exports/{export_id}/etat").json())
                      ["finished"] and s, "the export to finish (polled through web B)")
    assert status["status"] == "done", status
    producers = wait_for(lambda: [w for w in cluster.workers if w.tasks_succeeded("asll.exports.run")],
                         "the producing worker's log line")
    assert len(producers) == 1, [w.name for w in producers]
    print(f"export {export_id} produced by {producers[0].name}")

    through_b = download(admin, cluster.web_b, f"/rapports/exports/{export_id}/fichier?format=csv")
    assert loire.household.reference in through_b.content.decode("utf-8-sig")
    assert download(admin, cluster.web_a, f"/rapports/exports/{export_id}/fichier?format=csv").content \
        == through_b.content
    assert local_files(cluster) - kept_before == set(), "a host wrote a file on its own disk"


# -- (d) two workers, one sweep, each mail once --------------------------------------------------
EXTRA_MEASURES = 6  # more send tasks than one worker takes at once: both workers get some


def _task_ids(log: str, verbs: str) -> set[str]:
    return set(re.findall(rf"Task asll\.reminders\.\w+\[([0-9a-f-]+)\] (?:{verbs})", log))


def _all_done(app, cluster) -> bool:
    """The queue is empty and every reminders task a worker received has ended (no send still on its way)."""
    celery_app = app.extensions["celery"]
    client = redis.Redis.from_url(celery_app.conf.broker_url)
    try:
        if client.llen(celery_app.conf.task_default_queue) or client.hlen("unacked"):
            return False
    finally:
        client.close()
    for worker in cluster.workers:
        log = worker.log_text()
        if not _task_ids(log, "received") <= _task_ids(log, "succeeded|failed|raised|retry"):
            return False
    return True


def test_a_reminder_sweep_run_by_both_workers_sends_each_mail_once(app, cluster, world, rp):  # noqa: F811
    kept_before = local_files(cluster)
    today = dt.datetime.now(PARIS).date()
    loire, orne = world.loire, world.orne

    def due(days: int) -> str:
        return (today + dt.timedelta(days=days)).isoformat()

    with app.app_context():
        for tenant_world in (loire, orne):
            reminders.set_reminder_steps(tenant_world.actor(Role.DEPT_ADMIN), [-15, -3, 0])
        add_user(loire, Role.OPERATOR_WORKER, "ts2.42@test.asll.fr", OrganisationKind.OPERATOR)
        m1, m2 = add_measure(loire), add_measure(loire)
        set_obligations(rp, loire.tenant.id, m1, obligation("contrat", "Envoyer le contrat signé", due(15)),
                        obligation("plan", "Établir le plan d'action", due(3)))
        set_obligations(rp, loire.tenant.id, m2, obligation("bilan", "Transmettre le bilan", due(0), "prescriber"),
                        obligation("prolongation", "Demander la prolongation", due(19)))  # J-19: not yet
        extra = [add_measure(loire) for _ in range(EXTRA_MEASURES)]
        for measure_id in extra:
            set_obligations(rp, loire.tenant.id, measure_id, obligation(
                "decision", "Inscrire la demande en commission", due(3), "commission_secretary"))
        m4, m6 = add_measure(orne), add_measure(orne)
        set_obligations(rp, orne.tenant.id, m4, obligation("contact", "Contacter le ménage", due(15)))
        set_obligations(rp, orne.tenant.id, m6, obligation("reprise", "Statuer sur la reprise", due(0), "dept_agent"))
        refs = {}
        for tenant_id, ids in ((loire.tenant.id, [m1, m2, *extra]), (orne.tenant.id, [m4, m6])):
            with tenant_context(tenant_id):
                refs.update({i: get_in_tenant(Measure, i).reference for i in ids})
        db.session.remove()

    def subject(tenant: str, label: str, days: int, measure_id: int) -> str:
        when = (today + dt.timedelta(days=days)).strftime("%d/%m/%Y")
        return f"[ASLL {tenant}] Rappel d'échéance : {label} – {when} (mesure {refs[measure_id]})"

    op42, ts2 = f"{Role.OPERATOR_WORKER.value}.42@test.asll.fr", "ts2.42@test.asll.fr"
    expected = Counter({
        (op42, subject("Loire", "Envoyer le contrat signé", 15, m1)): 1,
        (ts2, subject("Loire", "Envoyer le contrat signé", 15, m1)): 1,
        (op42, subject("Loire", "Établir le plan d'action", 3, m1)): 1,
        (ts2, subject("Loire", "Établir le plan d'action", 3, m1)): 1,
        (f"{Role.PRESCRIBER.value}.42@test.asll.fr", subject("Loire", "Transmettre le bilan", 0, m2)): 1,
        **{(f"{Role.COMMISSION_SECRETARY.value}.42@test.asll.fr",
            subject("Loire", "Inscrire la demande en commission", 3, i)): 1 for i in extra},
        (f"{Role.OPERATOR_WORKER.value}.61@test.asll.fr", subject("Orne", "Contacter le ménage", 15, m4)): 1,
        (f"{Role.DEPT_AGENT.value}.61@test.asll.fr", subject("Orne", "Statuer sur la reprise", 0, m6)): 1,
    })
    smtp = cluster.smtp.handler
    before = len(smtp.messages())

    # Two beats' worth of sweeps at once (as two schedulers, or a redelivered message, would send them).
    celery_app = app.extensions["celery"]
    for _ in range(2):
        celery_app.send_task("asll.reminders.sweep_all", kwargs={"on_date": today.isoformat()}, ignore_result=True)

    wait_for(lambda: len(smtp.messages()) - before >= len(expected), f"{len(expected)} e-mails")
    wait_for(lambda: _all_done(app, cluster), "both workers to finish every reminders task")
    received = smtp.messages()[before:]

    assert Counter((m.to, m.subject) for m in received) == expected
    with app.app_context():
        rows = outbox_rows()
        assert len(rows) == len(expected) and {r.state for r in rows} == {OutboxState.SENT}
        assert all(r.attempts == 1 for r in rows)
        assert sorted(m.message_id for m in received) == sorted(r.message_id for r in rows)
        assert len({m.message_id for m in received}) == len(received)
        for tenant_id in (loire.tenant.id, orne.tenant.id):
            assert audit.verify_chain(tenant_id) == []
        db.session.remove()
    work = {w.name: {name: w.tasks_succeeded(f"asll.reminders.{name}") for name in ("sweep_all", "sweep_tenant",
                                                                                  "send")} for w in cluster.workers}
    print(f"reminders tasks per worker: {work}")
    assert all(sum(counts.values()) > 0 for counts in work.values()), f"both workers took part: {work}"
    assert local_files(cluster) - kept_before == set(), "a host wrote a file on its own disk"


# -- the single beat ----------------------------------------------------------------------------
BEAT_FIRST_SWEEP = 60.0  # exports-cleanup runs every minute, the first one a minute after beat starts


def test_the_single_beat_schedules_work_for_whichever_worker(cluster):
    """The beat keeps its schedule in its own instance and its due tasks reach a worker through Redis."""
    left = BEAT_FIRST_SWEEP + 30 - (time.monotonic() - cluster.started_at)
    wait_for(lambda: "Sending due task exports-cleanup (asll.exports.cleanup)" in cluster.beat.log_text(),
             "the beat to send the minute's exports sweep", timeout=max(left, 5))
    runners = wait_for(lambda: [w.name for w in cluster.workers if w.tasks_succeeded("asll.exports.cleanup")],
                       "a worker to run the beat's exports sweep")
    print(f"beat's exports sweep run by {runners}")
    assert any(BEAT_SCHEDULE_FILE.fullmatch(f) for f in files_in(cluster.instances["beat"]))
    assert not any(BEAT_SCHEDULE_FILE.fullmatch(Path(f).name) for f in local_files(cluster)), \
        "the schedule is the beat's alone"
