"""Ten workers handed the same export job at once (a redelivered message, the sweep's, a double
send): one run produces it, with one file, one "done" audit entry, one e-mail and a consistent
progress; the nine others do nothing. The same when the job's lease has expired (its worker
died): one of the ten takes it over from zero, the dead run's partial file deleted."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from asll.extensions import db
from asll.models import AuditEvent, Household, HouseholdMember, Role
from asll.models.base import utcnow
from asll.models.exports import ExportJob, ExportStatus
from asll.services import audit, exports
from asll.tenancy import tenant_context
from tests.concurrency.conftest import N, release

HOUSEHOLDS = 600  # a run long enough (a few progress writes) for the others to meet it running


@pytest.fixture
def job_id(app, world, clock, folders):
    """A pending households export of the Loire's admin, over a few hundred households."""
    loire = world.loire
    tenant_id = loire.tenant.id
    with app.app_context(), tenant_context(tenant_id):
        creator = loire.users[Role.PRESCRIBER]
        db.session.execute(sa.insert(Household), [
            {"tenant_id": tenant_id, "reference": f"M-42-2026-{9000 + n:05d}", "city": "Roanne",
             "sector": "Roannais", "created_by_id": creator.id} for n in range(HOUSEHOLDS)])
        ids = db.session.scalars(sa.select(Household.id).where(Household.reference.like("M-42-2026-09%"))).all()
        db.session.execute(sa.insert(HouseholdMember), [
            {"tenant_id": tenant_id, "household_id": household_id, "last_name": f"Ménage{household_id}",
             "first_name": "Alex", "is_reference": True} for household_id in ids])
        job = exports.request_export(loire.actor(Role.DEPT_ADMIN), {
            "dataset": "households", "file_format": "csv", "columns": ["household_reference", "last_name"]},
            send_to_worker=False)
        db.session.remove()
        return job.id


def _run_at_once(app, tenant_id: int, export_id: int) -> list[dict]:
    def run(_index):
        with app.app_context(), tenant_context(tenant_id):
            try:
                return exports.run_job(export_id)
            finally:
                db.session.remove()

    return release(N, run)


def _outcome(app, tenant_id: int, export_id: int):
    with app.app_context(), tenant_context(tenant_id):
        job = db.session.scalar(sa.select(ExportJob).where(ExportJob.id == export_id))
        done = db.session.scalars(sa.select(AuditEvent.object_id).where(
            AuditEvent.action == "export.done").order_by(AuditEvent.seq)).all()
        assert audit.verify_chain(tenant_id) == []
        files = sorted(p for p in Path(exports.export_root()).rglob("*") if p.is_file() and ".tmp" not in p.parts)
        db.session.expunge(job)
        db.session.remove()
    return job, done, files


def _rows(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8-sig").splitlines()


def test_ten_simultaneous_runs_of_a_job_produce_it_once(app, world, job_id, folders):
    tenant_id = world.loire.tenant.id
    states = _run_at_once(app, tenant_id, job_id)
    assert {s["status"] for s in states} <= {"running", "done"}, states
    job, done, files = _outcome(app, tenant_id, job_id)
    expected = HOUSEHOLDS + 1  # and the world's household
    assert (job.status, job.attempts, job.row_count) == (ExportStatus.DONE, 1, expected)
    assert job.progress_done == job.progress_total == expected
    assert done == [job_id]
    [path] = files
    assert f"{tenant_id}/{path.name}" == job.files["csv"]["key"]
    assert len(_rows(path)) == expected + 1  # the header
    assert len(list((folders / "mail").glob("*.eml"))) == 1


def test_ten_messages_for_a_dead_run_s_job_take_it_over_once(app, world, job_id, folders):
    tenant_id = world.loire.tenant.id
    with app.app_context(), tenant_context(tenant_id):
        token = exports.claim(job_id)  # a worker claims it, writes part of the file, then is killed
        _key, partial = exports._run_storage(tenant_id, token, "csv")
        partial.write_text("Référence du ménage;Nom\nM-42-2026-09000;Ménage\n", encoding="utf-8")
        db.session.execute(sa.update(ExportJob).where(ExportJob.id == job_id).values(
            progress_done=2000, progress_total=HOUSEHOLDS + 1,
            lease_expires_at=utcnow() - timedelta(seconds=1)))  # its lease was not renewed in time
        db.session.commit()
        db.session.remove()
    states = _run_at_once(app, tenant_id, job_id)
    assert {s["status"] for s in states} <= {"running", "done"}, states
    job, done, files = _outcome(app, tenant_id, job_id)
    expected = HOUSEHOLDS + 1
    assert (job.status, job.attempts, job.row_count) == (ExportStatus.DONE, 2, expected)
    assert job.progress_done == job.progress_total == expected
    assert done == [job_id]
    assert partial.parent.name == ".tmp"  # a local scratch file: never in the storage, swept by its host
    [path] = files
    assert f"{tenant_id}/{path.name}" == job.files["csv"]["key"] and path != partial
    assert len(_rows(path)) == expected + 1
