"""Helpers of the exports tests: cases played through the workflow services on a fixed clock,
and an export job of a tenant for the cross-tenant route test.

A :class:`CasePlan` describes a measure's life by dates; :func:`play` turns a list of plans
into service calls (create_household, save_draft, submit, commission session or single
decider, start, prolongation, end) run in date order, the clock moved to each date, so that
the statistics are computed on measures produced exactly as in production.
"""

from __future__ import annotations

import datetime as dt
import os
from collections import defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa

from asll.services import decisions, measures, requests
from asll.services.actor import Actor


def day(value: str) -> dt.date:
    return dt.date.fromisoformat(value)


@dataclass
class CasePlan:
    """One request and, if granted, its measure's dates (ISO strings); ``household`` groups plans
    sharing a household (several measures of one household)."""

    measure_type: str
    decided: str
    started: str | None = None
    ended: str | None = None
    end_reason: str = "term"
    months: int = 6
    prolonged: int = 0  # months of one granted prolongation, requested a month before the planned end
    outcome: str = "granted"
    household: str | None = None
    origin: str = "Travailleur social de circonscription"
    sector: str = "Centre"
    housing_status: str = "public_tenant"
    resources_kind: str = "RSA"
    birth_year: int = 1970
    filed: str | None = None  # defaults to two weeks before the decision
    operator_id: int | None = None  # defaults to Actors.operator_org_id
    prescriber: Actor | None = None  # defaults to Actors.prescriber
    city: str = "Ville"
    last_name: str = ""  # defaults to "Ménage<index>"
    # The département plugin's own inputs (its request fields and transition fields).
    request_extra: dict = field(default_factory=dict)
    start_extra: dict = field(default_factory=dict)
    prolongation_extra: dict = field(default_factory=dict)
    end_extra: dict = field(default_factory=dict)
    ids: dict = field(default_factory=dict)


@dataclass
class Actors:
    prescriber: Actor
    operator: Actor
    decider: Actor  # commission secretary (sessions) or département agent (single decider)
    agent: Actor
    operator_org_id: int
    commission: str | None  # None: the single decider decides alone


def _shift(value: str, days: int) -> str:
    return (day(value) + dt.timedelta(days=days)).isoformat()


def play(plans: list[CasePlan], actors: Actors, clock) -> None:
    """Run every plan through the services, in date order (the clock follows)."""
    events: dict[str, list] = defaultdict(list)
    for index, plan in enumerate(plans):
        filed = plan.filed or _shift(plan.decided, -14)
        events[filed].append((0, "file", index))
        events[plan.decided].append((1, "decide", index))
        if plan.started:
            events[plan.started].append((2, "start", index))
        if plan.prolonged:
            planned_end = measures_end(plan.started, plan.months)
            events[_shift(planned_end, -35)].append((3, "request_prolongation", index))
            events[_shift(planned_end, -28)].append((4, "grant_prolongation", index))
        if plan.ended:
            events[plan.ended].append((5, "end", index))
    households: dict[str, int] = {}
    for when in sorted(events):
        clock.to(when)
        batch = sorted(events[when])
        to_decide = [index for _order, action, index in batch if action == "decide"]
        for _order, action, index in batch:
            plan = plans[index]
            if action == "file":
                key = plan.household or f"#{index}"
                prescriber = plan.prescriber or actors.prescriber
                if key not in households:
                    households[key] = requests.create_household(prescriber, {
                        "city": plan.city, "postcode": "61000", "sector": plan.sector, "address": f"{index} rue Haute",
                        "housing_status": plan.housing_status, "resources_kind": plan.resources_kind,
                        "members": [{"last_name": plan.last_name or f"Ménage{index:04d}", "first_name": "Alex",
                                     "birth_date": f"{plan.birth_year}-06-15", "is_reference": True}]}).id
                plan.ids["household"] = households[key]
                draft = requests.save_draft(prescriber, {
                    "household_id": households[key], "measure_type": plan.measure_type, "origin": plan.origin,
                    "diagnostic": DIAGNOSTIC, "consent_given_by": "Le ménage", "consent_date": filed_on(plan),
                    "extra": dict(plan.request_extra)})
                plan.ids["request"] = requests.submit(prescriber, draft.id).id
            elif action == "decide" and index == to_decide[0]:
                _decide(when, [plans[i] for i in to_decide], actors)
            elif action == "start":
                measures.transition(actors.operator, plan.ids["measure"], "start",
                                    {"start_date": when, "extra": dict(plan.start_extra)})
            elif action == "request_prolongation":
                measures.transition(actors.operator, plan.ids["measure"], "request_prolongation",
                                    {"request_date": when, "months": plan.prolonged,
                                     "reason": "Relogement en cours, accompagnement à poursuivre."})
            elif action == "grant_prolongation":
                measures.transition(actors.agent, plan.ids["measure"], "grant_prolongation",
                                    {"decision_date": when, "opinion": "Favorable",
                                     "extra": dict(plan.prolongation_extra)})
            elif action == "end":
                measures.transition(actors.operator, plan.ids["measure"], "end",
                                    {"end_date": when, "reason": plan.end_reason, "extra": dict(plan.end_extra)})


