"""Export jobs: asked for, sent to a worker, claimed and run once, followed, downloaded, swept.

See the package docstring (:mod:`asll.services.exports`) for the whole story."""

from __future__ import annotations

import hashlib
import re
import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from html import escape
from pathlib import Path
from typing import NamedTuple

import marshmallow as ma
import sqlalchemy as sa
from flask import current_app
from marshmallow import fields, validate

from asll.extensions import db
from asll.models import (
    AuditEvent,
    DecisionOutcome,
    Household,
    HousingStatus,
    MeasureStatus,
    Organisation,
    OrganisationKind,
    RequestStatus,
    User,
)
from asll.models.base import utcnow
from asll.models.exports import ExportJob, ExportKind, ExportStatus
from asll.plugins.contract import MeasureKind
from asll.services import audit, mail, statistics
from asll.services import plugins as plugin_service
from asll.services.access import household_criteria
from asll.services.actor import Actor
from asll.services.errors import NotFound, PermissionDenied, ServiceError, ServiceUnavailable, ValidationFailed
from asll.services.schemas import FrenchSchema, Id
from asll.services.validation import load
from asll.services.exports.columns import DATASETS, columns_for
from asll.services.exports.query import count_rows, plan_for, stream_rows
from asll.services.exports.reports import render_report_pdf, report_context, write_report_xlsx
from asll.services.exports.storage import (
    _STORAGE_KEY,
    CONTENT_TYPES,
    _delete_run_files,
    _file_entry,
    _run_storage,
    AREA,
    delete_stored,
    retention,
    stored_file,
)
from asll.services.exports.writers import _paris, write_csv, write_xlsx
from asll.storage import StoredFile, current_storage


TASK_NAME = "asll.exports.run"


JOB_PATH = "/rapports/exports/{id}"


PROGRESS_EVERY_ROWS = 2000


PROGRESS_EVERY_SECONDS = 1.0


FORMATS = {"csv": "CSV (séparateur point-virgule, UTF-8)", "xlsx": "Classeur Excel (XLSX)"}


class ExportExpired(ServiceError):
    status = 410

    def __init__(self):
        super().__init__("Ce fichier a expiré et a été supprimé : relancez l'export.", "export_expire")


# -- the request ----------------------------------------------------------------------
class FiltersSchema(FrenchSchema):
    date_from = fields.Date(load_default=None, error_messages={"invalid": "Date invalide (AAAA-MM-JJ)."})
    date_to = fields.Date(load_default=None, error_messages={"invalid": "Date invalide (AAAA-MM-JJ)."})
    measure_type = fields.String(load_default=None, validate=validate.Length(max=64))
    kind = fields.String(load_default=None, validate=validate.OneOf(
        [k.value for k in MeasureKind], error="Nature de mesure inconnue."))
    status = fields.String(load_default=None, validate=validate.Length(max=32))
    operator_id = Id(load_default=None)
    sector = fields.String(load_default=None, validate=validate.Length(max=120))

    @ma.validates_schema
    def _dates(self, data, **kwargs):
        if data.get("date_from") and data.get("date_to") and data["date_to"] < data["date_from"]:
            raise ma.ValidationError("La date de fin précède la date de début.", "date_to")


class ExportRequestSchema(FrenchSchema):
    dataset = fields.String(required=True, validate=validate.OneOf(list(DATASETS), error="Jeu de données inconnu."),
                            error_messages={"required": "Choisissez les données à exporter."})
    file_format = fields.String(load_default="csv", validate=validate.OneOf(list(FORMATS), error="Format inconnu."))
    pseudonymised = fields.Boolean(load_default=False)
    columns = fields.List(fields.String(validate=validate.Length(max=120)), load_default=None)
    filters = fields.Nested(FiltersSchema, load_default=dict)


STATUS_VALUES = {
    "measures": {s.value for s in MeasureStatus},
    "requests": {s.value for s in RequestStatus},
    "decisions": {o.value for o in DecisionOutcome},
    "households": set(),
}


def _require_member(actor: Actor) -> None:
    if actor.tenant_id is None or not actor.roles:
        raise PermissionDenied("Les exports sont réservés aux membres d'un département.")


