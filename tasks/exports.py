"""Celery tasks of the exports feature: produce an export or a yearly report, sweep expired files.

Arguments are ids (always with the tenant id). The task rebuilds the requester's rights from
the job row (see :func:`asll.services.exports.run_job`), so a message cannot widen them.
"""

from __future__ import annotations

from celery import shared_task

from asll.services import exports
from asll_tasks.base import in_tenant


@shared_task(name="asll.exports.run", acks_late=True)
@in_tenant
def run_export(*, export_id: int, tenant_id: int) -> dict:
    """Produce the file(s) of one export or yearly-report job (a finished job is left alone)."""
    return exports.run_job(export_id)


@shared_task(name="asll.exports.cleanup_tenant")
@in_tenant
def cleanup_tenant(*, tenant_id: int) -> int:
    """Delete the tenant's expired export files and fail the jobs whose worker died;
    returns how many jobs expired."""
    expired, _stalled = exports.sweep(tenant_id)
    return expired


@shared_task(name="asll.exports.cleanup")
def cleanup() -> int:
    """Beat entry: one cleanup task per tenant (each is idempotent, so overlapping runs are harmless)."""
    ids = exports.tenant_ids()
    for tenant_id in ids:
        cleanup_tenant.apply_async(kwargs={"tenant_id": tenant_id})
    return len(ids)
