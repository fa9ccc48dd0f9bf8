"""API idempotency: a retry with the same ``Idempotency-Key`` gets the first answer and changes nothing.

One client at a time here; simultaneous retries are tests/concurrency/test_api_idempotency.py.
Cases are built through the services (the test plugin's circuit), with the fixed clock.
"""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from asll.extensions import db
from asll.models import AuditEvent, Household, IdempotencyKey, IdempotencyState, MeasureEvent, OrganisationKind, Role
from asll.models.api import ApiToken
from asll.services import decisions, idempotency, measures, requests
from asll.tenancy import tenant_context, unscoped
from asll_tasks.maintenance import purge_idempotency_keys
from tests.api.conftest import ApiClient, ApiTestPlugin
from tests.conftest import login
from tests.core.workflow_support import DIAGNOSTIC
from tests.factories import PASSWORD

KEY = "5f0c7a9e-2b1d-4c8e-9a37-0d6e1f2b3c4d"
SUSPEND = {"from_date": "2026-04-02", "reason": "Hospitalisation."}
HOUSEHOLD = {"city": "Saint-Étienne", "members": [{"last_name": "Durand", "first_name": "Ana"}]}


# -- cases built through the services (also used by the concurrency tests) ------------------
def scheduled_request(app, loire) -> tuple[int, int]:
    """A complete request of the test plugin on the agenda of a planned session: (session id, request id)."""
    with app.app_context(), tenant_context(loire.tenant.id):
        prescriber, secretary = loire.actor(Role.PRESCRIBER), loire.actor(Role.COMMISSION_SECRETARY)
        draft = requests.save_draft(prescriber, {
            "household_id": loire.household.id, "measure_type": ApiTestPlugin.ACCES, "diagnostic": DIAGNOSTIC,
            "consent_given_by": "Léa Martin", "consent_date": "2026-03-01"})
        requests.submit(prescriber, draft.id)
        session = decisions.create_session(secretary, {"commission_code": ApiTestPlugin.COMMISSION,
                                                       "session_date": "2026-03-10"})
        decisions.build_agenda(secretary, session.id)
        ids = session.id, draft.id
        db.session.remove()
    return ids


def running_measure(app, loire, clock) -> int:
    """A granted, started measure with its action plan (status running), ready to be suspended."""
    session_id, request_id = scheduled_request(app, loire)
    with app.app_context(), tenant_context(loire.tenant.id):
        secretary, operator = loire.actor(Role.COMMISSION_SECRETARY), loire.actor(Role.OPERATOR_WORKER)
        clock.to("2026-03-10", 16)
        [decision] = decisions.decide_in_session(secretary, session_id, {request_id: {
            "outcome": "granted", "duration_months": 6, "operator_id": loire.orgs[OrganisationKind.OPERATOR].id}})
        clock.to("2026-03-16")
        measures.transition(operator, decision.measure_id, "start", {"start_date": "2026-03-16"})
        clock.to("2026-04-01")
        measures.transition(operator, decision.measure_id, "record_action_plan",
                            {"plan_date": "2026-04-01", "objectives": "Trouver un T3."})
        measure_id = decision.measure_id
        db.session.remove()
    return measure_id


def suspensions(app, tenant_id: int, measure_id: int) -> tuple[int, int]:
    """(timeline events, audit entries) of the measure's suspension."""
    with app.app_context(), tenant_context(tenant_id):
        events = db.session.scalar(sa.select(sa.func.count()).select_from(MeasureEvent).where(
            MeasureEvent.measure_id == measure_id, MeasureEvent.transition == "suspend"))
        entries = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "measure.suspend", AuditEvent.object_id == measure_id))
        db.session.remove()
    return events, entries


def households(app, tenant_id: int) -> list[str]:
    with app.app_context(), tenant_context(tenant_id):
        names = list(db.session.scalars(sa.select(Household.reference).order_by(Household.id)))
        db.session.remove()
    return names


def stored_keys(app) -> list[tuple[str, str, IdempotencyState, int | None]]:
    with app.app_context(), unscoped():
        rows = [tuple(r) for r in db.session.execute(
            sa.select(IdempotencyKey.owner, IdempotencyKey.client_key, IdempotencyKey.state,
                      IdempotencyKey.status_code).order_by(IdempotencyKey.id))]
        db.session.remove()
    return rows


def keyed(key: str = KEY) -> dict:
    return {"headers": {"Idempotency-Key": key}}


def token_ids(app, tenant_id: int) -> list[int]:
    with app.app_context(), tenant_context(tenant_id):
        ids = list(db.session.scalars(sa.select(ApiToken.id).order_by(ApiToken.id)))
        db.session.remove()
    return ids