def _clean_filters(actor: Actor, dataset: str, filters: dict) -> dict:
    """Filters as JSON, unknown codes refused (they only ever narrow the user's visibility)."""
    errors = {}
    if filters.get("measure_type") and filters["measure_type"] not in plugin_service.measure_types(actor.tenant_id):
        errors["measure_type"] = ["Type de mesure inconnu dans ce département."]
    if filters.get("status") and filters["status"] not in STATUS_VALUES[dataset]:
        errors["status"] = ["État inconnu pour ces données."]
    if filters.get("operator_id") is not None:
        operator = db.session.scalar(sa.select(Organisation).where(
            Organisation.id == filters["operator_id"], Organisation.tenant_id == actor.tenant_id))
        if operator is None or operator.kind is not OrganisationKind.OPERATOR:
            errors["operator_id"] = ["Opérateur introuvable dans ce département."]
    if errors:
        raise ValidationFailed({"filters": errors})
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in filters.items() if v not in (None, "")}


def request_export(actor: Actor, data: dict, *, send_to_worker: bool = True) -> ExportJob:
    """Record an export request and hand it to a worker (after the commit).

    ``send_to_worker=False`` leaves it pending for the caller to run (the command line)."""
    _require_member(actor)
    loaded = load(ExportRequestSchema(), data)
    dataset = loaded["dataset"]
    available = {c.key: c for c in columns_for(actor.tenant_id, dataset)}
    wanted = loaded["columns"] if loaded["columns"] is not None else [k for k, c in available.items() if c.default]
    unknown = [key for key in wanted if key not in available]
    if unknown:
        raise ValidationFailed({"columns": [f"Colonne(s) inconnue(s) : {', '.join(unknown)}."]})
    if loaded["pseudonymised"]:
        wanted = [key for key in wanted if not available[key].personal]
    wanted = list(dict.fromkeys(wanted))
    if not wanted:
        raise ValidationFailed({"columns": ["Choisissez au moins une colonne (non nominative pour un export "
                                            "pseudonymisé)."]})
    filters = _clean_filters(actor, dataset, loaded["filters"])
    job = ExportJob(user_id=actor.user_id, tenant_id=actor.tenant_id, kind=ExportKind.EXPORT, dataset=dataset,
                    file_format=loaded["file_format"], pseudonymised=loaded["pseudonymised"], columns=wanted,
                    filters=filters, lease_expires_at=utcnow() + lease())
    db.session.add(job)
    db.session.flush()
    audit.record(actor, "export.request", object_type="export_job", object_id=job.id,
                 changes={"dataset": dataset, "format": job.file_format, "pseudonymised": job.pseudonymised,
                          "columns": wanted, "filters": filters})
    db.session.commit()
    if send_to_worker:
        dispatch(job)
    return job


def request_annual_report(actor: Actor, year) -> ExportJob:
    """Ask for the yearly activity report (XLSX + PDF) of the actor's tenant."""
    statistics.require_statistics_role(actor)
    year = statistics.check_year(year)
    job = ExportJob(user_id=actor.user_id, tenant_id=actor.tenant_id, kind=ExportKind.ANNUAL_REPORT,
                    dataset="statistics", file_format="xlsx+pdf", year=year, columns=[], filters={},
                    lease_expires_at=utcnow() + lease())
    db.session.add(job)
    db.session.flush()
    audit.record(actor, "report.request", object_type="export_job", object_id=job.id, changes={"year": year})
    db.session.commit()
    dispatch(job)
    return job


BROKER_DOWN = ("Le service de production des fichiers ne répond pas pour le moment ; votre demande n'a pas pu "
               "être transmise. Réessayez dans quelques minutes.")


def dispatch(job: ExportJob) -> None:
    """Send the job to the worker; called after the commit so the worker finds the row.

    If the broker cannot be reached (the attempt is bounded by ``ASLL_BROKER_TIMEOUT``) the job
    would wait for ever: it is failed at once, and the user is told to try again (the request
    is in the job list, nothing else was changed); the caller answers a French 503."""
    if not send_to_worker(job.id, job.tenant_id):
        _fail_waiting(job.id, BROKER_DOWN)
        raise ServiceUnavailable(BROKER_DOWN)


def send_to_worker(export_id: int, tenant_id: int) -> bool:
    """Publish the job's message; False when the broker did not take it (logged)."""
    from kombu.exceptions import OperationalError

    celery_app = current_app.extensions["celery"]
    try:
        # The task keeps no result (``ignore_result``: the job row is the result), so sending it
        # does not wait on the result backend, which is down whenever a Redis broker is.
        celery_app.tasks[TASK_NAME].apply_async(kwargs={"export_id": export_id, "tenant_id": tenant_id})
    except (OperationalError, OSError) as exc:
        current_app.logger.error("Export %s non transmis au broker : %s", export_id, exc)
        return False
    return True


