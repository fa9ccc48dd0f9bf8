"""Object-level visibility: which households, requests and measures an actor may see.

These return SQL criteria so that lists, detail pages and exports apply the same rule.
The tenant filter itself is added by :mod:`asll.tenancy`; this narrows within a tenant.
"""

from __future__ import annotations

import sqlalchemy as sa

from asll.models import (
    CommissionSession,
    Household,
    Measure,
    Organisation,
    OrganisationKind,
    Request,
    RequestStatus,
    Role,
)
from asll.services.actor import Actor

# Roles that see every file of their tenant.
TENANT_WIDE_ROLES = (Role.DEPT_ADMIN, Role.DEPT_AGENT, Role.AUDITOR)


def request_criteria(actor: Actor):
    if actor.tenant_id is None:
        return sa.false()
    if actor.has(*TENANT_WIDE_ROLES):
        return sa.true()
    clauses = []
    orgs = list(actor.organisation_ids)
    if actor.has(Role.PRESCRIBER):
        clauses.append(Request.filed_by_id == actor.user_id)
        if orgs:
            clauses.append(Request.prescriber_organisation_id.in_(orgs))
    if actor.has(Role.COMMISSION_MEMBER):
        clauses.append(Request.status != RequestStatus.DRAFT)
    if actor.has(Role.COMMISSION_SECRETARY):
        clauses.append(sa.and_(Request.status != RequestStatus.DRAFT, _served(actor, Request.commission_code)))
    if actor.has(Role.OPERATOR_WORKER) and orgs:
        clauses.append(
            Request.id.in_(sa.select(Measure.request_id).where(Measure.operator_id.in_(orgs)))
        )
    return sa.or_(*clauses) if clauses else sa.false()


def measure_criteria(actor: Actor):
    if actor.tenant_id is None:
        return sa.false()
    if actor.has(*TENANT_WIDE_ROLES):
        return sa.true()
    clauses = []
    orgs = list(actor.organisation_ids)
    if actor.has(Role.COMMISSION_SECRETARY):
        served = served_commissions(actor)
        if served is None:
            return sa.true()
        clauses.append(Measure.request_id.in_(sa.select(Request.id).where(
            Request.commission_code.in_(sorted(served)))))
    if actor.has(Role.OPERATOR_WORKER) and orgs:
        clauses.append(Measure.operator_id.in_(orgs))
    if actor.has(Role.PRESCRIBER):
        clauses.append(Measure.request_id.in_(sa.select(Request.id).where(request_criteria(actor))))
    return sa.or_(*clauses) if clauses else sa.false()


def _served(actor: Actor, commission_column):
    """A secretary reads the files of the commissions their secretariat serves (need to know):
    all of them when it lists none, or when they belong to no secretariat."""
    served = served_commissions(actor)
    return sa.true() if served is None else commission_column.in_(sorted(served))


def session_criteria(actor: Actor):
    """Sessions an actor may read once their role reads sessions: a secretary only those of the
    commissions their secretariat serves; commission members and département staff all."""
    if actor.has(*TENANT_WIDE_ROLES, Role.COMMISSION_MEMBER) or not actor.has(Role.COMMISSION_SECRETARY):
        return sa.true()
    return _served(actor, CommissionSession.commission_code)


def household_criteria(actor: Actor):
    if actor.tenant_id is None:
        return sa.false()
    if actor.has(*TENANT_WIDE_ROLES):
        return sa.true()
    clauses = [
        Household.id.in_(sa.select(Request.household_id).where(request_criteria(actor))),
        Household.id.in_(sa.select(Measure.household_id).where(measure_criteria(actor))),
    ]
    if actor.has(Role.PRESCRIBER):
        clauses.append(Household.created_by_id == actor.user_id)
        if actor.organisation_ids:
            clauses.append(Household.created_by_organisation_id.in_(list(actor.organisation_ids)))
    return sa.or_(*clauses)


def get_in_tenant(model, object_id: int | None):
    """``Session.get`` for tenant data: always a SELECT, so the tenant filter applies.

    ``Session.get`` answers from the identity map without SQL when the object is already
    loaded, which skips the filter if the session holds another tenant's objects.
    """
    from asll.extensions import db

    if object_id is None:
        return None
    return db.session.scalar(sa.select(model).where(model.id == object_id))


def served_commissions(actor: Actor) -> frozenset[str] | None:
    """The commissions whose sessions ``actor`` runs (programme, agenda, decisions, attendance).

    ``None`` means all of them: a département admin, a secretary attached to no secretariat (the
    département's own), or one whose secretariat lists none. Otherwise the union of the lists of
    the actor's secretariats; an actor who is no secretary serves none.
    """
    from asll.extensions import db

    if actor.has(Role.DEPT_ADMIN) or actor.user_id is None:
        return None
    if not actor.has(Role.COMMISSION_SECRETARY):
        return frozenset()
    lists = list(db.session.scalars(sa.select(Organisation.commission_codes).where(
        Organisation.id.in_(list(actor.organisation_ids)),
        Organisation.kind == OrganisationKind.COMMISSION_SECRETARIAT)))
    if not lists or any(not codes for codes in lists):
        return None
    return frozenset(code for codes in lists for code in codes)


def serves(actor: Actor, commission_code: str) -> bool:
    served = served_commissions(actor)
    return served is None or commission_code in served
