"""Helpers for tasks: run as a tenant, and enqueue only after the transaction commits."""

from __future__ import annotations

import functools

from sqlalchemy import event

from asll.extensions import db
from asll.tenancy import tenant_context


def in_tenant(func):
    """Run the task body in the tenant context named by its ``tenant_id`` argument."""

    @functools.wraps(func)
    def wrapper(*args, tenant_id: int, **kwargs):
        with tenant_context(tenant_id):
            try:
                return func(*args, tenant_id=tenant_id, **kwargs)
            finally:
                db.session.remove()

    return wrapper


def enqueue_after_commit(task, *args, **kwargs) -> None:
    """Send ``task`` once the current transaction commits (never for a rolled-back one)."""
    session = db.session()

    @event.listens_for(session, "after_commit", once=True)
    def _send(_session):
        task.apply_async(args=args, kwargs=kwargs)