def _fail_waiting(export_id: int, message: str) -> None:
    """Fail a job no run has claimed (its message could not be sent); audited."""
    db.session.rollback()
    table = ExportJob.__table__
    failed = db.session.execute(sa.update(ExportJob).where(
        ExportJob.id == export_id, ExportJob.status == ExportStatus.PENDING, ExportJob.claim_token == "")
        .values(status=ExportStatus.FAILED, error=message[:500], finished_at=utcnow(), lease_expires_at=None)
        .execution_options(synchronize_session=False)).rowcount
    if failed == 1:
        tenant_id = db.session.scalar(sa.select(table.c.tenant_id).where(table.c.id == export_id))
        audit.record(Actor.system(tenant_id, label="exports"), "export.failed", object_type="export_job",
                     object_id=export_id, changes={"error": message[:500]}, tenant_id=tenant_id)
    db.session.commit()
    db.session.expire_all()


# -- reading jobs -----------------------------------------------------------------------
def _own_job(actor: Actor, export_id: int) -> ExportJob:
    """The actor's own job in the current tenant; anyone else's is "not found"."""
    if actor.tenant_id is None or actor.user_id is None:
        raise NotFound("Export introuvable.")
    job = db.session.scalar(sa.select(ExportJob).where(
        ExportJob.id == export_id, ExportJob.tenant_id == actor.tenant_id, ExportJob.user_id == actor.user_id))
    if job is None:
        raise NotFound("Export introuvable.")
    return job


def get_job(actor: Actor, export_id: int) -> ExportJob:
    return _own_job(actor, export_id)


def list_jobs(actor: Actor, limit: int = 50) -> list[ExportJob]:
    if actor.tenant_id is None or actor.user_id is None:
        return []
    return list(db.session.scalars(sa.select(ExportJob).where(
        ExportJob.tenant_id == actor.tenant_id, ExportJob.user_id == actor.user_id)
        .order_by(ExportJob.id.desc()).limit(limit)))


def job_status(job: ExportJob) -> dict:
    """What the progress page shows (and its JSON poll returns)."""
    total = job.progress_total or 0
    done = min(job.progress_done or 0, total) if total else (job.progress_done or 0)
    return {
        "id": job.id,
        "status": job.status.value,
        "status_label": job.status.label,
        "done": done,
        "total": total,
        "percent": int(done * 100 / total) if total else (100 if job.status is ExportStatus.DONE else 0),
        "rows": job.row_count,
        "files": sorted(job.files or {}),
        "error": job.error or "",
        "finished": job.status in (ExportStatus.DONE, ExportStatus.FAILED, ExportStatus.EXPIRED),
    }


def _scope_of(actor: Actor) -> dict:
    return {"roles": sorted(r.value for r in actor.roles), "organisation_ids": sorted(actor.organisation_ids)}


def _scope_still_held(actor: Actor, scope: dict) -> bool:
    """Visibility only grows with roles and organisations (criteria are ORs of them)."""
    roles = {r.value for r in actor.roles}
    return set(scope.get("roles", ())) <= roles and set(scope.get("organisation_ids", ())) <= set(
        actor.organisation_ids)


def open_file(actor: Actor, export_id: int, fmt: str | None = None) -> tuple[ExportJob, StoredFile, str, str]:
    """The file of a finished job for download: (job, stored file, download name, content type).

    Rights are checked again: the job is the actor's own in the current tenant, the actor is
    still a member with at least the roles and organisations the file was produced with,
    and, for a yearly report, may still read statistics. The download is audited.
    """
    _require_member(actor)
    job = _own_job(actor, export_id)
    if job.status is ExportStatus.EXPIRED or (job.expires_at and _aware(job.expires_at) <= utcnow()):
        raise ExportExpired()
    if job.status is not ExportStatus.DONE:
        raise ServiceError("Le fichier n'est pas encore prêt.", "export_non_pret")
    if job.kind is ExportKind.ANNUAL_REPORT:
        statistics.require_statistics_role(actor)
    if not _scope_still_held(actor, job.scope or {}):
        raise PermissionDenied("Vos droits ont changé depuis la production de ce fichier : relancez l'export.")
    files = job.files or {}
    fmt = fmt or next(iter(sorted(files)), None)
    entry = files.get(fmt or "")
    if entry is None:
        raise NotFound("Fichier introuvable pour cet export.")
    stored = stored_file(job.tenant_id, entry["key"], entry["filename"], fmt)
    audit.record(actor, "export.download", object_type="export_job", object_id=job.id,
                 changes={"format": fmt, "rows": job.row_count, "sha256": entry.get("sha256")})
    db.session.commit()
    return job, stored, entry["filename"], CONTENT_TYPES[fmt]