# -- the retry ---------------------------------------------------------------------------
def test_a_retry_gets_the_first_answer_and_changes_nothing(app, world, api_as, clock, test_plugin):
    loire = world.loire
    measure_id = running_measure(app, loire, clock)
    agent = api_as(loire, Role.DEPT_AGENT)

    first = agent.post(f"/measures/{measure_id}/transitions/suspend", json=SUSPEND, **keyed())
    assert first.status_code == 200, first.get_json()
    assert first.get_json()["measure"]["status"] == "suspended"
    assert "Idempotent-Replayed" not in first.headers
    retry = agent.post(f"/measures/{measure_id}/transitions/suspend", json=SUSPEND, **keyed())
    assert (retry.status_code, retry.get_data()) == (200, first.get_data())
    assert retry.headers["Idempotent-Replayed"] == "true" and retry.mimetype == "application/json"
    assert suspensions(app, loire.tenant.id, measure_id) == (1, 1)

    # Without a key, the same call is a new one: refused, as the measure is suspended already.
    again = agent.post(f"/measures/{measure_id}/transitions/suspend", json=SUSPEND)
    assert again.status_code in (400, 409) and "Idempotent-Replayed" not in again.headers
    assert suspensions(app, loire.tenant.id, measure_id) == (1, 1)


def test_a_created_object_is_created_once_and_a_refusal_is_replayed_too(app, world, api_as, clock):
    loire = world.loire
    admin = api_as(loire, Role.DEPT_ADMIN)
    created = admin.post("/households", json=HOUSEHOLD, **keyed())
    assert created.status_code == 201, created.get_json()
    replayed = admin.post("/households", json=HOUSEHOLD, **keyed())
    assert (replayed.status_code, replayed.get_json()) == (201, created.get_json())
    assert households(app, loire.tenant.id) == [loire.household.reference, created.get_json()["reference"]]

    # A 4xx answer is the answer too: its retry gets it again, without the body being re-read.
    refused = admin.post("/households", json={"members": []}, **keyed("refus-1"))
    assert refused.status_code == 422
    assert admin.post("/households", json={"members": []}, **keyed("refus-1")).get_json() == refused.get_json()
    assert len(households(app, loire.tenant.id)) == 2


def test_the_quoted_form_of_the_draft_is_the_same_key(app, world, api_as, clock):
    admin = api_as(world.loire, Role.DEPT_ADMIN)
    created = admin.post("/households", json=HOUSEHOLD, **keyed(f'"{KEY}"'))
    replayed = admin.post("/households", json=HOUSEHOLD, **keyed(KEY))
    assert created.status_code == 201 and replayed.headers["Idempotent-Replayed"] == "true"
    assert replayed.get_json() == created.get_json()
    assert [k[1] for k in stored_keys(app)] == [KEY]


# -- refusals ----------------------------------------------------------------------------
def test_the_same_key_for_another_request_is_refused_in_french(app, world, api_as, clock):
    loire = world.loire
    admin = api_as(loire, Role.DEPT_ADMIN)
    assert admin.post("/households", json=HOUSEHOLD, **keyed()).status_code == 201

    other_body = admin.post("/households", json={**HOUSEHOLD, "city": "Roanne"}, **keyed())
    assert other_body.status_code == 422
    body = other_body.get_json()
    assert body["code"] == "cle_idempotence_reutilisee"
    assert body["message"] == ("Cette clé d'idempotence a déjà servi pour une autre requête (autre adresse, méthode "
                               "ou contenu) : une nouvelle opération demande une nouvelle clé.")
    assert body["errors"] == {"Idempotency-Key": [body["message"]]}

    other_endpoint = admin.post("/requests", json={"household_id": loire.household.id,
                                                   "measure_type": "loire.acces"}, **keyed())
    assert (other_endpoint.status_code, other_endpoint.get_json()["code"]) == (422, "cle_idempotence_reutilisee")
    token_revoke = admin.delete(f"/tokens/{token_ids(app, loire.tenant.id)[0]}", **keyed())  # another method
    assert (token_revoke.status_code, token_revoke.get_json()["code"]) == (422, "cle_idempotence_reutilisee")
    assert len(households(app, loire.tenant.id)) == 2  # the world's and the first call's
    with app.app_context(), tenant_context(loire.tenant.id):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "request.create")) == 0
        db.session.remove()


