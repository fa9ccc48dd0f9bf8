"""Reading households: every read of a file is audited."""

from __future__ import annotations

import sqlalchemy as sa

from asll.extensions import db
from asll.models import Household
from asll.services import audit
from asll.services.access import household_criteria
from asll.services.actor import Actor
from asll.services.errors import NotFound


def get_household(actor: Actor, household_id: int, *, log_read: bool = True) -> Household:
    """Return a household the actor may see, or raise NotFound (never 403: no existence leak)."""
    household = db.session.scalar(
        sa.select(Household).where(Household.id == household_id, household_criteria(actor))
    )
    if household is None:
        raise NotFound("Ménage introuvable.")
    if log_read:
        audit.record(actor, "household.read", object_type="household", object_id=household.id)
        db.session.commit()
    return household


def list_households(actor: Actor, *, after_id: int | None = None, limit: int = 50) -> list[Household]:
    """Keyset-paginated list of visible households, newest first."""
    query = sa.select(Household).where(household_criteria(actor)).order_by(Household.id.desc()).limit(limit)
    if after_id is not None:
        query = query.where(Household.id < after_id)
    return list(db.session.scalars(query))