def _aware(value: datetime) -> datetime:
    from datetime import UTC

    return value if value.tzinfo else value.replace(tzinfo=UTC)


# -- running a job (in the worker) --------------------------------------------------------
TECHNICAL_ERROR = "Erreur technique pendant la production du fichier ; l'équipe a été prévenue."


class LeaseLost(Exception):
    """This run no longer holds its job: its lease expired and another run took the job over."""


def lease() -> timedelta:
    return timedelta(seconds=current_app.config["EXPORT_LEASE_SECONDS"])  # config.py: ASLL_EXPORT_LEASE_SECONDS


def max_attempts() -> int:
    return int(current_app.config["EXPORT_MAX_ATTEMPTS"])  # config.py: ASLL_EXPORT_MAX_ATTEMPTS


def _lease_over(now: datetime):
    return sa.or_(ExportJob.lease_expires_at.is_(None), ExportJob.lease_expires_at < now)


def _holder(export_id: int):
    """The job's claim as it is now in the database (columns: the session's identity map is bypassed)."""
    return db.session.execute(sa.select(
        ExportJob.id, ExportJob.tenant_id, ExportJob.status, ExportJob.claim_token, ExportJob.attempts,
        ExportJob.lease_expires_at).where(ExportJob.id == export_id)).one_or_none()


