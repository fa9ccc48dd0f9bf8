"""A job survives a dead worker: atomic claims, leases renewed by the progress writer, the
minute sweep taking a lost job up again from zero (one file at the end) or failing it in French.

The clock is fixed; the sweep is given the instant it runs at, so leases expire without waiting.
"""

from __future__ import annotations

import csv
import io
import os
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from asll.extensions import db
from asll.storage import current_storage
from asll.models import AuditEvent, Role
from asll.models.base import utcnow
from asll.models.exports import ExportJob, ExportStatus
from asll.services import audit, exports

LEASE = timedelta(seconds=120)  # config.py's default, the one these tests run with


@pytest.fixture
def sent(app, monkeypatch):
    """The messages handed to the broker (the worker is not the point here)."""
    messages: list[dict] = []
    monkeypatch.setattr(app.extensions["celery"].tasks[exports.TASK_NAME], "apply_async",
                        lambda **kwargs: messages.append(kwargs["kwargs"]))
    return messages


def _job(export_id: int) -> ExportJob:
    return db.session.scalar(sa.select(ExportJob).where(ExportJob.id == export_id)
                             .execution_options(populate_existing=True))


def _files() -> list[Path]:
    return sorted(path for path in Path(exports.export_root()).rglob("*") if path.is_file())


