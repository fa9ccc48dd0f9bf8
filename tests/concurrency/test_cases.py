"""Ten clicks at once on one decision, agenda, transition or document: one effect, nine French 409s.

Each test builds a case through the services (the fake département of the workflow
tests), logs in through the real form, then releases N clients at once on the same page
form, carrying the version the page showed, as N tabs or a double click would. It counts
what the database holds afterwards: rows, timeline events, audit entries, obligations,
documents, and checks that the audit chain is intact.
"""

from __future__ import annotations

import html
from collections import Counter

import pytest
import sqlalchemy as sa

from asll.domain import machine
from asll.extensions import db
from asll.models import (
    AgendaItem,
    AuditEvent,
    CommissionSession,
    Decision,
    Document,
    Measure,
    MeasureEvent,
    Obligation,
    Request,
    RequestStatus,
    Role,
    SessionStatus,
)
from asll.services import audit, decisions, measures
from tests.concurrency.conftest import N, clone_client, release, statuses
from tests.conftest import csrf_token, login
from tests.core.workflow_support import (  # noqa: F401  (env and wf are fixtures)
    CLU,
    SHORT,
    VALID_INPUT,
    env,
    granted_measure,
    started_measure,
    submitted_request,
    wf,
)

CHANGED = "par quelqu'un d'autre ; rechargez la page."


def logged_in(app, env, role: Role):
    """A client logged in as ``role`` of the Loire, and the CSRF token its forms carry.

    Logged in from another thread: this one holds the test's app context, whose ``g``
    the client's requests would share (Flask-WTF keeps the CSRF token there).
    """
    db.session.commit()  # the test's own session holds nothing while the clients write

    def log_in(_index):
        client = app.test_client()
        assert login(client, env.world.loire.users[role].email, env.world.password).status_code == 302
        client.csrf = csrf_token(client.get("/tableau-de-bord").get_data(as_text=True))
        return client

    [client] = release(1, log_in)
    return client


def count(model, *criteria) -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*criteria))


def audited(action: str, object_id: int | None = None) -> int:
    criteria = [AuditEvent.action == action]
    if object_id is not None:
        criteria.append(AuditEvent.object_id == object_id)
    return count(AuditEvent, *criteria)


def one_winner(responses, winner_status: int = 302) -> None:
    """Exactly one success; every other answer is the French 409, none is a 500."""
    assert statuses(responses) == Counter({winner_status: 1, 409: N - 1}), statuses(responses)
    for response in responses:
        if response.status_code == 409:
            assert CHANGED in text(response), text(response)


def text(response) -> str:
    """The page's text as a reader sees it (entities decoded)."""
    return html.unescape(response.get_data(as_text=True))


def chain_intact(env) -> None:
    assert audit.verify_chain(env.tenant_id) == []


def version(model, object_id: int) -> int:
    db.session.expire_all()
    return db.session.get(model, object_id).version


# -- decisions ---------------------------------------------------------------------------
@pytest.mark.parametrize("outcome", ["refused", "granted"])
def test_a_single_decider_clicking_ten_times_records_one_decision(app, env, burst, outcome):
    request_id = submitted_request(env, measure_type=SHORT, extra={"numero_allocataire": "4200123"})
    client = logged_in(app, env, Role.DEPT_AGENT)
    form = {"outcome": outcome, "reason": "Ressources suffisantes." if outcome == "refused" else "",
            "decision_date": "2026-03-05", "operator_id": str(env.operator_org_id) if outcome == "granted" else "",
            "version": str(version(Request, request_id)), "csrf_token": client.csrf}

    responses = burst(client, lambda c: c.post(f"/demandes/{request_id}/decision", data=form))

    one_winner(responses)
    assert count(Decision, Decision.request_id == request_id) == 1
    assert audited("request.decide", request_id) == 1
    assert count(Measure, Measure.request_id == request_id) == (1 if outcome == "granted" else 0)
    if outcome == "granted":
        measure_id = db.session.scalar(sa.select(Measure.id).where(Measure.request_id == request_id))
        assert count(MeasureEvent, MeasureEvent.measure_id == measure_id, MeasureEvent.transition == "grant") == 1
        kinds = db.session.scalars(sa.select(Obligation.kind).where(Obligation.measure_id == measure_id)).all()
        assert kinds and len(kinds) == len(set(kinds))
    chain_intact(env)


