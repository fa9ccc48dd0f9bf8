"""Read-only queries behind the web pages: lists, search, dashboard, and what a form needs.

Every query goes through the visibility criteria of :mod:`asll.services.access` (the
tenant filter is added by :mod:`asll.tenancy`). Long lists use keyset pagination on
the primary key (newest first): a page is "rows with an id below the last one seen",
which stays fast and stable while rows are added. Reads of a household's file and
searches are audited, as every read of personal data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import marshmallow as ma
import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from asll.domain.calendar import today
from asll.domain.machine import TRANSITIONS
from asll.extensions import db
from asll.models import (
    AgendaItem,
    CommissionSession,
    Decision,
    Document,
    Household,
    HouseholdMember,
    Measure,
    MeasureStatus,
    Membership,
    Obligation,
    ObligationState,
    Organisation,
    OrganisationKind,
    Request,
    RequestStatus,
    Role,
    SessionStatus,
    SupportMeasure,
    Tenant,
    User,
)
from asll.models.reminders import OutboxMessage, OutboxState
from asll.plugins.contract import CommissionRole
from asll.services import audit, households
from asll.services import decisions as decision_service
from asll.services import measures as measure_service
from asll.services import plugins as plugin_service
from asll.services import requests as request_service
from asll.services.access import (
    household_criteria,
    measure_criteria,
    request_criteria,
    serves,
    session_criteria,
)
from asll.services.actor import Actor
from asll.services.decisions import SECRETARIAT
from asll.services.documents import SESSION_READERS  # who reads sessions reads their documents
from asll.services.errors import NotFound, PermissionDenied
from asll.tenancy import unscoped

PAGE_SIZE = 25
OPEN_STATES = (ObligationState.OPEN, ObligationState.OVERDUE)


@dataclass(frozen=True)
class Page:
    """One page of a keyset-paginated list; ``next_after`` is the cursor of the next page."""

    items: list
    next_after: int | None


def _page(query, id_column, after: int | None, limit: int) -> Page:
    limit = max(1, min(limit, 100))
    if after is not None:
        query = query.where(id_column < after)
    rows = list(db.session.scalars(query.order_by(id_column.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, rows[-1].id if more and rows else None)


def _like(text: str) -> str:
    escaped = text.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _households_named(q: str):
    """Ids of households whose reference or a member's name contains ``q``."""
    pattern = _like(q)
    return sa.select(HouseholdMember.household_id).where(sa.or_(
        sa.func.lower(HouseholdMember.last_name).like(pattern, escape="\\"),
        sa.func.lower(HouseholdMember.first_name).like(pattern, escape="\\"),
    )).union(sa.select(Household.id).where(sa.func.lower(Household.reference).like(pattern, escape="\\")))


def _audit_search(actor: Actor, scope: str, q: str | None, count: int) -> None:
    if q:
        audit.record(actor, "search", object_type=scope, changes={"q": q.strip()[:100], "results": count})
        db.session.commit()


# -- lists ----------------------------------------------------------------------------
def list_households(actor: Actor, *, q: str | None = None, after: int | None = None,
                    limit: int = PAGE_SIZE) -> Page:
    query = sa.select(Household).where(household_criteria(actor)).options(selectinload(Household.members))
    if q and q.strip():
        query = query.where(Household.id.in_(_households_named(q)))
    page = _page(query, Household.id, after, limit)
    _audit_search(actor, "household", q, len(page.items))
    return page


def list_requests(actor: Actor, *, status: str | None = None, measure_type: str | None = None,
                  commission: str | None = None, q: str | None = None, mine: bool = False,
                  household_id: int | None = None, after: int | None = None, limit: int = PAGE_SIZE) -> Page:
    # The list shows each row's household name: members loaded in two queries, not two per row.
    query = sa.select(Request).where(request_criteria(actor)).options(
        selectinload(Request.household).selectinload(Household.members))
    if status:
        query = query.where(Request.status == RequestStatus(status))
    if measure_type:
        query = query.where(Request.measure_type == measure_type)
    if commission:
        query = query.where(Request.commission_code == commission)
    if mine:
        query = query.where(Request.filed_by_id == actor.user_id)
    if household_id is not None:
        query = query.where(Request.household_id == household_id)
    if q and q.strip():
        query = query.where(sa.or_(sa.func.lower(Request.reference).like(_like(q), escape="\\"),
                                   Request.household_id.in_(_households_named(q))))
    page = _page(query, Request.id, after, limit)
    _audit_search(actor, "request", q, len(page.items))
    return page


