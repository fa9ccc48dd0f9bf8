"""N identical API calls with one Idempotency-Key, released at once (a client retrying on timeout):
exactly one effect, and N identical answers.

Each thread is its own API client (its own test client, app context, session and database
connection), as N retries reaching N server threads would be. The key alone must make the
call happen once: the services' own serialisation is not relied upon here.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from asll.extensions import db
from asll.models import AuditEvent, Decision, Household, IdempotencyKey, IdempotencyState, Measure, Role
from asll.services import api_tokens, audit
from asll.tenancy import tenant_context, unscoped
from tests.api.conftest import PREFIX, plugin_enabled
from tests.api.test_idempotency import HOUSEHOLD, SUSPEND, running_measure, scheduled_request, suspensions
from tests.concurrency.conftest import N, release, statuses
from tests.conftest import login
from tests.factories import PASSWORD

KEY = "b7e1c3d2-9f40-4a6b-8c5d-1e2f3a4b5c6d"


@pytest.fixture
def test_plugin(app, world):
    with plugin_enabled(app, world.loire.tenant.id) as plugin:
        yield plugin


def token_of(app, tenant_world, role) -> dict:
    """The headers of one API client retrying: its token and its key."""
    with app.app_context():
        _token, secret = api_tokens.create_token(tenant_world.actor(role), {"label": "client qui réessaie"})
        db.session.remove()
    return {"Authorization": f"Bearer {secret}", "Idempotency-Key": KEY}


def retries(app, path: str, body: dict, headers: dict, n: int = N) -> list:
    """``n`` identical POSTs released together, each from its own client."""
    clients = [app.test_client() for _ in range(n)]
    return release(n, lambda i: clients[i].post(PREFIX + path, json=body, headers=headers))


def assert_identical(responses, status: int) -> None:
    assert statuses(responses) == {status: len(responses)}, [r.get_json() for r in responses]
    assert len({r.get_data() for r in responses}) == 1
    # One of them ran the call, the others were given its answer.
    assert sorted(r.headers.get("Idempotent-Replayed", "") for r in responses) == [""] + ["true"] * (len(responses) - 1)


def audit_count(app, tenant_id: int, action: str, object_id: int) -> int:
    with app.app_context(), tenant_context(tenant_id):
        count = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
            AuditEvent.action == action, AuditEvent.object_id == object_id))
        db.session.remove()
    return count


def assert_chain_intact_and_one_key(app, tenant_id: int, status: int) -> None:
    with app.app_context():
        assert audit.verify_chain(tenant_id) == []
        with unscoped():
            keys = db.session.execute(sa.select(IdempotencyKey.state, IdempotencyKey.status_code)).all()
        db.session.remove()
    assert [tuple(k) for k in keys] == [(IdempotencyState.DONE, status)]


@pytest.fixture(params=["refused", "granted"])
def outcome(request):
    return request.param


def test_n_retries_of_a_session_decision_record_it_once(app, world, clock, test_plugin, outcome):
    loire = world.loire
    session_id, request_id = scheduled_request(app, loire)
    clock.to("2026-03-10", 16)
    decision = {"request_id": request_id, "outcome": outcome}
    decision.update({"reason": "Ressources suffisantes."} if outcome == "refused" else {"duration_months": 6})
    headers = token_of(app, loire, Role.COMMISSION_SECRETARY)

    responses = retries(app, f"/sessions/{session_id}/decisions", {"decisions": [decision]}, headers)

    assert_identical(responses, 201)
    [recorded] = responses[0].get_json()
    assert recorded["outcome"] == outcome
    with app.app_context(), tenant_context(loire.tenant.id):
        rows = db.session.scalars(sa.select(Decision.id).where(Decision.request_id == request_id)).all()
        granted = db.session.scalars(sa.select(Measure.id).where(Measure.request_id == request_id)).all()
        db.session.remove()
    assert rows == [recorded["id"]]
    assert granted == ([recorded["measure_id"]] if outcome == "granted" else [])
    assert audit_count(app, loire.tenant.id, "request.decide", request_id) == 1
    assert_chain_intact_and_one_key(app, loire.tenant.id, 201)


def test_n_retries_of_a_suspension_suspend_once(app, world, clock, test_plugin):
    loire = world.loire
    measure_id = running_measure(app, loire, clock)
    headers = token_of(app, loire, Role.DEPT_AGENT)

    responses = retries(app, f"/measures/{measure_id}/transitions/suspend", SUSPEND, headers)

    assert_identical(responses, 200)
    assert responses[0].get_json()["measure"]["status"] == "suspended"
    assert suspensions(app, loire.tenant.id, measure_id) == (1, 1)
    assert_chain_intact_and_one_key(app, loire.tenant.id, 200)


def test_n_retries_from_the_site_session_create_one_household(app, world, burst, clock):
    """The session's key space (user and département), through the same burst of one browser's clones."""
    loire = world.loire
    browser = app.test_client()
    login(browser, loire.users[Role.DEPT_ADMIN].email, PASSWORD)
    headers = {"X-CSRFToken": browser.get(f"{PREFIX}/me").get_json()["csrf_token"], "Idempotency-Key": KEY}

    responses = burst(browser, lambda clone: clone.post(f"{PREFIX}/households", json=HOUSEHOLD, headers=headers))

    assert_identical(responses, 201)
    created = responses[0].get_json()
    with app.app_context(), tenant_context(loire.tenant.id):
        references = db.session.scalars(sa.select(Household.reference).order_by(Household.id)).all()
        db.session.remove()
    assert references == [loire.household.reference, created["reference"]]
    assert audit_count(app, loire.tenant.id, "household.create", created["id"]) == 1
    assert_chain_intact_and_one_key(app, loire.tenant.id, 201)