def test_grants_of_different_requests_at_once_get_distinct_references(app, env):
    """Concurrent grants used to compute the same measure reference (max + 1): a unique violation, a 500."""
    request_ids = [submitted_request(env, measure_type=SHORT, extra={"numero_allocataire": f"42{i:05d}"})
                   for i in range(N)]
    client = logged_in(app, env, Role.DEPT_AGENT)
    clones = [clone_client(app, client) for _ in range(N)]

    responses = release(N, lambda i: clones[i].post(f"/demandes/{request_ids[i]}/decision", data={
        "outcome": "granted", "decision_date": "2026-03-05", "operator_id": str(env.operator_org_id),
        "csrf_token": client.csrf}))

    assert statuses(responses) == Counter({302: N})
    references = db.session.scalars(sa.select(Measure.reference).where(Measure.request_id.in_(request_ids))
                                    .order_by(Measure.reference)).all()
    assert references == [f"A-42-2026-{n:05d}" for n in range(1, N + 1)]
    chain_intact(env)


def test_a_session_s_batch_of_decisions_is_recorded_once(app, env, burst):
    granted, refused = submitted_request(env), submitted_request(env)
    session = decisions.create_session(env.secretary, {"commission_code": CLU, "session_date": "2026-03-10"})
    decisions.build_agenda(env.secretary, session.id, [granted, refused])
    client = logged_in(app, env, Role.COMMISSION_SECRETARY)
    form = {f"d{granted}.outcome": "granted", f"d{granted}.duration_months": "6",
            f"d{granted}.operator_id": str(env.operator_org_id),
            f"d{refused}.outcome": "refused", f"d{refused}.reason": "Hors critères.",
            "version": str(version(CommissionSession, session.id)), "csrf_token": client.csrf}

    responses = burst(client, lambda c: c.post(f"/commissions/seances/{session.id}/decisions", data=form))

    one_winner(responses)
    assert count(Decision, Decision.session_id == session.id) == 2
    assert count(Measure, Measure.request_id.in_([granted, refused])) == 1
    assert audited("request.decide") == 2
    assert db.session.get(CommissionSession, session.id).status is SessionStatus.HELD
    chain_intact(env)


def test_ten_additions_to_an_agenda_put_each_request_on_it_once(app, env, burst):
    request_ids = [submitted_request(env), submitted_request(env)]
    session = decisions.create_session(env.secretary, {"commission_code": CLU, "session_date": "2026-03-10"})
    client = logged_in(app, env, Role.COMMISSION_SECRETARY)
    form = {"request_ids": [str(i) for i in request_ids], "version": str(version(CommissionSession, session.id)),
            "csrf_token": client.csrf}

    responses = burst(client, lambda c: c.post(f"/commissions/seances/{session.id}/ordre-du-jour", data=form))

    one_winner(responses)
    assert count(AgendaItem, AgendaItem.session_id == session.id) == 2
    assert audited("session.agenda", session.id) == 1
    assert {db.session.get(Request, i).status for i in request_ids} == {RequestStatus.SCHEDULED}
    chain_intact(env)


def test_two_sessions_scheduling_the_same_request_at_once_get_it_once(app, env):
    """Each secretary's page is current for its own session: the request's claim decides."""
    request_id = submitted_request(env)
    sessions = [decisions.create_session(env.secretary, {"commission_code": CLU, "session_date": f"2026-03-{d}"})
                for d in range(10, 10 + N)]
    client = logged_in(app, env, Role.COMMISSION_SECRETARY)
    clones = [clone_client(app, client) for _ in range(N)]

    responses = release(N, lambda i: clones[i].post(f"/commissions/seances/{sessions[i].id}/ordre-du-jour",
                                                     data={"request_ids": [str(request_id)],
                                                           "csrf_token": client.csrf}))

    assert statuses(responses)[302] == 1 and statuses(responses)[500] == 0
    assert set(statuses(responses)) <= {302, 409, 422}  # 422: the loser read the request already scheduled
    assert count(AgendaItem, AgendaItem.request_id == request_id) == 1
    chain_intact(env)


# -- measure transitions ---------------------------------------------------------------
def _before(env, name: str) -> int:
    """A measure in a state ``name`` may leave, set up through the services."""
    agent = env.agent
    if name == "assign_operator":
        return granted_measure(env, operator=False)
    if name == "start":
        return granted_measure(env)
    measure_id = started_measure(env)
    steps = {
        "grant_prolongation": [("request_prolongation", {"request_date": "2026-03-20", "months": 3,
                                                         "reason": "Motif."})],
        "refuse_prolongation": [("request_prolongation", {"request_date": "2026-03-20", "months": 3,
                                                          "reason": "Motif."})],
        "resume": [("suspend", {"from_date": "2026-03-20", "reason": "Hospitalisation."})],
        "record_bilan": [("end", {"end_date": "2026-03-20", "reason": "term"})],
        "close": [("end", {"end_date": "2026-03-20", "reason": "term"}),
                  ("record_bilan", {"bilan_date": "2026-03-20", "summary": "Bilan."})],
    }.get(name, [])
    for step, data in steps:
        measures.transition(agent, measure_id, step, data)
    return measure_id




def test_every_transition_has_its_concurrency_case():
    assert set(VALID_INPUT) == set(machine.TRANSITIONS)