def _actions(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


def _killed_run(loire, admin) -> tuple[ExportJob, Path]:
    """A job a worker claimed and started writing, then died: running, a partial file on disk."""
    job = exports.request_export(admin, {"dataset": "measures"}, send_to_worker=False)
    token = exports.claim(job.id)
    _key, partial = exports._run_storage(loire.tenant_id, token, "csv")
    partial.write_text("Référence de la mesure;Nom\nA-42;Bernard\n", encoding="utf-8")
    written_at = utcnow().timestamp()  # the test clock, not the file system's
    os.utime(partial, (written_at, written_at))
    return _job(job.id), partial


def test_a_live_lease_keeps_every_other_message_away(loire, app, sent):
    admin = loire.actor(Role.DEPT_ADMIN)
    job, partial = _killed_run(loire, admin)
    assert (job.status, job.attempts, job.claim_token != "") == (ExportStatus.RUNNING, 1, True)
    # A redelivered message while the run's lease holds: nothing happens.
    state = exports.run_job(job.id)
    assert state["status"] == "running" and _job(job.id).attempts == 1 and partial.exists()
    assert exports.recover(loire.tenant_id, now=utcnow() + LEASE - timedelta(seconds=1)) == exports.Recovery([], [])
    assert sent == [] and partial.exists() and _job(job.id).status is ExportStatus.RUNNING


def test_an_expired_lease_is_taken_over_from_zero_with_a_single_file(loire, app, folders):
    admin = loire.actor(Role.DEPT_ADMIN)
    job, partial = _killed_run(loire, admin)
    # The broker gives the message back after the lease expired: this run takes the job over.
    later = utcnow() + LEASE + timedelta(seconds=1)
    token = exports.claim(job.id, now=later)
    # A run writes a local scratch file and puts it whole: the storage never holds a partial file
    # (the dead run's scratch is removed by its host's sweep, see the orphan test below).
    assert token is not None and not list(current_storage().list("exports")), "no partial file is stored"
    taken = _job(job.id)
    assert (taken.status, taken.attempts, taken.claim_token, taken.progress_done) == (
        ExportStatus.RUNNING, 2, token, 0)
    assert exports.claim(job.id, now=later) is None, "a second message finds the new run's lease"


def test_the_sweep_takes_a_dead_run_up_again_and_the_export_completes_once(loire, app, folders):
    """The eager worker runs the message the sweep sends: one complete file, one "done" entry."""
    admin = loire.actor(Role.DEPT_ADMIN)
    job, partial = _killed_run(loire, admin)
    recovery = exports.recover(loire.tenant_id, now=utcnow() + LEASE + timedelta(seconds=1))
    assert recovery == exports.Recovery(requeued=[job.id], failed=[])
    done = _job(job.id)
    assert (done.status, done.attempts, done.row_count) == (ExportStatus.DONE, 2, 5)
    assert done.progress_done == done.progress_total == 5 and done.lease_expires_at is None
    assert not partial.exists()
    [path] = _files()
    assert path.name == done.files["csv"]["key"].split("/")[1]
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig")), delimiter=";"))
    assert len(rows) == 5
    assert [e.object_id for e in _actions("export.done")] == [job.id]
    assert len(list((folders / "mail").glob("*.eml"))) == 1
    # The next sweeps have nothing left to do.
    assert exports.recover(loire.tenant_id, now=utcnow() + 10 * LEASE) == exports.Recovery([], [])
    assert audit.verify_chain(loire.tenant_id) == []


def test_after_the_last_attempt_the_job_fails_in_french_and_its_file_is_deleted(loire, app, sent):
    admin = loire.actor(Role.DEPT_ADMIN)
    job, partial = _killed_run(loire, admin)
    now = utcnow()
    for attempt in range(2, app.config["EXPORT_MAX_ATTEMPTS"] + 1):  # each run dies in turn
        now += LEASE + timedelta(seconds=1)
        assert exports.claim(job.id, now=now) is not None
        assert _job(job.id).attempts == attempt
    now += LEASE + timedelta(seconds=1)
    assert exports.recover(loire.tenant_id, now=now) == exports.Recovery(requeued=[], failed=[job.id])
    failed = _job(job.id)
    assert failed.status is ExportStatus.FAILED and failed.error == exports.STALLED_MESSAGE
    assert failed.error == "L'export a été interrompu par un incident technique ; relancez-le."
    assert _files() == [] and sent == []
    assert _actions("export.failed")[0].changes == {"export_ids": [job.id], "error": exports.STALLED_MESSAGE}
    # A late message for it does nothing.
    assert exports.run_job(job.id)["status"] == "failed"


def test_a_waiting_job_is_sent_again_then_failed_when_no_worker_starts_it(loire, app, sent):
    admin = loire.actor(Role.DEPT_ADMIN)
    job = exports.request_export(admin, {"dataset": "measures"}, send_to_worker=False)  # its message was lost
    assert exports.recover(loire.tenant_id, now=utcnow() + LEASE - timedelta(seconds=1)) == exports.Recovery([], [])
    first = utcnow() + LEASE + timedelta(seconds=1)
    assert exports.recover(loire.tenant_id, now=first) == exports.Recovery(requeued=[job.id], failed=[])
    assert sent == [{"export_id": job.id, "tenant_id": loire.tenant_id}]
    # Two sweeps at once (a slow one overlapping the next): the message is sent once.
    assert exports.recover(loire.tenant_id, now=first) == exports.Recovery([], [])
    assert len(sent) == 1 and _job(job.id).status is ExportStatus.PENDING
    stall = timedelta(minutes=app.config["EXPORT_STALL_MINUTES"])
    assert exports.recover(loire.tenant_id, now=utcnow() + stall + timedelta(seconds=1)) == exports.Recovery(
        requeued=[], failed=[job.id])
    assert _job(job.id).status is ExportStatus.FAILED and _job(job.id).error == exports.STALLED_MESSAGE


def test_files_no_job_refers_to_are_deleted_a_running_job_s_file_is_kept(loire, app, sent):
    admin = loire.actor(Role.DEPT_ADMIN)
    done = exports.request_export(admin, {"dataset": "measures"}, send_to_worker=False)
    assert exports.run_job(done.id)["status"] == "done"
    kept = Path(exports.export_root()) / _job(done.id).files["csv"]["key"]
    job, running_file = _killed_run(loire, admin)
    orphan = kept.with_name("0123456789abcdef0123456789abcdef.csv")  # a run killed after a takeover
    orphan.write_text("Nom;Prénom\nBernard;Louise\n", encoding="utf-8")
    written_at = utcnow().timestamp()
    os.utime(orphan, (written_at, written_at))
    exports.sweep(loire.tenant_id, now=utcnow() + LEASE - timedelta(seconds=1))
    assert orphan.exists(), "too recent: it may be a file being written"
    exports.sweep(loire.tenant_id, now=utcnow() + LEASE + timedelta(seconds=1))
    assert not orphan.exists(), "a killed worker's file of personal data must not stay on disk"
    assert kept.exists() and _job(done.id).status is ExportStatus.DONE
    # The running job's lease expired in that sweep too: taken up again, its file deleted.
    assert not running_file.exists() and sent == [{"export_id": job.id, "tenant_id": loire.tenant_id}]