def list_measures(actor: Actor, *, status: str | None = None, measure_type: str | None = None,
                  operator_id: int | None = None, q: str | None = None, household_id: int | None = None,
                  after: int | None = None, limit: int = PAGE_SIZE) -> Page:
    query = sa.select(Measure).where(measure_criteria(actor)).options(
        selectinload(Measure.household).selectinload(Household.members), selectinload(Measure.operator))
    if status:
        query = query.where(Measure.status == MeasureStatus(status))
    if measure_type:
        query = query.where(Measure.measure_type == measure_type)
    if operator_id is not None:
        query = query.where(Measure.operator_id == operator_id)
    if household_id is not None:
        query = query.where(Measure.household_id == household_id)
    if q and q.strip():
        query = query.where(sa.or_(sa.func.lower(Measure.reference).like(_like(q), escape="\\"),
                                   Measure.household_id.in_(_households_named(q))))
    page = _page(query, Measure.id, after, limit)
    _audit_search(actor, "measure", q, len(page.items))
    return page


def search(actor: Actor, q: str, limit: int = 10) -> dict[str, list]:
    """Households, requests and measures matching a reference or a name (one audit entry)."""
    q = (q or "").strip()
    if not q:
        return {"households": [], "requests": [], "measures": []}
    found = {
        "households": _page(sa.select(Household).where(household_criteria(actor),
                                                       Household.id.in_(_households_named(q))),
                            Household.id, None, limit).items,
        "requests": _page(sa.select(Request).where(request_criteria(actor), sa.or_(
            sa.func.lower(Request.reference).like(_like(q), escape="\\"),
            Request.household_id.in_(_households_named(q)))), Request.id, None, limit).items,
        "measures": _page(sa.select(Measure).where(measure_criteria(actor), sa.or_(
            sa.func.lower(Measure.reference).like(_like(q), escape="\\"),
            Measure.household_id.in_(_households_named(q)))), Measure.id, None, limit).items,
    }
    _audit_search(actor, "all", q, sum(len(v) for v in found.values()))
    return found


# -- household file -------------------------------------------------------------------
@dataclass(frozen=True)
class HouseholdFile:
    household: Household
    requests: list[Request]
    measures: list[Measure]
    support_measures: list[SupportMeasure]
    support_labels: dict[str, str]
    documents: list[Document]
    history: list


def household_file(actor: Actor, household_id: int) -> HouseholdFile:
    """The whole file of a household as the actor may see it (the read is audited)."""
    household = households.get_household(actor, household_id)
    requests = list(db.session.scalars(sa.select(Request).where(
        Request.household_id == household.id, request_criteria(actor)).order_by(Request.id.desc())))
    measures = list(db.session.scalars(sa.select(Measure).where(
        Measure.household_id == household.id, measure_criteria(actor)).order_by(Measure.id.desc())))
    supports = list(db.session.scalars(sa.select(SupportMeasure).where(
        SupportMeasure.household_id == household.id).order_by(SupportMeasure.start_date.desc())))
    request_ids = [r.id for r in requests]
    measure_ids = [m.id for m in measures]
    documents = []
    if request_ids or measure_ids:
        documents = list(db.session.scalars(sa.select(Document).where(sa.or_(
            Document.request_id.in_(request_ids), Document.measure_id.in_(measure_ids)))
            .order_by(Document.created_at.desc(), Document.id.desc()).limit(100)))
    return HouseholdFile(household, requests, measures, supports, plugin_service.support_measures(actor.tenant_id),
                         documents, audit.history("household", household.id))


# -- requests and decisions --------------------------------------------------------------
def request_decisions(actor: Actor, request_id: int) -> list[Decision]:
    """Decisions on a request the actor may see (an adjourned request may have several)."""
    visible = db.session.scalar(sa.select(Request.id).where(Request.id == request_id, request_criteria(actor)))
    if visible is None:
        raise NotFound("Demande introuvable.")
    return list(db.session.scalars(sa.select(Decision).where(Decision.request_id == request_id)
                                   .order_by(Decision.id)))


def request_measures(actor: Actor, request_id: int) -> list[Measure]:
    return list(db.session.scalars(sa.select(Measure).where(Measure.request_id == request_id,
                                                            measure_criteria(actor)).order_by(Measure.id)))