@pytest.mark.parametrize("name", sorted(machine.TRANSITIONS))
def test_ten_clicks_on_a_transition_apply_it_once(app, env, burst, name):
    measure_id = _before(env, name)
    form = {"transition": name, **{k: str(v) for k, v in VALID_INPUT[name](env).items()},
            "version": str(version(Measure, measure_id))}
    events_before = count(MeasureEvent, MeasureEvent.measure_id == measure_id)
    client = logged_in(app, env, Role.DEPT_AGENT)
    form["csrf_token"] = client.csrf

    responses = burst(client, lambda c: c.post(f"/mesures/{measure_id}/actions", data=form))

    one_winner(responses)
    assert count(MeasureEvent, MeasureEvent.measure_id == measure_id, MeasureEvent.transition == name) == 1
    assert count(MeasureEvent, MeasureEvent.measure_id == measure_id) == events_before + 1
    assert audited(f"measure.{name}", measure_id) == 1
    kinds = db.session.scalars(sa.select(Obligation.kind).where(Obligation.measure_id == measure_id)).all()
    assert len(kinds) == len(set(kinds))
    chain_intact(env)


def test_the_api_s_transitions_without_a_version_still_apply_once(app, env):
    """A client retrying without an Idempotency-Key: the version read in each request decides."""
    from asll.services import api_tokens
    from tests.api.conftest import ApiClient

    measure_id = _before(env, "suspend")
    _token, secret = api_tokens.create_token(env.agent, {"label": "client qui réessaie"})
    db.session.commit()
    clients = [ApiClient(app.test_client(), secret) for _ in range(N)]

    responses = release(N, lambda i: clients[i].post(f"/measures/{measure_id}/transitions/suspend",
                                                     json={"from_date": "2026-03-20", "reason": "Hospitalisation."}))

    assert statuses(responses)[200] == 1 and set(statuses(responses)) <= {200, 409}, statuses(responses)
    for response in responses:
        if response.status_code == 409:
            assert response.get_json()["code"] in ("conflit", "transition_interdite")
            assert response.get_json()["message"]
    assert count(MeasureEvent, MeasureEvent.measure_id == measure_id, MeasureEvent.transition == "suspend") == 1
    assert audited("measure.suspend", measure_id) == 1
    chain_intact(env)


# -- documents ---------------------------------------------------------------------------
def test_ten_clicks_on_generate_the_contract_store_one_document(app, env, burst):
    measure_id = started_measure(env)
    client = logged_in(app, env, Role.DEPT_AGENT)
    form = {"kind": "contract", "version": str(version(Measure, measure_id)), "csrf_token": client.csrf}

    responses = burst(client, lambda c: c.post(f"/mesures/{measure_id}/documents", data=form))

    one_winner(responses)
    assert count(Document, Document.measure_id == measure_id, Document.kind == "contract") == 1
    assert audited("document.generate") == 1
    chain_intact(env)


def test_a_page_left_open_while_a_colleague_acted_gets_a_409_and_changes_nothing(app, env):
    measure_id = started_measure(env)
    shown = version(Measure, measure_id)
    measures.transition(env.agent, measure_id, "record_contract_sent", {"sent_date": "2026-03-18"})
    client = logged_in(app, env, Role.DEPT_AGENT)

    [response] = release(1, lambda _i: client.post(f"/mesures/{measure_id}/actions", data={
        "transition": "record_contract_sent", "sent_date": "2026-03-20", "version": str(shown),
        "csrf_token": client.csrf}))

    assert response.status_code == 409
    assert "Cette mesure vient d'être modifiée par quelqu'un d'autre ; rechargez la page." in text(response)
    db.session.expire_all()
    assert str(db.session.get(Measure, measure_id).contract_sent_date) == "2026-03-18"
    assert count(MeasureEvent, MeasureEvent.measure_id == measure_id,
                 MeasureEvent.transition == "record_contract_sent") == 1


def test_two_secretaries_typing_the_attendance_at_once_do_not_overwrite_each_other(app, env, burst):
    session = decisions.create_session(env.secretary, {"commission_code": CLU, "session_date": "2026-03-10"})
    client = logged_in(app, env, Role.COMMISSION_SECRETARY)
    shown = version(CommissionSession, session.id)
    lists = iter([f"Mme Membre {i}\nM. Président" for i in range(N)])
    forms = [{"members_present": next(lists), "version": str(shown), "csrf_token": client.csrf} for _ in range(N)]
    sent = iter(forms)

    responses = burst(client, lambda c: c.post(f"/commissions/seances/{session.id}/presences", data=next(sent)))

    one_winner(responses)
    assert audited("session.attendance", session.id) == 1
    db.session.expire_all()
    assert db.session.get(CommissionSession, session.id).members_present in {f["members_present"] for f in forms}
    chain_intact(env)
