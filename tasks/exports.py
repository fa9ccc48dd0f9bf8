"""Celery tasks of the exports feature: produce an export or a yearly report, sweep lost jobs and expired files.

Arguments are ids (always with the tenant id). The task rebuilds the requester's rights from
the job row (see :func:`asll.services.exports.run_job`), so a message cannot widen them.
A message may arrive twice (a redelivery, the sweep sending it again): the job's atomic
claim makes every copy but one do nothing. No result is stored: the job row is the result,
and sending a task that keeps none does not wait on the result backend.
"""

from __future__ import annotations

from celery import shared_task

from asll.services import exports
from asll_tasks.base import in_tenant


@shared_task(name="asll.exports.run", acks_late=True, ignore_result=True)
@in_tenant
def run_export(*, export_id: int, tenant_id: int) -> dict:
    """Produce the file(s) of one export or yearly-report job (a finished job, or one a live
    run holds, is left alone)."""
    return exports.run_job(export_id)


@shared_task(name="asll.exports.cleanup_tenant", ignore_result=True)
@in_tenant
def cleanup_tenant(*, tenant_id: int) -> dict:
    """Take up again (or fail) the tenant's jobs whose worker died or whose message was lost,
    and delete its expired export files."""
    return exports.sweep(tenant_id)._asdict()


@shared_task(name="asll.exports.cleanup", ignore_result=True)
def cleanup() -> int:
    """Beat entry, every minute: one sweep task per tenant (each is idempotent, so overlapping runs are harmless)."""
    ids = exports.tenant_ids()
    for tenant_id in ids:
        cleanup_tenant.apply_async(kwargs={"tenant_id": tenant_id})
    return len(ids)
