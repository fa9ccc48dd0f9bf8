"""A worker killed (SIGKILL) in the middle of an export: the job does not stay "En cours" for
hours. A new worker takes it over from zero once its lease has expired, through the minute
sweep (on every broker) or through the broker's redelivery (Redis, after its visibility
timeout), and the job ends with one complete file; nothing waits on the default hour.

The worker processes run with a lease of a few seconds (``ASLL_EXPORT_LEASE_SECONDS``) so
that the takeover happens within the test; every wait is a condition polled with a deadline.
"""

from __future__ import annotations

import hashlib
import os
import time
from datetime import UTC
from pathlib import Path

import pytest
import sqlalchemy as sa

from asll.extensions import db
from asll.models import AuditEvent, Household, HouseholdMember, Role
from asll.models.base import utcnow
from asll.models.exports import ExportJob, ExportStatus
from asll.tenancy import tenant_context
from tests.conftest import csrf_token, login
from tests.tasks.worker_process import CeleryWorkerProcess

pytestmark = pytest.mark.worker

LEASE_SECONDS = 3  # the workers' lease: renewed every second while rows stream
VISIBILITY_SECONDS = 8  # Redis gives the killed worker's message back after this (> the lease)
HOUSEHOLDS = 6_000  # an XLSX of this size takes seconds to write: long enough to be killed in the middle
DEADLINE = 120.0  # for each phase below, on a busy machine


def wait_for(predicate, what: str, timeout: float = DEADLINE, worker=None):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}\n{worker.log_tail() if worker else ''}")
        time.sleep(0.02)


@pytest.fixture
def big_export(app, world, client, folders, monkeypatch):
    """Households to export, an admin logged in, and this process configured like the workers."""
    monkeypatch.setitem(app.config, "EXPORT_LEASE_SECONDS", LEASE_SECONDS)
    loire = world.loire
    tenant_id = loire.tenant.id
    with app.app_context(), tenant_context(tenant_id):
        creator = loire.users[Role.PRESCRIBER]
        db.session.execute(sa.insert(Household), [
            {"tenant_id": tenant_id, "reference": f"M-42-2025-{n:05d}", "city": "Roanne", "sector": "Roannais",
             "created_by_id": creator.id} for n in range(HOUSEHOLDS)])
        ids = db.session.scalars(sa.select(Household.id).where(Household.reference.like("M-42-2025-%"))).all()
        db.session.execute(sa.insert(HouseholdMember), [
            {"tenant_id": tenant_id, "household_id": household_id, "last_name": f"Ménage{household_id}",
             "first_name": "Alex", "is_reference": True} for household_id in ids])
        db.session.commit()
        db.session.remove()
    assert login(client, loire.users[Role.DEPT_ADMIN].email, world.password).status_code == 302
    return loire


def _worker(app, tmp_path, folders, **env) -> CeleryWorkerProcess:
    environ = {**os.environ, "ASLL_EXPORT_LEASE_SECONDS": str(LEASE_SECONDS),
               "ASLL_EXPORT_PATH": str(folders / "exports"), "ASLL_MAIL_FOLDER": str(folders / "mail"), **env}
    return CeleryWorkerProcess(tmp_path / "workers", celery_app=app.extensions["celery"], env=environ)


@pytest.fixture
def workers(app, app_env, tmp_path, folders):
    """Start workers with the short lease; every one is stopped whatever happens."""
    started: list[CeleryWorkerProcess] = []

    def start(*, purge: bool, **env) -> CeleryWorkerProcess:
        worker = _worker(app, tmp_path, folders, **env)
        started.append(worker)
        return worker.start(purge=purge)

    yield start
    for worker in started:
        worker.stop()
        if worker.log_path is not None:
            print(worker.log_tail())


def _job(app, tenant_id: int, export_id: int) -> ExportJob:
    with app.app_context(), tenant_context(tenant_id):
        job = db.session.scalar(sa.select(ExportJob).where(ExportJob.id == export_id))
        db.session.expunge(job)
        db.session.remove()
    return job


def _ask(client) -> int:
    html = client.get("/rapports/exports/nouveau").get_data(as_text=True)
    response = client.post("/rapports/exports/nouveau", data={
        "csrf_token": csrf_token(html), "dataset": "households", "file_format": "xlsx",
        "columns_households": ["household_reference", "last_name", "city"]})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return int(response.headers["Location"].rsplit("/", 1)[1])