def test_malformed_keys_are_refused_in_french_and_nothing_is_done(app, world, api_as, clock):
    loire = world.loire
    admin = api_as(loire, Role.DEPT_ADMIN)
    for bad in ("", "   ", "a b", "x" * 256, "clé", '"ouvert', "a,b", 'a"b', "a\\b"):
        response = admin.post("/households", json=HOUSEHOLD, **keyed(bad))
        assert response.status_code == 400, bad
        assert response.get_json()["code"] == "cle_idempotence_invalide", bad
        assert response.get_json()["errors"]["Idempotency-Key"] == [idempotency.INVALID_KEY], bad
    assert response.get_json()["message"].startswith("L'en-tête Idempotency-Key doit contenir de 1 à 255 caractères")
    two = admin.client.post("/api/v1/households", json=HOUSEHOLD, headers=[  # joined as "a, b" on the way in
        ("Authorization", admin.headers["Authorization"]), ("Idempotency-Key", "a"), ("Idempotency-Key", "b")])
    assert (two.status_code, two.get_json()["code"]) == (400, "cle_idempotence_invalide")
    longest = admin.post("/households", json=HOUSEHOLD, **keyed("x" * 255))
    assert longest.status_code == 201
    assert len(households(app, loire.tenant.id)) == 2
    # A read ignores the header (it changes nothing to begin with).
    assert admin.get("/households", **keyed("a b")).status_code == 200


def test_a_key_still_being_processed_answers_409_then_is_taken_over_when_abandoned(app, world, api_as, clock,
                                                                                    monkeypatch):
    """A claim left pending (a request in flight, or one whose process died) makes its retry wait, then 409."""
    loire = world.loire
    admin = api_as(loire, Role.DEPT_ADMIN)
    body = json.dumps(HOUSEHOLD).encode()
    owner = f"token:{token_ids(app, loire.tenant.id)[-1]}"
    monkeypatch.setitem(app.config, "IDEMPOTENCY_WAIT_SECONDS", 0.3)  # the retry's bounded wait, shortened
    monkeypatch.setitem(app.config, "IDEMPOTENCY_PENDING_SECONDS", 3600)  # a lease the fixed clock steps through
    with app.app_context():  # the first request claims the key and is still running
        claim = idempotency.begin(loire.tenant.id, owner, KEY,
                                  idempotency.fingerprint("POST", "/api/v1/households", b"", body))
        db.session.remove()
    assert isinstance(claim, idempotency.Claim)

    def retry():
        return admin.post("/households", data=body, content_type="application/json", **keyed())

    busy = retry()
    assert busy.status_code == 409 and busy.headers["Retry-After"] == "1"
    assert busy.get_json()["code"] == "requete_en_cours"
    assert busy.get_json()["message"] == ("Une requête avec la même clé d'idempotence est en cours de traitement ; "
                                          "réessayez dans quelques secondes.")
    clock.to("2026-03-02", 10)  # one hour: the lease is not over yet
    assert retry().status_code == 409
    assert len(households(app, loire.tenant.id)) == 1

    clock.to("2026-03-02", 11)  # the claiming process is gone: the next retry runs the call
    taken = retry()
    assert taken.status_code == 201 and "Idempotent-Replayed" not in taken.headers
    assert retry().get_json() == taken.get_json()
    assert len(households(app, loire.tenant.id)) == 2
    assert stored_keys(app) == [(owner, KEY, IdempotencyState.DONE, 201)]


# -- whose key ---------------------------------------------------------------------------
def test_keys_belong_to_their_token_or_session(app, world, api_as, client, clock):
    loire = world.loire
    first, second = api_as(loire, Role.DEPT_ADMIN), api_as(loire, Role.DEPT_ADMIN)  # two tokens of one user
    agent = api_as(loire, Role.DEPT_AGENT)
    orne = api_as(world.orne, Role.DEPT_ADMIN)
    answers = [c.post("/households", json=HOUSEHOLD, **keyed()) for c in (first, second, agent, orne)]
    assert [a.status_code for a in answers] == [201, 201, 201, 201]
    assert len({a.get_json()["id"] for a in answers}) == 4
    assert not any("Idempotent-Replayed" in a.headers for a in answers)

    # The site's session: its own key space, per user and département, with the CSRF header.
    browser = app.test_client()
    login(browser, loire.users[Role.DEPT_ADMIN].email, PASSWORD)
    csrf = browser.get("/api/v1/me").get_json()["csrf_token"]
    session_api = ApiClient(browser, headers={"X-CSRFToken": csrf})
    by_session = session_api.post("/households", json=HOUSEHOLD, **keyed())
    assert by_session.status_code == 201 and "Idempotent-Replayed" not in by_session.headers
    replayed = session_api.post("/households", json=HOUSEHOLD, **keyed())
    assert replayed.headers["Idempotent-Replayed"] == "true" and replayed.get_json() == by_session.get_json()
    assert len(households(app, loire.tenant.id)) == 5  # the world's, three by tokens, one by the session
    assert len(households(app, world.orne.tenant.id)) == 2
    owners = sorted(k[0].split(":")[0] for k in stored_keys(app))
    assert owners == ["token"] * 4 + ["user"]


