"""The read-only queries behind the pages (asll.services.views): dashboard, pages, sessions."""

from __future__ import annotations

from datetime import timedelta

import pytest

from asll.domain.calendar import today
from asll.extensions import db
from asll.models import Role
from asll.services import measures, requests, views
from asll.services import plugins as plugin_service
from asll.services.actor import Actor
from asll.services.errors import NotFound, PermissionDenied
from asll.tenancy import tenant_context
from asll.toolkit import ObligationDef, PluginInfo, hookimpl


class DeadlinesPlugin:
    """Three obligations on every measure: one soon, one overdue, one far away."""

    @hookimpl
    def asll_plugin_info(self):
        return PluginInfo(name="echeances", label="Échéances d'essai", departement_code="97",
                          departement_name="Essai")

    @hookimpl
    def asll_obligations(self, tenant, measure):
        day = today()
        return [ObligationDef("contrat", "Envoyer le contrat", day + timedelta(days=10), "operator_worker"),
                ObligationDef("avis", "Donner l'avis du service", day - timedelta(days=2), "dept_agent"),
                ObligationDef("lointain", "Évaluation intermédiaire", day + timedelta(days=90), "operator_worker")]


@pytest.fixture
def deadlines(app, app_ctx, world):
    registry = app.extensions["asll_plugins"]
    registry.register(DeadlinesPlugin(), "echeances")
    try:
        plugin_service.set_enabled(Actor.system(), world.loire.tenant.id, "echeances", True)
        with tenant_context(world.loire.tenant.id):
            measures.recompute_obligations(measures.visible_measure(world.loire.actor(Role.DEPT_ADMIN),
                                                                    world.loire.measure.id))
            db.session.commit()
        yield
    finally:
        registry.unregister("echeances")
        plugin_service._forget_cache()


def _labels(rows) -> list[str]:
    return [obligation.label for obligation, _measure in rows]


def test_dashboard_tasks_follow_the_role_and_upcoming_deadlines_the_horizon(deadlines, world):
    loire = world.loire
    with tenant_context(loire.tenant.id):
        operator = views.dashboard(loire.actor(Role.OPERATOR_WORKER))
        assert _labels(operator.my_tasks) == ["Envoyer le contrat", "Évaluation intermédiaire"]
        assert _labels(operator.upcoming) == ["Donner l'avis du service", "Envoyer le contrat"]
        assert operator.counts["overdue"] == 1 and [m.id for m in operator.to_start] == [loire.measure.id]
        agent = views.dashboard(loire.actor(Role.DEPT_AGENT))
        assert _labels(agent.my_tasks) == ["Donner l'avis du service"] and not agent.to_start
        member = views.dashboard(loire.actor(Role.COMMISSION_MEMBER))
        assert member.upcoming == [] and member.counts["measures"] == 0  # members do not follow measures
    with tenant_context(world.orne.tenant.id):
        assert views.dashboard(world.orne.actor(Role.DEPT_ADMIN)).upcoming == []


def test_keyset_pages_stay_within_the_tenant_and_the_actor_rights(app_ctx, world):
    loire = world.loire
    with tenant_context(loire.tenant.id):
        prescriber = loire.actor(Role.PRESCRIBER)
        ids = [requests.create_household(prescriber, {"members": [{"last_name": f"N{n}", "first_name": "A"}]}).id
               for n in range(5)]
        agent = loire.actor(Role.DEPT_AGENT)
        first = views.list_households(agent, limit=4)
        second = views.list_households(agent, after=first.next_after, limit=4)
        assert [h.id for h in first.items] == sorted(ids, reverse=True)[:4]
        assert [h.id for h in second.items] == [min(ids), loire.household.id] and second.next_after is None
        operator = loire.actor(Role.OPERATOR_WORKER)
        assert [h.id for h in views.list_households(operator).items] == [loire.household.id]
        assert views.list_requests(agent, status="draft").items == []
    with tenant_context(world.orne.tenant.id):
        assert [h.id for h in views.list_households(world.orne.actor(Role.DEPT_AGENT)).items] == [
            world.orne.household.id]


def test_sessions_are_for_their_readers_only(app_ctx, world):
    loire = world.loire
    with tenant_context(loire.tenant.id):
        from asll.services import decisions

        session = decisions.create_session(loire.actor(Role.COMMISSION_SECRETARY),
                                           {"commission_code": "loire.clu", "session_date": "2026-03-10"})
        assert views.get_session(loire.actor(Role.AUDITOR), session.id).id == session.id
        for role in (Role.PRESCRIBER, Role.OPERATOR_WORKER):
            with pytest.raises(NotFound):
                views.get_session(loire.actor(role), session.id)
            with pytest.raises(PermissionDenied):
                views.list_sessions(loire.actor(role))
    with tenant_context(world.orne.tenant.id), pytest.raises(NotFound):
        views.get_session(world.orne.actor(Role.COMMISSION_SECRETARY), session.id)


def test_platform_tenants_is_for_the_platform_admin(app_ctx, world):
    from asll.services.users import memberships_of

    admin = Actor.for_user(world.platform_admin, memberships_of(world.platform_admin.id), None)
    rows = {row.tenant.code: row for row in views.platform_tenants(admin)}
    assert [u.email for u in rows["42"].admins] == ["dept_admin.42@test.asll.fr"] and rows["61"].plugins == ["orne"]
    with pytest.raises(PermissionDenied):
        views.platform_tenants(world.loire.actor(Role.DEPT_ADMIN))
