"""Reads the JSON API needs that no other service offers: filtered, keyset-paginated lists
and the composite views of a measure and a commission session.

Every list goes through the visibility criteria of :mod:`asll.services.access`, so the
API shows exactly what the web pages show; the tenant filter is added by
:mod:`asll.tenancy`. Lists are ordered newest first and paginated by id
(``after_id``: the last id of the previous page), which stays fast on large tables.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from asll.domain.machine import Transition
from asll.extensions import db
from asll.models import (
    CommissionSession,
    Decision,
    Measure,
    MeasureEvent,
    MeasureStatus,
    Obligation,
    Request,
    RequestStatus,
    SessionStatus,
    User,
)
from asll.services import cases, decisions, measures, views
from asll.services.access import measure_criteria, request_criteria, session_criteria
from asll.services.actor import Actor
from asll.services.documents import SESSION_READERS
from asll.services.errors import NotFound

MAX_PAGE = 200


def _page(query, model, after_id: int | None, limit: int) -> list:
    limit = max(1, min(limit, MAX_PAGE + 1))
    query = query.order_by(model.id.desc()).limit(limit)
    if after_id is not None:
        query = query.where(model.id < after_id)
    return list(db.session.scalars(query))


def list_requests(actor: Actor, *, after_id: int | None = None, limit: int = 50,
                  status: RequestStatus | None = None, household_id: int | None = None) -> list[Request]:
    """Requests the actor may see, newest first."""
    query = sa.select(Request).where(request_criteria(actor))
    if status is not None:
        query = query.where(Request.status == status)
    if household_id is not None:
        query = query.where(Request.household_id == household_id)
    return _page(query, Request, after_id, limit)


def list_measures(actor: Actor, *, after_id: int | None = None, limit: int = 50,
                  status: MeasureStatus | None = None, measure_type: str | None = None,
                  operator_id: int | None = None, household_id: int | None = None) -> list[Measure]:
    """Measures the actor may see, newest first, filtered by status, type and operator."""
    query = sa.select(Measure).where(measure_criteria(actor))
    if status is not None:
        query = query.where(Measure.status == status)
    if measure_type is not None:
        query = query.where(Measure.measure_type == measure_type)
    if operator_id is not None:
        query = query.where(Measure.operator_id == operator_id)
    if household_id is not None:
        query = query.where(Measure.household_id == household_id)
    return _page(query, Measure, after_id, limit)


@dataclass(frozen=True)
class MeasureDetail:
    measure: Measure
    timeline: list[MeasureEvent]
    obligations: list[Obligation]
    transitions: list[Transition]
    decision: Decision | None


def measure_detail(actor: Actor, measure_id: int) -> MeasureDetail:
    """A measure with its timeline, obligations and the transitions the actor may try (read audited)."""
    measure = cases.get_measure(actor, measure_id)
    return MeasureDetail(
        measure=measure,
        timeline=measures.timeline(actor, measure.id),
        obligations=measures.obligations(actor, measure.id),
        transitions=measures.allowed_transitions(actor, measure),
        decision=decisions.decision_for_measure(measure),
    )


def list_sessions(actor: Actor, *, after_id: int | None = None, limit: int = 50,
                  commission_code: str | None = None, status: SessionStatus | None = None) -> list[CommissionSession]:
    """Commission sessions, newest first, for the roles that read them."""
    if not actor.has(*SESSION_READERS):
        return []
    query = sa.select(CommissionSession).where(session_criteria(actor))
    if commission_code is not None:
        query = query.where(CommissionSession.commission_code == commission_code)
    if status is not None:
        query = query.where(CommissionSession.status == status)
    return _page(query, CommissionSession, after_id, limit)


def get_session(actor: Actor, session_id: int) -> CommissionSession:
    """A session the actor may read (NotFound for a role that reads none, as on the web)."""
    return views.get_session(actor, session_id)


def session_decisions(actor: Actor, session_id: int) -> list[Decision]:
    """Decisions recorded in a session (including adjourned requests that left its agenda)."""
    session = get_session(actor, session_id)
    return decisions.session_decisions(session.id)


def user_of(actor: Actor) -> User:
    """The actor's own account (for "who am I")."""
    user = db.session.get(User, actor.user_id) if actor.user_id is not None else None
    if user is None:
        raise NotFound("Compte introuvable.")
    return user