def request_session(request_id: int) -> CommissionSession | None:
    """The session whose agenda holds the request, if any (latest first)."""
    return db.session.scalar(sa.select(CommissionSession).join(AgendaItem, AgendaItem.session_id == CommissionSession.id)
                             .where(AgendaItem.request_id == request_id)
                             .order_by(CommissionSession.session_date.desc()).limit(1))


def decides_alone(actor: Actor, request: Request) -> bool:
    """Whether the actor may decide this request without a session (single decider)."""
    if request.status is not RequestStatus.SUBMITTED or not actor.has(Role.DEPT_AGENT, Role.DEPT_ADMIN):
        return False
    commission = plugin_service.commissions(actor.tenant_id).get(request.commission_code or "")
    return commission is None or commission.role is CommissionRole.SINGLE_DECIDER


def request_fields(actor: Actor, measure_type: str | None) -> dict[str, ma.fields.Field]:
    """The enabled plugins' extra request fields for ``measure_type`` (as the service loads them)."""
    return request_service.request_fields(actor.tenant_id, measure_type)


def household_fields(actor: Actor) -> dict[str, ma.fields.Field]:
    return request_service.household_fields(actor.tenant_id)


def transition_fields(actor: Actor, measure: Measure, transition: str) -> dict[str, ma.fields.Field]:
    """The enabled plugins' extra fields for a transition of ``measure`` (as the service loads them)."""
    return measure_service.transition_fields(actor.tenant_id, measure, transition)


def measure_extra_fields(actor: Actor, measure: Measure) -> dict[str, ma.fields.Field]:
    """Every field the plugins may have stored in ``measure.extra``, to show it with its label."""
    merged: dict[str, ma.fields.Field] = {}
    for transition in ("grant", *TRANSITIONS):
        merged.update(transition_fields(actor, measure, transition))
    return merged


def grant_fields(actor: Actor, request: Request) -> dict[str, ma.fields.Field]:
    """Extra fields the plugins ask for when a request is granted (the same probe as the decision's)."""
    return transition_fields(actor, measure_service.grant_probe(request), "grant")


# -- commission sessions --------------------------------------------------------------
def _require_session_reader(actor: Actor) -> None:
    if not actor.has(*SESSION_READERS):
        # Not 403: a role that never sees sessions must not learn which ids exist.
        raise NotFound("Séance introuvable.")


def may_read_sessions(actor: Actor) -> bool:
    return actor.has(*SESSION_READERS)


def list_sessions(actor: Actor, *, commission: str | None = None, status: str | None = None,
                  after: int | None = None, limit: int = PAGE_SIZE) -> Page:
    if not actor.has(*SESSION_READERS):
        raise PermissionDenied("Votre rôle ne donne pas accès aux séances des commissions.")
    query = sa.select(CommissionSession).where(session_criteria(actor))
    if commission:
        query = query.where(CommissionSession.commission_code == commission)
    if status:
        query = query.where(CommissionSession.status == SessionStatus(status))
    return _page(query, CommissionSession.id, after, limit)


@dataclass(frozen=True)
class SessionFile:
    session: CommissionSession
    commission_label: str
    items: list[AgendaItem]
    decisions: dict[int, list[Decision]]
    pending: list[Request]
    documents: list[Document]


def get_session(actor: Actor, session_id: int) -> CommissionSession:
    """A session the actor may read (no audit entry: for the actions, which audit themselves)."""
    _require_session_reader(actor)
    # A SELECT (tenant-filtered, unlike Session.get) with the actor's criteria.
    session = db.session.scalar(sa.select(CommissionSession).where(CommissionSession.id == session_id,
                                                                   session_criteria(actor)))
    if session is None:
        raise NotFound("Séance introuvable.")
    return session


def session_file(actor: Actor, session_id: int) -> SessionFile:
    """A session with its agenda, decisions, pending requests (secretariat) and documents; audited."""
    session = get_session(actor, session_id)
    decisions: dict[int, list[Decision]] = {}
    for decision in db.session.scalars(sa.select(Decision).where(Decision.session_id == session.id)
                                       .order_by(Decision.id)):
        decisions.setdefault(decision.request_id, []).append(decision)
    pending: list[Request] = []
    if actor.has(*SECRETARIAT) and session.status is SessionStatus.PLANNED and serves(actor, session.commission_code):
        pending = decision_service.pending_requests(actor, session.commission_code)
    documents = list(db.session.scalars(sa.select(Document).where(Document.session_id == session.id)
                                        .order_by(Document.created_at.desc(), Document.id.desc())))
    commission = plugin_service.commissions(actor.tenant_id).get(session.commission_code)
    audit.record(actor, "session.read", object_type="commission_session", object_id=session.id)
    db.session.commit()
    return SessionFile(session, commission.label if commission else session.commission_code, list(session.items),
                       decisions, pending, documents)


