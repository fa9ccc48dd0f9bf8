"""The audit trail's checkpoint: every chain's head written outside the database (beat, hourly)."""

from __future__ import annotations

import logging

from celery import shared_task

from asll.extensions import db
from asll.services import audit

logger = logging.getLogger(__name__)


@shared_task(name="asll.audit.checkpoint", ignore_result=True)
def checkpoint() -> dict:
    """Beat entry: append one signed line with the head of every chain (all tenants at once).

    Logs an error, for the operators' alerting, when the database no longer holds what the
    previous checkpoint recorded (newest entries deleted, or the chain rewritten).
    """
    try:
        result = audit.checkpoint()
    finally:
        db.session.remove()
    for problem in result.problems:
        where = f"département {problem.tenant_id}" if problem.tenant_id else "plateforme"
        logger.error("Journal d'audit altéré – %s : %s", where, problem.message)
    return {"path": str(result.path), "chains": len(result.heads), "problems": [p.message for p in result.problems]}