# -- expiry ------------------------------------------------------------------------------
def test_a_key_is_kept_24_hours_then_purged_and_runs_anew(app, world, api_as, clock):
    loire = world.loire
    admin = api_as(loire, Role.DEPT_ADMIN)
    first = admin.post("/households", json=HOUSEHOLD, **keyed())  # 2 March, 9:00
    clock.to("2026-03-03", 8)
    assert purge_idempotency_keys() == 0
    assert admin.post("/households", json=HOUSEHOLD, **keyed()).get_json() == first.get_json()

    clock.to("2026-03-03", 10)
    assert purge_idempotency_keys() == 1
    assert stored_keys(app) == []
    anew = admin.post("/households", json=HOUSEHOLD, **keyed())
    assert anew.status_code == 201 and anew.get_json()["id"] != first.get_json()["id"]
    assert len(households(app, loire.tenant.id)) == 3
    # Even before the hourly purge, a key older than 24 hours counts as new.
    clock.to("2026-03-04", 11)
    later = admin.post("/households", json=HOUSEHOLD, **keyed())
    assert later.status_code == 201 and later.get_json()["id"] != anew.get_json()["id"]
    assert len(stored_keys(app)) == 1
    assert app.extensions["celery"].conf.beat_schedule["idempotency-purge"]["task"] == "asll.idempotency.purge"


# -- failures are not remembered -----------------------------------------------------------
def test_a_server_error_is_not_stored_and_the_retry_runs(app, world, api_as, clock, test_plugin, monkeypatch):
    loire = world.loire
    measure_id = running_measure(app, loire, clock)
    agent = api_as(loire, Role.DEPT_AGENT)
    real, calls = measures.transition, []

    def failing_once(*args, **kwargs):
        calls.append(args[2])
        if len(calls) == 1:
            raise RuntimeError("panne simulée avant tout enregistrement")
        return real(*args, **kwargs)

    monkeypatch.setattr(measures, "transition", failing_once)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)  # as in production: a JSON 500
    failed = agent.post(f"/measures/{measure_id}/transitions/suspend", json=SUSPEND, **keyed())
    assert failed.status_code == 500 and failed.get_json()["code"] == "erreur_interne"
    assert stored_keys(app) == []
    retried = agent.post(f"/measures/{measure_id}/transitions/suspend", json=SUSPEND, **keyed())
    assert retried.status_code == 200 and "Idempotent-Replayed" not in retried.headers
    assert calls == ["suspend", "suspend"]
    assert suspensions(app, loire.tenant.id, measure_id) == (1, 1)
    assert [k[2:] for k in stored_keys(app)] == [(IdempotencyState.DONE, 200)]


def test_an_exception_escaping_the_view_releases_the_key(app, world, api_as, clock, monkeypatch):
    """In tests the exception reaches the client (no after_request): the teardown forgets the claim."""
    admin = api_as(world.loire, Role.DEPT_ADMIN)
    real = requests.create_household

    def broken(*args, **kwargs):
        raise RuntimeError("panne simulée")

    monkeypatch.setattr(requests, "create_household", broken)
    with pytest.raises(RuntimeError):
        admin.post("/households", json=HOUSEHOLD, **keyed())
    assert stored_keys(app) == []
    monkeypatch.setattr(requests, "create_household", real)
    assert admin.post("/households", json=HOUSEHOLD, **keyed()).status_code == 201
    assert len(households(app, world.loire.tenant.id)) == 2


# -- documentation -----------------------------------------------------------------------
def test_the_header_is_documented_on_every_state_changing_operation(client):
    document = client.get("/api/v1/openapi.json").get_json()
    parameter = document["components"]["parameters"]["IdempotencyKey"]
    assert (parameter["name"], parameter["in"], parameter["required"]) == ("Idempotency-Key", "header", False)
    assert "422" in parameter["description"] and "24 heures" in parameter["description"]
    reference = {"$ref": "#/components/parameters/IdempotencyKey"}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method == "parameters":  # the path's own (its ids), not an operation
                continue
            keyed_here = reference in operation.get("parameters", [])
            if (path, method) == ("/api/v1/tokens", "post"):
                assert not keyed_here  # refused there: see the next test
            elif method in ("post", "put", "patch", "delete"):
                assert keyed_here, f"{method} {path}"
            elif method == "get":
                assert not keyed_here, f"{method} {path}"


def test_a_token_creation_refuses_a_key_rather_than_store_its_secret(app, world, api_as):
    admin = api_as(world.loire, Role.DEPT_ADMIN)
    refused = admin.post("/tokens", json={"label": "script"}, **keyed())
    assert refused.status_code == 400
    assert refused.get_json()["code"] == "cle_idempotence_non_acceptee"
    assert "secret du jeton" in refused.get_json()["message"]
    assert len(token_ids(app, world.loire.tenant.id)) == 1 and stored_keys(app) == []
    created = admin.post("/tokens", json={"label": "script"})
    assert created.status_code == 201 and created.get_json()["token"].startswith("asll_")