def session_commissions(actor: Actor) -> list:
    """Commissions that hold sessions (not the single deciders) of the tenant."""
    return [c for c in plugin_service.commissions(actor.tenant_id).values()
            if c.role is not CommissionRole.SINGLE_DECIDER]


def pending_counts(actor: Actor) -> dict[str, int]:
    """Submitted requests waiting for an agenda, per commission code (secretariat's view)."""
    if not actor.has(*SESSION_READERS):
        return {}
    rows = db.session.execute(sa.select(Request.commission_code, sa.func.count(Request.id))
                              .where(Request.status == RequestStatus.SUBMITTED).group_by(Request.commission_code))
    return {code or "": count for code, count in rows}


# -- dashboard --------------------------------------------------------------------------
@dataclass(frozen=True)
class Dashboard:
    my_tasks: list[tuple[Obligation, Measure]]
    upcoming: list[tuple[Obligation, Measure]]
    drafts: list[Request]
    awaiting_decision: list[Request]
    sessions: list[CommissionSession]
    prolongations: list[Measure]
    to_start: list[Measure]
    counts: dict[str, int]
    horizon_days: int


def _obligations(actor: Actor):
    return (sa.select(Obligation, Measure).join(Measure, Measure.id == Obligation.measure_id)
            .where(Obligation.state.in_(OPEN_STATES), measure_criteria(actor)))


def dashboard(actor: Actor, horizon_days: int = 30, limit: int = 15) -> Dashboard:
    """What the actor has to do, and the deadlines coming in the next ``horizon_days``."""
    current = today()
    role_values = [role.value for role in actor.roles]
    my_tasks = [tuple(row) for row in db.session.execute(
        _obligations(actor).where(Obligation.responsible_role.in_(role_values))
        .order_by(Obligation.due_date, Obligation.id).limit(limit))]
    upcoming = [tuple(row) for row in db.session.execute(
        _obligations(actor).where(Obligation.due_date <= current + timedelta(days=horizon_days))
        .order_by(Obligation.due_date, Obligation.id).limit(limit))]
    drafts = []
    if actor.has(Role.PRESCRIBER, Role.DEPT_AGENT, Role.DEPT_ADMIN):
        drafts = list(db.session.scalars(sa.select(Request).where(
            Request.status == RequestStatus.DRAFT, Request.filed_by_id == actor.user_id)
            .order_by(Request.id.desc()).limit(limit)))
    awaiting = []
    if actor.has(Role.COMMISSION_SECRETARY, Role.DEPT_AGENT, Role.DEPT_ADMIN):
        awaiting = list(db.session.scalars(sa.select(Request).where(
            request_criteria(actor), Request.status.in_((RequestStatus.SUBMITTED, RequestStatus.SCHEDULED)))
            .order_by(Request.submitted_at, Request.id).limit(limit)))
    sessions = []
    if actor.has(*SESSION_READERS):
        sessions = list(db.session.scalars(sa.select(CommissionSession).where(
            CommissionSession.status == SessionStatus.PLANNED, session_criteria(actor))
            .order_by(CommissionSession.session_date, CommissionSession.id).limit(limit)))
    prolongations = []
    if actor.has(Role.DEPT_AGENT, Role.DEPT_ADMIN, Role.COMMISSION_SECRETARY):
        prolongations = list(db.session.scalars(sa.select(Measure).where(
            measure_criteria(actor), Measure.status == MeasureStatus.PROLONGATION_REQUESTED)
            .order_by(Measure.id).limit(limit)))
    to_start = []
    if actor.has(Role.OPERATOR_WORKER):
        to_start = list(db.session.scalars(sa.select(Measure).where(
            measure_criteria(actor), Measure.status == MeasureStatus.OPERATOR_ASSIGNED)
            .order_by(Measure.decision_date, Measure.id).limit(limit)))
    counts = {
        "requests": db.session.scalar(sa.select(sa.func.count(Request.id)).where(request_criteria(actor))) or 0,
        "measures": db.session.scalar(sa.select(sa.func.count(Measure.id)).where(
            measure_criteria(actor), Measure.status != MeasureStatus.CLOSED)) or 0,
        "overdue": db.session.scalar(sa.select(sa.func.count(Obligation.id)).join(
            Measure, Measure.id == Obligation.measure_id).where(
            measure_criteria(actor), Obligation.state.in_(OPEN_STATES), Obligation.due_date < current)) or 0,
    }
    if actor.has(Role.DEPT_ADMIN):
        counts["undelivered"] = db.session.scalar(sa.select(sa.func.count(OutboxMessage.id)).where(
            OutboxMessage.state == OutboxState.FAILED)) or 0
    return Dashboard(my_tasks, upcoming, drafts, awaiting, sessions, prolongations, to_start, counts, horizon_days)


