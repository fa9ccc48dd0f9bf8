"""A case driven end to end through the JSON API with personal tokens, with a fixed clock:
household, draft, submission, session, agenda, decisions, measure transitions, documents.
"""

from __future__ import annotations

import sqlalchemy as sa

from asll.extensions import db
from asll.models import AuditEvent, Household, Measure, MeasureStatus, OrganisationKind, Role
from asll.tenancy import tenant_context
from tests.core.workflow_support import DIAGNOSTIC

from tests.api.conftest import ApiTestPlugin

ACCES, CLU = ApiTestPlugin.ACCES, ApiTestPlugin.COMMISSION


def _audit(app, tenant_id: int, action: str) -> list[AuditEvent]:
    with app.app_context(), tenant_context(tenant_id):
        events = list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)
                                         .order_by(AuditEvent.seq)))
        db.session.remove()
    return events


def test_a_case_from_household_to_running_measure(app, world, api_as, clock, test_plugin):
    loire = world.loire
    prescriber, secretary = api_as(loire, Role.PRESCRIBER), api_as(loire, Role.COMMISSION_SECRETARY)
    operator, agent = api_as(loire, Role.OPERATOR_WORKER), api_as(loire, Role.DEPT_AGENT)
    operator_org = loire.orgs[OrganisationKind.OPERATOR].id

    # -- the prescriber creates the household ----------------------------------------------
    response = prescriber.post("/households", json={
        "address": "12 rue des Lilas", "postcode": "42000", "city": "Saint-Étienne", "sector": "Centre",
        "housing_status": "hosted", "monthly_resources": "812.5",
        "members": [{"last_name": "Durand", "first_name": "Ana", "birth_date": "1988-05-01"},
                    {"last_name": "Durand", "first_name": "Léo", "relationship_to_reference": "enfant"}]})
    assert response.status_code == 201, response.get_json()
    household = response.get_json()
    assert household["reference"] == "M-42-2026-00001"
    assert household["display_name"] == "DURAND Ana"
    assert household["housing_status_label"] == "Hébergé par des tiers"
    assert household["monthly_resources"] == "812.50"
    assert household["created_at"] == "2026-03-02T08:00:00+00:00"  # 9:00 in Paris
    assert [(m["first_name"], m["is_reference"]) for m in household["members"]] == [("Ana", True), ("Léo", False)]

    read = prescriber.get(f"/households/{household['id']}")
    assert read.status_code == 200 and read.get_json()["members"][1]["relationship_to_reference"] == "enfant"
    reads = _audit(app, loire.tenant.id, "household.read")
    assert [(e.actor_id, e.object_id) for e in reads] == [(loire.users[Role.PRESCRIBER].id, household["id"])]
    assert "jeton asll_" in reads[0].actor_label  # the audit trail says the API token acted

    # -- an incomplete draft, refused at submission with French field messages ---------------
    response = prescriber.post("/requests", json={
        "household_id": household["id"], "measure_type": ACCES, "origin": "prescripteur",
        "diagnostic": {"family_situation": DIAGNOSTIC["family_situation"]}})
    assert response.status_code == 201, response.get_json()
    draft = response.get_json()
    assert (draft["status"], draft["status_label"], draft["commission_code"]) == ("draft", "Brouillon", None)

    refused = prescriber.post(f"/requests/{draft['id']}/submit")
    assert refused.status_code == 422
    body = refused.get_json()
    assert body["code"] == "validation"
    assert body["errors"]["consent_given_by"] == ["Ce champ est obligatoire."]
    assert body["errors"]["diagnostic.objectives"] == ["Ce champ est obligatoire."]
    assert "diagnostic.family_situation" not in body["errors"]

    response = prescriber.patch(f"/requests/{draft['id']}", json={
        "diagnostic": DIAGNOSTIC, "consent_given_by": "Ana Durand", "consent_date": "2026-03-01"})
    assert response.status_code == 200 and response.get_json()["diagnostic"] == DIAGNOSTIC
    submitted = prescriber.post(f"/requests/{draft['id']}/submit")
    assert submitted.status_code == 200, submitted.get_json()
    assert (submitted.get_json()["status"], submitted.get_json()["commission_code"]) == ("submitted", CLU)
    assert submitted.get_json()["submitted_at"] == "2026-03-02T08:00:00+00:00"

    frozen = prescriber.patch(f"/requests/{draft['id']}", json={"origin": "autre"})
    assert frozen.status_code == 400 and frozen.get_json()["code"] == "demande_non_modifiable"
    listed = prescriber.get("/requests?status=submitted").get_json()
    assert [r["id"] for r in listed["items"]] == [draft["id"]]

    # -- the secretariat programmes the CLU, builds the agenda, records the decision ----------
    response = secretary.post("/sessions", json={"commission_code": CLU, "session_date": "2026-03-10",
                                                 "location": "Hôtel du Département"})
    assert response.status_code == 201, response.get_json()
    session = response.get_json()
    assert (session["status"], session["items"]) == ("planned", [])
    agenda = secretary.post(f"/sessions/{session['id']}/agenda", json={})
    assert agenda.status_code == 200
    assert agenda.get_json()["items"] == [{"request_id": draft["id"], "request_reference": draft["reference"],
                                           "position": 1}]

    clock.to("2026-03-10", 16)
    response = secretary.post(f"/sessions/{session['id']}/decisions", json={"decisions": [
        {"request_id": draft["id"], "outcome": "granted", "duration_months": 6, "operator_id": operator_org}]})
    assert response.status_code == 201, response.get_json()
    [decision] = response.get_json()
    assert (decision["outcome"], decision["decision_date"], decision["operator_id"]) == (
        "granted", "2026-03-10", operator_org)
    assert decision["warnings"] == []  # the test plugin warns of nothing at a grant
    measure_id = decision["measure_id"]
    held = secretary.get(f"/sessions/{session['id']}").get_json()
    assert held["status"] == "held"
    assert [d["id"] for d in secretary.get(f"/sessions/{session['id']}/decisions").get_json()] == [decision["id"]]

    # -- the operator finds the measure through the filters and reads it ---------------------
    found = operator.get(f"/measures?status=operator_assigned&type={ACCES}&operator={operator_org}").get_json()
    assert measure_id in [m["id"] for m in found["items"]]
    assert operator.get("/measures?status=running").get_json()["items"] == []
    older = operator.get("/measures?type=loire.acces").get_json()["items"]
    assert [m["id"] for m in older] == [loire.measure.id]

    detail = operator.get(f"/measures/{measure_id}").get_json()
    assert detail["measure"]["status"] == "operator_assigned"
    assert [e["transition"] for e in detail["timeline"]] == ["grant", "assign_operator"]
    assert detail["timeline"][0]["transition_label"] == "Mesure accordée"
    assert detail["decision"]["id"] == decision["id"]
    assert {"start", "end"} <= {t["name"] for t in detail["transitions"]}
    assert "suspend" not in {t["name"] for t in detail["transitions"]}  # a département decision

    # -- transitions: a rule refusal (409), then the real start and action plan --------------
    early = operator.post(f"/measures/{measure_id}/transitions/start", json={"start_date": "2026-03-05"})
    assert early.status_code == 409
    assert early.get_json()["code"] == "date_incoherente"
    assert early.get_json()["violations"] == [{"code": "date_incoherente", "field": "start_date", "blocking": True,
                                               "message": "La mesure ne peut démarrer avant la décision."}]

    clock.to("2026-03-16")
    started = operator.post(f"/measures/{measure_id}/transitions/start", json={"start_date": "2026-03-16"})
    assert started.status_code == 200, started.get_json()
    assert started.get_json()["measure"]["status"] == "started"
    assert started.get_json()["measure"]["planned_end_date"] == "2026-09-16"
    assert started.get_json()["warnings"] == []

    clock.to("2026-04-01")
    planned = operator.post(f"/measures/{measure_id}/transitions/record_action_plan",
                            json={"plan_date": "2026-04-01", "objectives": "Trouver un T3."})
    assert planned.status_code == 200 and planned.get_json()["measure"]["status"] == "running"

    not_now = operator.post(f"/measures/{measure_id}/transitions/close", json={"close_date": "2026-04-01"})
    assert not_now.status_code == 409 and not_now.get_json()["code"] == "transition_interdite"
    not_theirs = operator.post(f"/measures/{measure_id}/transitions/suspend",
                               json={"from_date": "2026-04-02", "reason": "Hospitalisation."})
    assert not_theirs.status_code == 403 and not_theirs.get_json()["code"] == "interdit"
    suspended = agent.post(f"/measures/{measure_id}/transitions/suspend",
                           json={"from_date": "2026-04-02", "reason": "Hospitalisation."})
    assert suspended.status_code == 200 and suspended.get_json()["measure"]["status"] == "suspended"

    detail = agent.get(f"/measures/{measure_id}").get_json()
    assert [e["transition"] for e in detail["timeline"]] == [
        "grant", "assign_operator", "start", "record_action_plan", "suspend"]
    assert detail["timeline"][-1]["data"]["reason"] == "Hospitalisation."
    with app.app_context(), tenant_context(loire.tenant.id):
        row = db.session.scalar(sa.select(Measure).where(Measure.id == measure_id))
        assert (row.status, str(row.start_date), str(row.suspended_from)) == (
            MeasureStatus.SUSPENDED, "2026-03-16", "2026-04-02")
        stored = db.session.scalar(sa.select(Household).where(Household.id == household["id"]))
        assert str(stored.monthly_resources) == "812.50"
        db.session.remove()