def _kill_in_the_middle(app, loire, client, first) -> tuple[int, str]:
    """Ask for the export, wait until the worker is writing rows, SIGKILL it; (job id, its run's token)."""
    export_id = _ask(client)
    job = wait_for(lambda: (j := _job(app, loire.tenant.id, export_id)).status is ExportStatus.RUNNING
                   and 0 < j.progress_done < j.progress_total and j, "the export to be in progress", worker=first)
    assert first.kill() == -9
    killed = _job(app, loire.tenant.id, export_id)
    assert killed.status is ExportStatus.RUNNING and killed.attempts == 1, "the job was cut short"
    assert killed.progress_done < HOUSEHOLDS
    return export_id, job.claim_token


def _lease_expired(app, tenant_id: int, export_id: int) -> bool:
    lease = _job(app, tenant_id, export_id).lease_expires_at
    return lease is not None and (lease if lease.tzinfo else lease.replace(tzinfo=UTC)) < utcnow()


def _finished_once(app, loire, client, folders, export_id: int, dead_token: str, worker) -> ExportJob:
    job = wait_for(lambda: (j := _job(app, loire.tenant.id, export_id)).status in (
        ExportStatus.DONE, ExportStatus.FAILED) and j, "the export taken over to finish", worker=worker)
    assert job.status is ExportStatus.DONE, job.error
    assert job.attempts == 2 and job.claim_token != dead_token
    assert job.row_count == job.progress_done == job.progress_total == HOUSEHOLDS + 1
    files = sorted(p for p in (folders / "exports").rglob("*") if p.is_file())
    assert [f"{loire.tenant.id}/{p.name}" for p in files] == [job.files["xlsx"]["key"]], "one file, the new run's"
    assert hashlib.sha256(files[0].read_bytes()).hexdigest() == job.files["xlsx"]["sha256"]
    download = client.get(f"/rapports/exports/{export_id}/fichier?format=xlsx")
    assert download.status_code == 200 and download.data[:2] == b"PK"
    with app.app_context(), tenant_context(loire.tenant.id):
        done = db.session.scalars(sa.select(AuditEvent.object_id).where(AuditEvent.action == "export.done")).all()
        db.session.remove()
    assert done == [export_id]
    return job


def test_the_sweep_gives_a_killed_worker_s_export_to_a_new_worker(app, big_export, client, folders, workers):
    """On every broker: the beat's minute sweep (sent here as beat would send it) re-sends the job."""
    loire = big_export
    first = workers(purge=True)
    export_id, dead_token = _kill_in_the_middle(app, loire, client, first)
    killed_at = time.monotonic()
    second = workers(purge=False)
    wait_for(lambda: _lease_expired(app, loire.tenant.id, export_id), "the dead run's lease to expire",
             timeout=LEASE_SECONDS + 5)
    app.extensions["celery"].send_task("asll.exports.cleanup", ignore_result=True)
    wait_for(lambda: _job(app, loire.tenant.id, export_id).attempts == 2, "the sweep's takeover",
             timeout=LEASE_SECONDS + 30, worker=second)
    taken_over_after = time.monotonic() - killed_at
    _finished_once(app, loire, client, folders, export_id, dead_token, second)
    second.wait_for_log(r"Task asll\.exports\.cleanup_tenant\[[0-9a-f-]+\] succeeded")
    print(f"taken over {taken_over_after:.1f} s after the kill (lease {LEASE_SECONDS} s)")


@pytest.mark.redis_broker
def test_redis_redelivers_a_killed_worker_s_export_after_its_visibility_timeout(app, big_export, client, folders,
                                                                                 workers):
    """Redis only (the embedded transport never redelivers): no sweep at all, the message comes back."""
    assert app.extensions["celery"].conf.broker_url.startswith(("redis://", "rediss://"))
    loire = big_export
    short = {"ASLL_BROKER_VISIBILITY_TIMEOUT": str(VISIBILITY_SECONDS)}
    first = workers(purge=True, **short)
    export_id, dead_token = _kill_in_the_middle(app, loire, client, first)
    killed_at = time.monotonic()
    second = workers(purge=False, **short)
    wait_for(lambda: _job(app, loire.tenant.id, export_id).attempts == 2, "the redelivered message's takeover",
             timeout=VISIBILITY_SECONDS + 30, worker=second)
    taken_over_after = time.monotonic() - killed_at
    _finished_once(app, loire, client, folders, export_id, dead_token, second)
    print(f"redelivered and taken over {taken_over_after:.1f} s after the kill (visibility {VISIBILITY_SECONDS} s)")