def filed_on(plan: CasePlan) -> str:
    return plan.filed or _shift(plan.decided, -14)


def measures_end(start: str, months: int) -> str:
    from asll.domain.calendar import add_months

    return add_months(day(start), months).isoformat()


def _decision(plan: CasePlan, actors: Actors) -> dict:
    if plan.outcome == "granted":
        return {"outcome": "granted", "duration_months": plan.months,
                "operator_id": plan.operator_id or actors.operator_org_id}
    return {"outcome": plan.outcome, "reason": "Hors critères du dispositif."}


def _decide(when: str, batch: list[CasePlan], actors: Actors) -> None:
    if actors.commission is None:
        for plan in batch:
            decision = decisions.decide_alone(actors.decider, plan.ids["request"],
                                              {**_decision(plan, actors), "decision_date": when})
            plan.ids["measure"] = decision.measure_id
        return
    session = decisions.create_session(actors.decider, {"commission_code": actors.commission, "session_date": when})
    decisions.build_agenda(actors.decider, session.id, [plan.ids["request"] for plan in batch])
    recorded = decisions.decide_in_session(actors.decider, session.id,
                                           {plan.ids["request"]: _decision(plan, actors) for plan in batch})
    by_request = {decision.request_id: decision for decision in recorded}
    for plan in batch:
        plan.ids["measure"] = by_request[plan.ids["request"]].measure_id


DIAGNOSTIC = {
    "family_situation": "Personne seule.",
    "administrative_situation": "Droits ouverts.",
    "financial_situation": "Minima sociaux, dette de loyer.",
    "housing_conditions": "Logement trop cher.",
    "housing_path": "Locataire depuis dix ans.",
    "difficulties": "Gestion du budget.",
    "strengths": "Adhère à l'accompagnement.",
    "steps_taken": "Dossier FSL déposé.",
    "objectives": "Se maintenir dans le logement.",
}


def export_job_of(tenant_world) -> int:
    """An export job of ``tenant_world``'s tenant (for tests/core/test_cross_tenant.py).

    Inserted on its own connection from the test environment's ``DATABASE_URL``, because the
    cross-tenant test builds its URLs outside any application context.
    """
    from asll.models import Role
    from asll.models.base import utcnow
    from asll.models.exports import ExportJob

    engine = sa.create_engine(os.environ["DATABASE_URL"])
    try:
        with engine.begin() as connection:
            table = ExportJob.__table__
            now = utcnow()
            result = connection.execute(table.insert().values(
                tenant_id=tenant_world.tenant.id, user_id=tenant_world.users[Role.DEPT_ADMIN].id, kind="export",
                dataset="measures", file_format="csv", pseudonymised=False, columns=["reference"], filters={},
                status="done", progress_done=1, progress_total=1, row_count=1, error="",
                scope={"roles": ["dept_admin"], "organisation_ids": []},
                files={"csv": {"key": f"{tenant_world.tenant.id}/{'0' * 32}.csv", "filename": "export.csv",
                               "size": 1, "sha256": ""}},
                created_at=now, finished_at=now, expires_at=now + dt.timedelta(days=1)))
            return result.inserted_primary_key[0]
    finally:
        engine.dispose()


def extra_member(tenant_id: int, organisation: str, kind: str, role) -> tuple[int, Actor]:
    """A new organisation of the tenant with one user of ``role`` in it (through the services)."""
    from asll.extensions import db
    from asll.plugins.contract import OrganisationSpec
    from asll.services import tenants, users

    system = Actor.system(tenant_id)
    org = tenants.create_organisation(system, OrganisationSpec(name=organisation, kind=kind, sectors=("Roannais",),
                                                               capacity=12 if kind == "operator" else None))
    # Not "<role>.<code INSEE>@", the factory's accounts: on PostgreSQL ids go on growing across
    # tests, so an organisation numbered 42 gave the Loire prescriber's address again.
    user = users.create_user(Actor.system(), {"email": f"{kind}.org-{org.id}@test.asll.fr",
                                              "full_name": organisation, "password": "mot-de-passe-de-test-2026"})
    users.add_membership(system, user, tenant_id, role, org.id)
    db.session.commit()
    return org.id, Actor.for_user(user, users.memberships_of(user.id), tenant_id)


@dataclass
class LoireCases:
    world: object
    tenant_id: int
    plans: list[CasePlan]
    operator_id: int
    other_operator_id: int
    other_worker: Actor
    other_prescriber: Actor
    clock: object

    def actor(self, role) -> Actor:
        return self.world.loire.actor(role)

    def references(self) -> dict[str, str]:
        """Measure reference of each granted case, by the household's last name."""
        from asll.extensions import db
        from asll.models import Measure

        return {plan.last_name: db.session.scalar(sa.select(Measure.reference).where(
            Measure.id == plan.ids["measure"])) for plan in self.plans if plan.ids.get("measure")}