def test_documents_are_generated_listed_and_downloaded(app, world, api_as, clock):
    loire = world.loire
    operator = api_as(loire, Role.OPERATOR_WORKER)
    measure_id = loire.measure.id

    response = operator.post("/documents", json={"kind": "contract", "measure_id": measure_id})
    assert response.status_code == 201, response.get_json()
    [document] = response.get_json()
    assert (document["kind"], document["kind_label"], document["content_type"]) == (
        "contract", "Contrat d'accompagnement", "application/pdf")
    assert document["measure_id"] == measure_id and document["size"] > 0

    listed = operator.get(f"/documents?measure_id={measure_id}").get_json()
    assert [d["id"] for d in listed] == [document["id"]]

    download = operator.get(f"/documents/{document['id']}/content")
    assert download.status_code == 200
    assert download.mimetype == "application/pdf"
    assert download.data.startswith(b"%PDF")
    assert "attachment" in download.headers["Content-Disposition"]
    download.close()

    wrong = operator.post("/documents", json={"kind": "minutes", "measure_id": measure_id})
    assert wrong.status_code == 422
    assert wrong.get_json()["errors"] == {"measure_id": ["Sans objet pour ce type de document."],
                                          "session_id": ["Ce champ est obligatoire pour ce type de document."]}
    both = operator.get(f"/documents?measure_id={measure_id}&request_id={loire.request.id}")
    assert both.status_code == 422 and list(both.get_json()["errors"]) == ["_schema"]