def claim(export_id: int, now: datetime | None = None) -> str | None:
    """Take the job for one run; the run's token, or None when this message must do nothing.

    A conditional UPDATE checked by its rowcount, as the reminders' outbox claim: it matches
    only the status, claim token and attempt count just read, so of N messages for one job
    (a redelivery, the sweep's, a double send) exactly one run starts; PostgreSQL re-checks
    the condition after waiting on the row, SQLite runs one writer at a time. A job waiting,
    or running under an expired lease (its worker died), is taken: attempt + 1, progress back
    to zero, the previous run's partial file deleted. A finished job, or one whose lease a
    live run holds, is left alone; after ``EXPORT_MAX_ATTEMPTS`` runs the job is failed.
    """
    now = now or utcnow()
    row = _holder(export_id)
    if row is None:
        raise NotFound("Export introuvable.")
    if row.status is ExportStatus.RUNNING:
        if row.lease_expires_at is not None and _aware(row.lease_expires_at) > now:
            return None  # a live run holds it
    elif row.status is not ExportStatus.PENDING:
        return None  # done, failed or expired: left as it is
    same_claim = (ExportJob.id == export_id, ExportJob.status == row.status,
                  ExportJob.claim_token == row.claim_token, ExportJob.attempts == row.attempts)
    if row.attempts >= max_attempts():
        if _fail_claim(row, same_claim, now):
            _delete_run_files(row.tenant_id, row.claim_token)
        return None
    token = uuid.uuid4().hex
    taken = db.session.execute(
        sa.update(ExportJob).where(*same_claim, sa.or_(ExportJob.status == ExportStatus.PENDING, _lease_over(now)))
        .values(status=ExportStatus.RUNNING, claim_token=token, attempts=ExportJob.attempts + 1,
                lease_expires_at=now + lease(), started_at=now, finished_at=None, error="", files={},
                row_count=None, progress_done=0, progress_total=0)
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    if taken != 1:
        return None
    _delete_run_files(row.tenant_id, row.claim_token)
    return token


def _fail_claim(row, same_claim, now: datetime) -> bool:
    failed = db.session.execute(sa.update(ExportJob).where(*same_claim).values(
        status=ExportStatus.FAILED, error=STALLED_MESSAGE, finished_at=now, lease_expires_at=None)
        .execution_options(synchronize_session=False)).rowcount
    if failed == 1:
        audit.record(Actor.system(row.tenant_id, label="exports"), "export.failed", object_type="export_job",
                     object_id=row.id, changes={"error": STALLED_MESSAGE, "attempts": row.attempts},
                     tenant_id=row.tenant_id)
    db.session.commit()
    return failed == 1


class _Progress:
    """Writes the job's progress, and renews the run's lease, on its own connection (the
    streaming read is not disturbed); raises :class:`LeaseLost` once another run holds the job."""

    def __init__(self, job: ExportJob, token: str, total: int):
        self.job_id, self.tenant_id, self.token, self.total = job.id, job.tenant_id, token, total
        self.last_rows, self.last_time = 0, time.monotonic()

    def write(self, done: int) -> None:
        table = ExportJob.__table__
        with db.engine.begin() as connection:
            renewed = connection.execute(
                sa.update(table).where(table.c.id == self.job_id, table.c.tenant_id == self.tenant_id,
                                       table.c.claim_token == self.token)
                .values(progress_done=done, progress_total=self.total, lease_expires_at=utcnow() + lease())).rowcount
        if renewed != 1:
            raise LeaseLost(self.job_id)
        self.last_rows, self.last_time = done, time.monotonic()

    def __call__(self, done: int) -> None:
        if done - self.last_rows >= PROGRESS_EVERY_ROWS or time.monotonic() - self.last_time >= PROGRESS_EVERY_SECONDS:
            self.write(done)


def actor_for_job(job: ExportJob) -> Actor:
    """The requester as they are *now*: roles and organisations from their current memberships."""
    from asll.services.users import memberships_of
    from asll.tenancy import unscoped

    with unscoped():
        user = db.session.scalar(sa.select(User).where(User.id == job.user_id))
    if user is None or not user.active:
        raise PermissionDenied("Le compte qui a demandé cet export n'est plus actif.")
    actor = Actor.for_user(user, memberships_of(user.id), job.tenant_id, ip="")
    _require_member(actor)
    return actor


def run_job(export_id: int) -> dict:
    """Produce the file(s) of a job if this call wins its claim (see :func:`claim`); any other
    call, and a call for a finished job, changes nothing and returns the job's state."""
    token = claim(export_id)
    if token is None:
        return job_status(_fresh(export_id))
    job = _fresh(export_id)
    written: list[Path] = []
    try:
        actor = actor_for_job(job)
        if job.kind is ExportKind.ANNUAL_REPORT:
            files, rows = _run_report(actor, job, token, written)
        else:
            files, rows = _run_export(actor, job, token, written)
    except LeaseLost:
        _discard(written)
        return job_status(_fresh(export_id))
    except ServiceError as exc:
        _fail_run(job.id, token, written, exc.message)
        return job_status(_fresh(export_id))
    except Exception:
        _fail_run(job.id, token, written, TECHNICAL_ERROR)
        raise
    finished = utcnow()
    outdated = _anonymised_during(job)
    done = db.session.execute(sa.update(ExportJob).where(
        ExportJob.id == job.id, ExportJob.claim_token == token, ExportJob.status == ExportStatus.RUNNING)
        .values(status=ExportStatus.DONE, files=files, row_count=rows, finished_at=finished,
                expires_at=finished if outdated else finished + retention(), scope=_scope_of(actor),
                lease_expires_at=None)
        .execution_options(synchronize_session=False)).rowcount
    if done != 1:  # taken over while the file was being closed: the other run's file is the one
        _discard(written)
        return job_status(_fresh(export_id))
    produced = {fmt: {"sha256": entry["sha256"], "size": entry["size"]} for fmt, entry in files.items()}
    audit.record(actor, "report.done" if job.kind is ExportKind.ANNUAL_REPORT else "export.done",
                 object_type="export_job", object_id=job.id,
                 changes={"rows": rows, "files": produced, "pseudonymised": job.pseudonymised,
                          "columns": job.columns, "filters": job.filters,
                          **({"expired_by_anonymisation": True} if outdated else {})})
    db.session.commit()
    if outdated:  # its rows may name someone anonymised meanwhile: never downloadable, file deleted now
        cleanup_expired(job.tenant_id, finished)
    job = _fresh(export_id)
    notify_ready(job)
    return job_status(job)


def _fresh(export_id: int) -> ExportJob:
    job = db.session.scalar(sa.select(ExportJob).where(ExportJob.id == export_id)
                            .execution_options(populate_existing=True))
    if job is None:
        raise NotFound("Export introuvable.")
    return job


def _discard(written: list[Path]) -> None:
    db.session.rollback()
    for path in written:
        path.unlink(missing_ok=True)


def _fail_run(export_id: int, token: str, written: list[Path], message: str) -> None:
    """Fail the job this run holds (not one another run took over meanwhile); audited."""
    _discard(written)
    failed = db.session.execute(sa.update(ExportJob).where(
        ExportJob.id == export_id, ExportJob.claim_token == token, ExportJob.status == ExportStatus.RUNNING)
        .values(status=ExportStatus.FAILED, error=message[:500], finished_at=utcnow(), lease_expires_at=None)
        .execution_options(synchronize_session=False)).rowcount
    if failed == 1:
        tenant_id = _holder(export_id).tenant_id
        audit.record(Actor.system(tenant_id, label="exports"), "export.failed", object_type="export_job",
                     object_id=export_id, changes={"error": message[:500]}, tenant_id=tenant_id)
    db.session.commit()


def _anonymised_during(job: ExportJob) -> bool:
    """Whether a file of the tenant was anonymised or erased while this named export ran: its rows
    were read before, so the file may hold the names (RGPD: the copies go with the file)."""
    if job.kind is not ExportKind.EXPORT or job.pseudonymised or job.started_at is None:
        return False
    return db.session.scalar(sa.select(AuditEvent.id).where(
        AuditEvent.tenant_id == job.tenant_id, AuditEvent.action.in_(("household.anonymise", "household.erase")),
        AuditEvent.at >= job.started_at).limit(1)) is not None


def _filename(job: ExportJob, fmt: str) -> str:
    code = plugin_service.tenant_info(job.tenant_id).code
    stamp = (job.created_at or utcnow()).strftime("%Y%m%d")
    if job.kind is ExportKind.ANNUAL_REPORT:
        return f"rapport-activite-asll-{code}-{job.year}.{fmt}"
    suffix = "-pseudonymise" if job.pseudonymised else ""
    names = {"measures": "mesures", "requests": "demandes", "households": "menages", "decisions": "decisions"}
    return f"export-{names.get(job.dataset, job.dataset)}{suffix}-{code}-{stamp}-{job.id}.{fmt}"


def _run_export(actor: Actor, job: ExportJob, token: str, written: list[Path]) -> tuple[dict, int]:
    plan = plan_for(actor, job.dataset, list(job.columns), job.pseudonymised)
    db.session.commit()  # the secret, if just created; the session only reads from now on
    total = count_rows(actor, job.dataset, job.filters or {})
    progress = _Progress(job, token, total)
    progress.write(0)
    key, path = _run_storage(job.tenant_id, token, job.file_format)
    written.append(path)
    rows = stream_rows(actor, job.dataset, job.filters or {}, plan)
    if job.file_format == "csv":
        count = write_csv(path, plan.header, rows, progress)
    else:
        count = write_xlsx(path, DATASETS[job.dataset], plan.header, rows, progress)
    progress.total = max(total, count)
    progress.write(count)
    return {job.file_format: _file_entry(key, path, _filename(job, job.file_format))}, count


def _run_report(actor: Actor, job: ExportJob, token: str, written: list[Path]) -> tuple[dict, int]:
    progress = _Progress(job, token, 3)
    progress.write(0)
    tables = statistics.tables_for(actor, job.year)
    progress.write(1)
    tenant = plugin_service.tenant_info(job.tenant_id)
    xlsx_key, xlsx_path = _run_storage(job.tenant_id, token, "xlsx")
    written.append(xlsx_path)
    write_report_xlsx(xlsx_path, tenant.name, job.year, tables)
    progress.write(2)
    pdf_key, pdf_path = _run_storage(job.tenant_id, token, "pdf")
    written.append(pdf_path)
    pdf_path.write_bytes(render_report_pdf(report_context(job.tenant_id, job.year, tables)))
    progress.write(3)
    return {"xlsx": _file_entry(xlsx_key, xlsx_path, _filename(job, "xlsx")),
            "pdf": _file_entry(pdf_key, pdf_path, _filename(job, "pdf"))}, len(tables)


# -- notification -----------------------------------------------------------------------
def job_url(job: ExportJob) -> str:
    return current_app.config.get("BASE_URL", "").rstrip("/") + JOB_PATH.format(id=job.id)


def notify_ready(job: ExportJob) -> None:
    """Tell the requester the file is ready: a link only, no personal data in the message."""
    from asll.tenancy import unscoped

    with unscoped():
        user = db.session.scalar(sa.select(User).where(User.id == job.user_id))
    if user is None:
        return
    what = (f"Le rapport d'activité {job.year}" if job.kind is ExportKind.ANNUAL_REPORT
            else f"Votre export « {DATASETS.get(job.dataset, job.dataset)} »")
    expires = job.expires_at.astimezone(_paris()).strftime("%d/%m/%Y à %H:%M") if job.expires_at else ""
    body = (f"Bonjour {user.full_name},\n\n{what} est prêt.\n"
            f"Téléchargez-le depuis la plateforme (connexion requise) : {job_url(job)}\n\n"
            f"Le fichier sera supprimé le {expires}.\n\n"
            "Ce message est envoyé automatiquement par la plateforme ASLL ; n'y répondez pas.\n")
    send_mail(user.email, f"[ASLL] {what} est prêt", body, key=f"export.{job.id}.ready")


def send_mail(to: str, subject: str, text: str, *, key: str) -> None:
    """Send through :func:`asll.services.mail.send` (SMTP, or an .eml file in ``MAIL_FOLDER``).
    ``key`` makes the Message-ID stable: a retried job does not send twice.
    A mail failure never fails the export: the file is on the job page anyway."""
    paragraphs = (escape(part).replace("\n", "<br>") for part in text.split("\n\n"))
    html = "".join(f"<p>{_link(part)}</p>" for part in paragraphs)
    message_id = mail.make_message_id(key, hashlib.sha256(key.encode()).hexdigest()[:12])
    try:
        mail.send(mail.OutgoingMail(to=to, subject=subject, text=text, html=html, message_id=message_id))
    except mail.MailError as exc:
        current_app.logger.warning("Courriel d'export non envoyé (%s) : %s", key, exc)


def _link(html_text: str) -> str:
    return re.sub(r"(https?://[^\s<]+)", r'<a href="\1">\1</a>', html_text)


# -- expiry -----------------------------------------------------------------------------
def cleanup_expired(tenant_id: int, now: datetime | None = None) -> int:
    """Delete the files of the tenant's expired exports; idempotent, audited once per sweep."""
    now = now or utcnow()
    expired = list(db.session.scalars(sa.select(ExportJob).where(
        ExportJob.tenant_id == tenant_id, ExportJob.status == ExportStatus.DONE, ExportJob.expires_at <= now)
        .execution_options(populate_existing=True)))  # the files as stored, not a stale copy in the session
    for job in expired:
        for entry in (job.files or {}).values():
            delete_stored(job.tenant_id, entry.get("key", ""))
        job.status = ExportStatus.EXPIRED
    if expired:
        audit.record(Actor.system(tenant_id, label="exports"), "export.expire", object_type="export_job",
                     changes={"export_ids": [job.id for job in expired]}, tenant_id=tenant_id)
    db.session.commit()
    return len(expired)


STALLED_MESSAGE = "L'export a été interrompu par un incident technique ; relancez-le."


def stall_limit() -> timedelta:
    return timedelta(minutes=current_app.config["EXPORT_STALL_MINUTES"])  # config.py: ASLL_EXPORT_STALL_MINUTES


@dataclass(frozen=True)
class Recovery:
    requeued: list[int]
    failed: list[int]


def recover(tenant_id: int, now: datetime | None = None) -> Recovery:
    """Take up again, or fail, the tenant's jobs whose run or message was lost.

    Run by beat every minute, so that a killed worker's export does not depend on the broker
    giving its message back (the embedded transport never does, Redis only after its
    visibility timeout, and a message already redelivered to a live run was consumed):

    - running under an expired lease (the worker died): back to waiting, its partial file
      deleted, and sent again; failed with :data:`STALLED_MESSAGE` once it has had
      ``EXPORT_MAX_ATTEMPTS`` runs;
    - waiting past its send-again time (a message lost, or queued behind others): sent again
      (a duplicate message does nothing, see :func:`claim`); failed once no run has started
      within ``EXPORT_STALL_MINUTES`` (no worker is there to produce it).

    Each change is a conditional UPDATE on what was read, so overlapping sweeps, and a run
    renewing its lease meanwhile, never act twice.
    """
    now = now or utcnow()
    rows = db.session.execute(sa.select(
        ExportJob.id, ExportJob.status, ExportJob.claim_token, ExportJob.attempts,
        sa.func.coalesce(ExportJob.started_at, ExportJob.created_at).label("waiting_since"))
        .where(ExportJob.tenant_id == tenant_id, ExportJob.status.in_((ExportStatus.PENDING, ExportStatus.RUNNING)),
               _lease_over(now))
        .order_by(ExportJob.id)).all()
    requeued, failed, stale_tokens = [], [], []
    for row in rows:
        same = (ExportJob.id == row.id, ExportJob.status == row.status, ExportJob.claim_token == row.claim_token,
                _lease_over(now))
        give_up = (row.attempts >= max_attempts() if row.status is ExportStatus.RUNNING
                   else _aware(row.waiting_since) <= now - stall_limit())
        if give_up:
            values = {"status": ExportStatus.FAILED, "error": STALLED_MESSAGE, "finished_at": now,
                      "lease_expires_at": None}
        elif row.status is ExportStatus.RUNNING:
            values = {"status": ExportStatus.PENDING, "claim_token": "", "lease_expires_at": now + lease(),
                      "progress_done": 0}
        else:
            values = {"lease_expires_at": now + lease()}
        changed = db.session.execute(sa.update(ExportJob).where(*same).values(**values)
                                     .execution_options(synchronize_session=False)).rowcount
        if changed != 1:
            continue
        (failed if give_up else requeued).append(row.id)
        stale_tokens.append(row.claim_token)
    if failed:
        audit.record(Actor.system(tenant_id, label="exports"), "export.failed", object_type="export_job",
                     changes={"export_ids": failed, "error": STALLED_MESSAGE}, tenant_id=tenant_id)
    db.session.commit()
    for token in stale_tokens:
        _delete_run_files(tenant_id, token)
    for export_id in requeued:
        send_to_worker(export_id, tenant_id)  # if the broker is down, the next sweep sends it
    _delete_orphan_files(tenant_id, now - lease())
    return Recovery(requeued, failed)


def fail_stalled(tenant_id: int, now: datetime | None = None) -> int:
    """How many of the tenant's lost jobs were failed (the others were taken up again)."""
    return len(recover(tenant_id, now).failed)


def _delete_orphan_files(tenant_id: int, older_than: datetime) -> None:
    """Delete export files no job refers to (a run killed after a takeover, say), once they are
    older than ``older_than``; a running job's own file (named after its token) is kept.
    Listed from the storage, so that the sweep sees what every host's workers left."""
    live = (ExportStatus.PENDING, ExportStatus.RUNNING, ExportStatus.DONE)
    rows = db.session.execute(sa.select(ExportJob.files, ExportJob.claim_token).where(
        ExportJob.tenant_id == tenant_id, ExportJob.status.in_(live))).all()
    known = {entry.get("key") for row in rows for entry in (row.files or {}).values()}
    running = {row.claim_token for row in rows if row.claim_token}
    storage = current_storage()
    for stored in list(storage.list(AREA, f"{tenant_id}/")):
        match = _STORAGE_KEY.match(stored.key)
        if (match and stored.key not in known and match.group(2) not in running
                and stored.modified <= older_than):
            storage.delete(AREA, stored.key)
    storage.sweep_scratch(AREA, older_than)


class SweepResult(NamedTuple):
    expired: int
    failed: int
    requeued: int


def sweep(tenant_id: int, now: datetime | None = None) -> SweepResult:
    """The minute's clean-up of a tenant: lost jobs taken up again or failed, expired files deleted."""
    recovery = recover(tenant_id, now)
    return SweepResult(cleanup_expired(tenant_id, now), len(recovery.failed), len(recovery.requeued))


def tenant_ids() -> list[int]:
    from asll.services.tenants import all_tenants

    return [tenant.id for tenant in all_tenants() if tenant.active]


# -- what the request form offers -------------------------------------------------------
def form_choices(actor: Actor) -> dict:
    """Columns per dataset and the filters' choices, within the actor's tenant."""
    _require_member(actor)
    types = plugin_service.measure_types(actor.tenant_id)
    commissions = plugin_service.commissions(actor.tenant_id)
    operators = db.session.execute(sa.select(Organisation.id, Organisation.name).where(
        Organisation.tenant_id == actor.tenant_id, Organisation.kind == OrganisationKind.OPERATOR)
        .order_by(Organisation.name)).all()
    sectors = db.session.scalars(sa.select(Household.sector).distinct().where(
        Household.tenant_id == actor.tenant_id, household_criteria(actor), Household.sector != "")
        .order_by(Household.sector)).all()
    return {
        "columns": {dataset: columns_for(actor.tenant_id, dataset, types=types, commissions=commissions)
                    for dataset in DATASETS},
        "measure_types": [(code, d.label) for code, d in types.items()],
        "kinds": [(k.value, k.label) for k in MeasureKind],
        "statuses": {
            "measures": [(s.value, s.label) for s in MeasureStatus],
            "requests": [(s.value, s.label) for s in RequestStatus],
            "decisions": [(o.value, o.label) for o in DecisionOutcome],
        },
        "operators": [(row.id, row.name) for row in operators],
        "sectors": list(sectors),
        "housing_status": [(s.value, s.label) for s in HousingStatus],
    }
