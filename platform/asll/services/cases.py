"""Reading requests and measures with the actor's visibility rules (writing comes with the workflow)."""

from __future__ import annotations

import sqlalchemy as sa

from asll.extensions import db
from asll.models import Measure, Request
from asll.services import audit
from asll.services.access import measure_criteria, request_criteria
from asll.services.actor import Actor
from asll.services.errors import NotFound


def get_request(actor: Actor, request_id: int, *, log_read: bool = True) -> Request:
    """A request the actor may see. ``log_read=False`` for an action, which audits itself."""
    obj = db.session.scalar(sa.select(Request).where(Request.id == request_id, request_criteria(actor)))
    if obj is None:
        raise NotFound("Demande introuvable.")
    if log_read:
        audit.record(actor, "request.read", object_type="request", object_id=obj.id)
        db.session.commit()
    return obj


def get_measure(actor: Actor, measure_id: int, *, log_read: bool = True) -> Measure:
    """A measure the actor may see. ``log_read=False`` for an action, which audits itself."""
    obj = db.session.scalar(sa.select(Measure).where(Measure.id == measure_id, measure_criteria(actor)))
    if obj is None:
        raise NotFound("Mesure introuvable.")
    if log_read:
        audit.record(actor, "measure.read", object_type="measure", object_id=obj.id)
        db.session.commit()
    return obj