def test_lists_are_paginated_by_id(world, api_as, clock):
    admin = api_as(world.loire, Role.DEPT_ADMIN)
    created = []
    for name in ("Alpha", "Bravo", "Charlie"):
        response = admin.post("/households", json={"members": [{"last_name": name, "first_name": "Test"}]})
        assert response.status_code == 201
        created.append(response.get_json()["id"])
    every = [world.loire.household.id, *created][::-1]  # newest first

    first = admin.get("/households?limit=2").get_json()
    assert [h["id"] for h in first["items"]] == every[:2]
    assert first["next_after"] == every[1]
    second = admin.get(f"/households?limit=2&after={first['next_after']}").get_json()
    assert [h["id"] for h in second["items"]] == every[2:]
    assert second["next_after"] is None
    assert admin.get("/households?limit=0").status_code == 422
    assert admin.get("/households?limit=201").get_json()["errors"] == {"limit": ["Entre 1 et 200."]}


def test_reference_lists_of_the_tenant(world, api_as, test_plugin):
    agent = api_as(world.loire, Role.DEPT_AGENT)
    operators = agent.get("/organisations?kind=operator").get_json()
    assert [o["id"] for o in operators] == [world.loire.orgs[OrganisationKind.OPERATOR].id]
    assert operators[0]["kind_label"] == "Opérateur (association)"
    every = agent.get("/organisations").get_json()
    assert {o["id"] for o in every} == {o.id for o in world.loire.orgs.values()}

    types = {t["code"]: t for t in agent.get("/measure-types").get_json()}
    assert types[ACCES]["commission"] == CLU and types[ACCES]["plugin"] == "apitest"
    assert types["loire.acces"]["plugin"] == "loire"
    assert {t["plugin"] for t in types.values()} == {"apitest", "loire"}  # not the Orne's
    orne_types = api_as(world.orne, Role.DEPT_AGENT).get("/measure-types").get_json()
    assert orne_types and {t["plugin"] for t in orne_types} == {"orne"}
    commissions = {c["code"]: c for c in agent.get("/commissions").get_json()}
    assert ACCES in commissions[CLU]["examines"]

    me = agent.get("/me").get_json()
    assert me["tenant"]["code"] == "42" and me["roles"] == ["dept_agent"]
    assert me["authentication"] == "jeton" and me["csrf_token"] is None
