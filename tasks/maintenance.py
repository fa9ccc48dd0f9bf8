"""Small tasks that prove the wiring: broker, worker, app context, database, tenant context."""

from __future__ import annotations

import os

from celery import shared_task

from asll.extensions import db
from asll.models import Tenant
from asll_tasks.base import in_tenant


@shared_task(name="asll.ping")
@in_tenant
def ping(*, tenant_id: int) -> dict:
    """Answer with the tenant's name as read by the worker from the database."""
    tenant = db.session.get(Tenant, tenant_id)
    return {"tenant_code": tenant.code if tenant else None, "worker_pid": os.getpid()}
