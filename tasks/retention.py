"""Celery tasks of the RGPD retention: the beat's daily fan-out, one run per tenant.

Each run does exactly what ``flask asll retention --dry-run`` and the admin's page show for
that day (:mod:`asll.services.rgpd.retention`): anonymise the files whose last contact is past
the active period, archive what the FSL accounts need, destroy the archive whose legal period
is over. A per-tenant lock row keeps two runs of a tenant from overlapping (the beat's daily
message and a retry, say); a file is one transaction, so a run stopped midway is simply
finished by the next one.
"""

from __future__ import annotations

from datetime import date

from celery import shared_task

from asll.domain.calendar import today
from asll.extensions import db
from asll.services.rgpd import retention
from asll_tasks.base import in_tenant


def _day(on_date: str | None) -> date:
    return date.fromisoformat(on_date) if on_date else today()


@shared_task(name="asll.retention.apply", bind=True, acks_late=True)
def apply_all(self, on_date: str | None = None) -> dict:
    """Beat entry point: one retention run per active tenant, all for the same French date.

    The runs are sent through this task's own Celery app (not whichever app was created last).
    """
    day = _day(on_date).isoformat()
    try:
        tenant_ids = retention.tenants_to_run()
    finally:
        db.session.remove()
    per_tenant = self.app.tasks["asll.retention.apply_tenant"]
    for tenant_id in tenant_ids:
        per_tenant.apply_async(kwargs={"tenant_id": tenant_id, "on_date": day})
    return {"on_date": day, "tenant_ids": tenant_ids}


@shared_task(name="asll.retention.apply_tenant", acks_late=True)
@in_tenant
def apply_tenant(*, tenant_id: int, on_date: str | None = None) -> dict:
    """Run the retention of one tenant for that day; returns what was done (references, counts, errors)."""
    return retention.apply(tenant_id, _day(on_date)).as_dict()
