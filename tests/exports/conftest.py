"""Fixtures of the exports tests: Loire cases to export and a real worker when a test needs one
(the fixed clock, the in-process Celery and the file folders come from tests/conftest.py)."""

from __future__ import annotations

import pytest

LOIRE_EXTRA = {"imprime_42": True, "fiche_asll": True}


@pytest.fixture
def loire(app, app_ctx, world, clock, eager, folders):
    """A few Loire cases played through the services, run in the Loire's tenant context.

    Two operators (the world's and a second one with its own social worker) and two
    prescriber organisations, so that visibility differs by role and organisation. The Orne
    keeps the factory's measure (another tenant's data that must never leak).
    """
    from asll.models import OrganisationKind, Role
    from asll.tenancy import tenant_context
    from tests.exports.support import Actors, CasePlan, LoireCases, extra_member, play

    loire_world = world.loire
    tenant_id = loire_world.tenant.id
    with tenant_context(tenant_id):
        other_operator, other_worker = extra_member(tenant_id, "Seconde association", "operator",
                                                     Role.OPERATOR_WORKER)
        other_office, other_prescriber = extra_member(tenant_id, "CCAS de Roanne", "prescriber", Role.PRESCRIBER)
        operator_id = loire_world.orgs[OrganisationKind.OPERATOR].id
        actors = Actors(prescriber=loire_world.actor(Role.PRESCRIBER), operator=loire_world.actor(Role.DEPT_AGENT),
                        decider=loire_world.actor(Role.COMMISSION_SECRETARY), agent=loire_world.actor(Role.DEPT_AGENT),
                        operator_org_id=operator_id, commission="loire.clu")

        def case(**kwargs):
            return CasePlan(measure_type=kwargs.pop("measure_type", "loire.acces"), request_extra=LOIRE_EXTRA,
                            **kwargs)

        plans = [
            case(decided="2026-01-13", started="2026-01-26", last_name="Bernard", city="Saint-Étienne",
                 sector="Ondaine"),
            case(decided="2026-01-13", started="2026-02-02", ended="2026-05-04", measure_type="loire.maintien",
                 last_name="Petit", city="=HYPERLINK(\"http://exemple.invalid\")", sector="Forez"),
            case(decided="2026-02-10", started="2026-02-23", operator_id=other_operator, last_name="Moreau",
                 city="Roanne", sector="Roannais", prescriber=other_prescriber),
            case(decided="2026-02-10", operator_id=other_operator, last_name="Garnier", city="Roanne",
                 sector="Roannais", prescriber=other_prescriber, measure_type="loire.diagnostic"),
            case(decided="2026-02-10", outcome="refused", last_name="Roux", city="Firminy", sector="Ondaine"),
        ]
        play(plans, actors, clock)
        clock.to("2026-06-15")
        yield LoireCases(world=world, tenant_id=tenant_id, plans=plans, operator_id=operator_id,
                         other_operator_id=other_operator, other_worker=other_worker,
                         other_prescriber=other_prescriber, clock=clock)


@pytest.fixture
def celery_worker(app, app_env, tmp_path):
    """A real Celery worker subprocess (``asll_tasks.worker``), stopped whatever happens.

    The same fixture as ``tests/tasks/conftest.py`` (fixtures there are not visible here)."""
    from tests.tasks.worker_process import CeleryWorkerProcess

    worker = CeleryWorkerProcess(tmp_path / "celery-worker", celery_app=app.extensions["celery"])
    try:
        worker.start(purge=True)
        yield worker
    finally:
        worker.stop()
        if worker.log_path is not None:
            print(worker.log_tail())


REDIS_ONLY = "redis_broker"


def pytest_configure(config):
    config.addinivalue_line("markers", f"{REDIS_ONLY}: needs Redis as the Celery broker (collected with REDIS_URL)")


def pytest_collection_modifyitems(config, items):
    """Without ``REDIS_URL`` (the embedded run) a Redis-only test is deselected at collection,
    never skipped at run time: CI's second run, on PostgreSQL + Redis, runs it."""
    import os

    if os.environ.get("REDIS_URL") or os.environ.get("CELERY_BROKER_URL", "").startswith(("redis://", "rediss://")):
        return
    deselected = [item for item in items if item.get_closest_marker(REDIS_ONLY)]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if not item.get_closest_marker(REDIS_ONLY)]
