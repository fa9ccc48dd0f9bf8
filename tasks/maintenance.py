"""Small tasks: the wiring check (broker, worker, app context, database, tenant context) and
the purge of expired API idempotency keys."""

from __future__ import annotations

import os

from celery import shared_task

from asll.extensions import db
from asll.models import Tenant
from asll.services import idempotency
from asll_tasks.base import in_tenant


@shared_task(name="asll.ping")
@in_tenant
def ping(*, tenant_id: int) -> dict:
    """Answer with the tenant's name as read by the worker from the database."""
    tenant = db.session.get(Tenant, tenant_id)
    return {"tenant_code": tenant.code if tenant else None, "worker_pid": os.getpid()}


@shared_task(name="asll.idempotency.purge")
def purge_idempotency_keys() -> int:
    """Beat entry: delete the API idempotency keys older than IDEMPOTENCY_KEY_HOURS, all tenants at once."""
    try:
        return idempotency.purge()
    finally:
        db.session.remove()
