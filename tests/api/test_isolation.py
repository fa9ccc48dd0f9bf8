"""A token of one département gets 404 for every object of another, on every API route, and
changes nothing there; its lists show only its own département."""

from __future__ import annotations

import sqlalchemy as sa
from flask import url_for

from asll.extensions import db
from asll.models import CommissionSession, Document, Measure, OrganisationKind, Request, Role
from asll.models.api import ApiToken
from asll.services import api_tokens, decisions, exports, users
from asll.services.actor import Actor
from asll.tenancy import tenant_context, unscoped
from tests.api.conftest import ApiClient

D = "2026-03-16"
TRANSITION_BODIES = {
    "assign_operator": {"operator_id": None},
    "start": {"start_date": D},
    "record_contract_sent": {"sent_date": D},
    "record_action_plan": {"plan_date": D},
    "request_prolongation": {"request_date": D, "months": 3, "reason": "Relogement en cours."},
    "grant_prolongation": {"decision_date": D},
    "refuse_prolongation": {"decision_date": D, "reason": "Objectifs atteints."},
    "suspend": {"from_date": D, "reason": "Hospitalisation."},
    "resume": {"resume_date": D},
    "transfer": {"operator_id": None, "transfer_date": D, "reason": "move"},
    "end": {"end_date": D, "reason": "term"},
    "record_bilan": {"bilan_date": D, "summary": "Bilan."},
    "close": {"close_date": D},
}


def _loire_objects(app, world) -> dict[str, int]:
    loire = world.loire
    with app.app_context():
        loire.add_document()
        with tenant_context(loire.tenant.id):
            session = decisions.create_session(loire.actor(Role.COMMISSION_SECRETARY),
                                               {"commission_code": "loire.clu", "session_date": "2026-03-10"})
            export = exports.request_export(loire.actor(Role.DEPT_ADMIN), {"dataset": "measures"},
                                            send_to_worker=False)
        token, _secret = api_tokens.create_token(loire.actor(Role.DEPT_ADMIN), {"label": "Loire"})
        ids = {"household_id": loire.household.id, "request_id": loire.request.id, "measure_id": loire.measure.id,
               "session_id": session.id, "document_id": loire.document.id, "token_id": token.id,
               "export_id": export.id}
        db.session.remove()
    return ids


def _body(endpoint: str, world, ids: dict) -> dict | None:
    """A valid body for the route, so that only the object's visibility can refuse it."""
    name = endpoint.removeprefix("api.")
    if name.startswith("transition_"):
        body = dict(TRANSITION_BODIES[name.removeprefix("transition_")])
        if "operator_id" in body:
            body["operator_id"] = world.orne.orgs[OrganisationKind.OPERATOR].id
        return body
    return {"update_draft": {"origin": "prescripteur"}, "build_agenda": {},
            "decide": {"decisions": [{"request_id": ids["request_id"], "outcome": "refused", "reason": "Non."}]},
            }.get(name)


def _snapshot(app, tenant_id: int):
    with app.app_context(), tenant_context(tenant_id):
        state = (
            [(m.id, m.status.value, m.operator_id, m.start_date, m.extra)
             for m in db.session.scalars(sa.select(Measure).order_by(Measure.id))],
            [(r.id, r.status.value, r.origin) for r in db.session.scalars(sa.select(Request).order_by(Request.id))],
            [(s.id, s.status.value, len(s.items)) for s in db.session.scalars(sa.select(CommissionSession).order_by(CommissionSession.id))],
            [(d.id, d.sha256) for d in db.session.scalars(sa.select(Document).order_by(Document.id))],
            [(t.id, t.revoked) for t in db.session.scalars(sa.select(ApiToken).order_by(ApiToken.id))],  # DELETE /tokens/<id> revokes
        )
        db.session.remove()
    return state


def test_every_api_route_answers_404_for_another_tenants_objects(app, client, world, api_as):
    ids = _loire_objects(app, world)
    before = _snapshot(app, world.loire.tenant.id)
    orne = api_as(world.orne, Role.DEPT_ADMIN)  # the widest role: only the tenant can refuse
    checked = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or not rule.arguments:
            continue
        unknown = set(rule.arguments) - set(ids)
        assert not unknown, f"give an object of the Loire for {unknown} ({rule.rule})"
        with app.test_request_context():
            url = url_for(rule.endpoint, **{name: ids[name] for name in rule.arguments})
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            body = _body(rule.endpoint, world, ids) if method != "GET" else None
            response = orne.client.open(url, method=method, json=body, headers=orne.headers)
            assert response.status_code == 404, f"{method} {url} → {response.status_code} {response.get_json()}"
            assert response.get_json()["code"] in ("introuvable", "fichier_absent")
            assert world.loire.household.reference not in response.get_data(as_text=True)
            checked.append(f"{method} {rule.rule}")
    assert len(checked) >= 24  # every object route of the API (13 of them transitions)
    assert _snapshot(app, world.loire.tenant.id) == before


def test_lists_show_only_the_tokens_tenant(app, world, api_as):
    ids = _loire_objects(app, world)
    orne = api_as(world.orne, Role.DEPT_ADMIN)
    assert [h["reference"] for h in orne.get("/households").get_json()["items"]] == [world.orne.household.reference]
    assert [r["reference"] for r in orne.get("/requests").get_json()["items"]] == [world.orne.request.reference]
    assert [m["reference"] for m in orne.get("/measures").get_json()["items"]] == [world.orne.measure.reference]
    assert [s["id"] for s in orne.get("/sessions").get_json()["items"]] == [world.orne.session.id]
    assert {o["id"] for o in orne.get("/organisations").get_json()} == {o.id for o in world.orne.orgs.values()}
    assert orne.get(f"/measures?operator={world.loire.orgs[OrganisationKind.OPERATOR].id}").get_json()["items"] == []
    assert orne.get(f"/documents?request_id={world.loire.request.id}").status_code == 404
    # The Loire's own admin sees them.
    loire = api_as(world.loire, Role.DEPT_ADMIN)
    assert [m["reference"] for m in loire.get("/measures").get_json()["items"]] == [world.loire.measure.reference]
    loire_sessions = {s["id"] for s in loire.get("/sessions").get_json()["items"]}
    assert loire_sessions == {world.loire.session.id, ids["session_id"]}


def test_a_token_cannot_reach_another_tenant_even_if_its_user_belongs_to_both(app, client, world, issue_token):
    """The token's tenant is the one it was created in, not any of the user's tenants."""
    user = world.loire.users[Role.DEPT_AGENT]
    with app.app_context():
        with unscoped():
            users.add_membership(Actor.system(), user, world.orne.tenant.id, Role.DEPT_AGENT,
                                 world.orne.orgs[OrganisationKind.DEPT_SERVICE].id)
        db.session.commit()
        db.session.remove()
    api = ApiClient(client, issue_token(world.loire, Role.DEPT_AGENT))
    assert api.get("/me").get_json()["tenant"]["code"] == "42"
    assert api.get(f"/households/{world.orne.household.id}").status_code == 404
    assert api.get(f"/households/{world.loire.household.id}").status_code == 200
