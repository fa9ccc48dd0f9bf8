"""Celery tasks of the reminders feature: the beat's fan-out, one sweep per tenant, one send per e-mail.

Delivery does not rely on the broker giving a message back: the embedded SQLAlchemy transport
never redelivers a message a killed worker had taken, and Redis only after its visibility
timeout. The outbox rows are the truth (see :mod:`asll.services.reminders`): every sweep
re-enqueues what is not sent yet, and a send task that finds its row already sent does
nothing. Tasks take the date they work for as an argument (the beat passes today's), so a
test can run them in a worker process at a fixed date.
"""

from __future__ import annotations

from datetime import date

from celery import shared_task

from asll.domain.calendar import today
from asll.services import reminders
from asll_tasks.base import in_tenant


def _day(on_date: str | None) -> date:
    return date.fromisoformat(on_date) if on_date else today()


@shared_task(name="asll.reminders.sweep_all", acks_late=True)
def sweep_all(on_date: str | None = None) -> dict:
    """Beat entry point: one sweep task per active tenant, all for the same French date."""
    day = _day(on_date).isoformat()
    tenant_ids = reminders.sweepable_tenants()
    for tenant_id in tenant_ids:
        sweep_tenant.apply_async(kwargs={"tenant_id": tenant_id, "on_date": day})
    return {"on_date": day, "tenant_ids": tenant_ids}


@shared_task(name="asll.reminders.sweep_tenant", acks_late=True)
@in_tenant
def sweep_tenant(*, tenant_id: int, on_date: str | None = None) -> dict:
    """Record the tenant's due reminders, then enqueue a send task per unsent e-mail.

    The service has committed when it returns, so the send tasks never run before their rows exist.
    """
    result = reminders.sweep(tenant_id, _day(on_date))
    for outbox_id in result.to_send:
        send_reminder.apply_async(kwargs={"tenant_id": tenant_id, "outbox_id": outbox_id})
    return result.as_dict()


# Longer back-off delays are left to the beat: the row stays pending with its next attempt
# time and the next sweep after it enqueues it again (no long ETA held by a worker).
MAX_RETRY_COUNTDOWN = 300


@shared_task(name="asll.reminders.send", bind=True, acks_late=True, max_retries=None)
@in_tenant
def send_reminder(self, *, tenant_id: int, outbox_id: int) -> dict:
    """Send one outbox e-mail; on a transient SMTP failure, retry after the row's back-off delay.

    The number of attempts is bounded by the outbox row (``REMINDER_MAX_ATTEMPTS``), not here.
    """
    delivery = reminders.deliver(tenant_id, outbox_id)
    if delivery.status == "retry" and delivery.retry_in is not None and delivery.retry_in <= MAX_RETRY_COUNTDOWN:
        raise self.retry(countdown=delivery.retry_in)
    return delivery.as_dict()