# -- what forms offer -----------------------------------------------------------------
def organisations_of_kind(actor: Actor, kind: OrganisationKind, *, active_only: bool = True) -> list[Organisation]:
    query = sa.select(Organisation).where(Organisation.kind == kind).order_by(Organisation.name)
    if active_only:
        query = query.where(Organisation.active)
    return list(db.session.scalars(query))


def filing_households(actor: Actor, limit: int = 200) -> list[Household]:
    """Households the actor may file a request for (the newest first)."""
    return list(db.session.scalars(sa.select(Household).where(household_criteria(actor))
                                   .order_by(Household.id.desc()).limit(limit)))


def measure_documents(actor: Actor, measure: Measure) -> list[Document]:
    """Documents of a measure: generated ones, attachments and the letters of its decision."""
    return list(db.session.scalars(sa.select(Document).where(Document.measure_id == measure.id)
                                   .order_by(Document.created_at.desc(), Document.id.desc())))


# -- département administration --------------------------------------------------------
def _require_dept_admin(actor: Actor) -> None:
    if not actor.has(Role.DEPT_ADMIN):
        raise PermissionDenied("Réservé à l'administration départementale.")


def all_organisations(actor: Actor) -> list[Organisation]:
    return list(db.session.scalars(sa.select(Organisation).order_by(Organisation.kind, Organisation.name)))


def tenant_members(actor: Actor, *, after: int | None = None, limit: int = 50) -> Page:
    """Memberships of the current tenant with their users (département admin)."""
    _require_dept_admin(actor)
    return _page(sa.select(Membership).options(sa.orm.joinedload(Membership.user)), Membership.id, after, limit)


@dataclass(frozen=True)
class PluginSettings:
    name: str
    label: str
    schema: type[ma.Schema]
    values: dict[str, Any]


def plugin_settings(actor: Actor) -> list[PluginSettings]:
    """Settings of the plugins enabled for the tenant that declare some (département admin)."""
    _require_dept_admin(actor)
    info = plugin_service.tenant_info(actor.tenant_id)
    registry = plugin_service.registry()
    found = []
    for name in sorted(plugin_service.enabled_plugins(actor.tenant_id)):
        plugin_info = registry.infos[name]
        if plugin_info.settings_schema is None:
            continue
        found.append(PluginSettings(name, plugin_info.label, plugin_info.settings_schema,
                                    dict(info.settings_for(name)) or plugin_service.default_settings(name)))
    return found


def enabled_plugin_labels(actor: Actor) -> list[str]:
    registry = plugin_service.registry()
    return [registry.infos[n].label for n in sorted(plugin_service.enabled_plugins(actor.tenant_id))]


# -- platform administration -------------------------------------------------------------
@dataclass(frozen=True)
class TenantRow:
    tenant: Tenant
    admins: list[User]
    plugins: list[str]


def platform_tenants(actor: Actor) -> list[TenantRow]:
    """Every tenant with its département admins and enabled plugins (platform admin only)."""
    if not actor.is_platform_admin:
        raise PermissionDenied("Réservé à l'administration de la plateforme.")
    with unscoped():
        tenants = list(db.session.scalars(sa.select(Tenant).order_by(Tenant.code)))
        admins: dict[int, list[User]] = {}
        for membership in db.session.scalars(sa.select(Membership).options(sa.orm.joinedload(Membership.user))
                                             .where(Membership.role == Role.DEPT_ADMIN, Membership.active)):
            admins.setdefault(membership.tenant_id, []).append(membership.user)
    return [TenantRow(t, admins.get(t.id, []), sorted(plugin_service.enabled_plugins(t.id))) for t in tenants]


def measure_type_labels(actor: Actor) -> dict[str, str]:
    return {code: d.label for code, d in plugin_service.measure_types(actor.tenant_id).items()}


def commission_labels(actor: Actor) -> dict[str, str]:
    return {code: c.label for code, c in plugin_service.commissions(actor.tenant_id).items()}

