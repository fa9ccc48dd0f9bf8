"""Bounded input in the web forms. Ids typed or tampered with: out of an id column's range, zero, negative
or not a number, each form answers a French 422 (or, for the hidden target of a one-button
form, the French 400/404 a wrong URL id gets) and stores nothing, on SQLite and PostgreSQL.

2**31 is the first number PostgreSQL's INTEGER refuses and 2**63 the first SQLite's refuses:
both used to reach the database and answer a 500. And a household's members: one reference
person, at most MAX_MEMBERS people.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from asll.extensions import db
from asll.models import (
    AgendaItem,
    AuditEvent,
    Decision,
    Household,
    HouseholdMember,
    Measure,
    MeasureEvent,
    Membership,
    OrganisationKind,
    PluginActivation,
    Request,
    RequestStatus,
    Role,
    User,
)
from asll.models.exports import ExportJob
from asll.services import decisions, requests
from asll.services.schemas import MAX_MEMBERS
from asll.tenancy import tenant_context, unscoped
from tests.conftest import csrf_token, login
from tests.web.conftest import COMMISSION, COMMISSION_TYPE, SHORT, page, text

BAD_IDS = [str(2**31), str(2**63), "0", "-1", "abc"]
OUT_OF_RANGE = "Identifiant invalide."
NOT_A_NUMBER = "Identifiant invalide : nombre entier attendu."


def _message(value: str) -> str:
    return NOT_A_NUMBER if value == "abc" else OUT_OF_RANGE


def _stored(app, tenant_id: int, *models) -> dict:
    """Rows per model in the tenant, and the audit entries that record a change (reads excluded)."""
    with app.app_context(), tenant_context(tenant_id):
        found = {model.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(model)) for model in models}
        found["changes audited"] = db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(
            AuditEvent.tenant_id == tenant_id, AuditEvent.action.not_like("%.read")))
        db.session.remove()
    return found


def _token(client, url: str) -> str:
    return csrf_token(client.get(url).get_data(as_text=True))


def _submitted(app, world, measure_type: str, name: str) -> int:
    """A household and its filed request, through the services."""
    loire = world.loire
    with app.app_context(), tenant_context(loire.tenant.id):
        prescriber = loire.actor(Role.PRESCRIBER)
        household = requests.create_household(prescriber, {"members": [{"last_name": name, "first_name": "Ana"}]})
        extra = {"numero_allocataire": "7654321"} if measure_type == SHORT else {}
        draft = requests.save_draft(prescriber, {"household_id": household.id, "measure_type": measure_type,
                                                 "consent_given_by": name, "consent_date": "2026-03-01",
                                                 "extra": extra})
        requests.submit(prescriber, draft.id)
        db.session.remove()
        return draft.id


# -- households: the landlord -----------------------------------------------------------------
@pytest.mark.parametrize("value", BAD_IDS)
def test_a_new_household_with_a_landlord_id_out_of_range_is_refused(world, as_role, app, value):
    client = as_role(Role.PRESCRIBER)
    before = _stored(app, world.loire.tenant.id, Household, HouseholdMember)
    response = client.post("/menages/nouveau", data={
        "csrf_token": _token(client, "/menages/nouveau"), "rows": "1", "reference": "0",
        "members.0.last_name": "Roux", "members.0.first_name": "Paul", "city": "Roanne", "landlord_id": value})
    assert response.status_code == 422
    assert f"Bailleur : {_message(value)}" in text(response)
    assert "#m-landlord-id" in page(response).summary_links
    assert page(response).widget("members.0.last_name")["value"] == "Roux"  # nothing typed is lost
    assert _stored(app, world.loire.tenant.id, Household, HouseholdMember) == before


@pytest.mark.parametrize("value", BAD_IDS)
def test_a_household_edit_with_a_landlord_id_out_of_range_changes_nothing(world, as_role, app, value):
    client = as_role(Role.PRESCRIBER)
    url = f"/menages/{world.loire.household.id}/modifier"
    before = _stored(app, world.loire.tenant.id, Household)
    response = client.post(url, data={"csrf_token": _token(client, url), "city": "Firminy", "landlord_id": value})
    assert response.status_code == 422
    assert f"Bailleur : {_message(value)}" in text(response)
    assert _stored(app, world.loire.tenant.id, Household) == before
    with app.app_context(), tenant_context(world.loire.tenant.id):
        household = db.session.get(Household, world.loire.household.id)
        assert (household.city, household.landlord_id) == ("Ville", None)


# -- measures: the operator of assign_operator and transfer -----------------------------------
TRANSITION_DATA = {
    "assign_operator": {"notified_date": "2026-03-02"},
    "transfer": {"transfer_date": "2026-03-02", "reason": "move"},
}


@pytest.mark.parametrize("transition", sorted(TRANSITION_DATA))
@pytest.mark.parametrize("value", BAD_IDS)
def test_a_measure_transition_with_an_operator_id_out_of_range_is_refused(world, as_role, app, transition, value):
    client = as_role(Role.DEPT_AGENT)
    measure = world.loire.measure
    url = f"/mesures/{measure.id}"
    before = _stored(app, world.loire.tenant.id, MeasureEvent, Measure)
    response = client.post(f"{url}/actions", data={
        "csrf_token": _token(client, url), "transition": transition, "operator_id": value,
        **TRANSITION_DATA[transition]})
    assert response.status_code == 422
    assert f"Opérateur : {_message(value)}" in text(response)
    assert f"#t-{transition.replace('_', '-')}-operator-id" in page(response).summary_links
    assert _stored(app, world.loire.tenant.id, MeasureEvent, Measure) == before
    with app.app_context(), tenant_context(world.loire.tenant.id):
        assert db.session.get(Measure, measure.id).operator_id == world.loire.orgs[OrganisationKind.OPERATOR].id


# -- decisions: the operator of a grant, alone or in a session ---------------------------------
@pytest.mark.parametrize("value", BAD_IDS)
def test_a_single_decision_with_an_operator_id_out_of_range_is_refused(forms_plugin, world, as_role, app, value):
    request_id = _submitted(app, world, SHORT, "Bernard")
    client = as_role(Role.DEPT_AGENT)
    url = f"/demandes/{request_id}"
    before = _stored(app, world.loire.tenant.id, Decision, Measure)
    response = client.post(f"{url}/decision", data={
        "csrf_token": _token(client, url), "outcome": "granted", "decision_date": "2026-03-05",
        "duration_months": "4", "operator_id": value})
    assert response.status_code == 422
    assert f"Opérateur désigné : {_message(value)}" in text(response)
    assert "#dec-operator-id" in page(response).summary_links
    assert _stored(app, world.loire.tenant.id, Decision, Measure) == before
    with app.app_context(), tenant_context(world.loire.tenant.id):
        assert db.session.get(Request, request_id).status is RequestStatus.SUBMITTED


def _scheduled_session(app, world) -> tuple[int, int]:
    """A session of the fake plugin's commission with one filed request on its agenda."""
    request_id = _submitted(app, world, COMMISSION_TYPE, "Petit")
    with app.app_context(), tenant_context(world.loire.tenant.id):
        secretary = world.loire.actor(Role.COMMISSION_SECRETARY)
        session = decisions.create_session(secretary, {"commission_code": COMMISSION, "session_date": "2026-03-10"})
        decisions.build_agenda(secretary, session.id, [request_id])
        session_id = session.id
        db.session.remove()
    return session_id, request_id


@pytest.mark.parametrize("value", BAD_IDS)
def test_a_session_decision_with_an_operator_id_out_of_range_is_refused(forms_plugin, world, as_role, app, value):
    session_id, request_id = _scheduled_session(app, world)
    client = as_role(Role.COMMISSION_SECRETARY)
    url = f"/commissions/seances/{session_id}"
    before = _stored(app, world.loire.tenant.id, Decision, Measure)
    response = client.post(f"{url}/decisions", data={
        "csrf_token": _token(client, url), f"d{request_id}.outcome": "granted",
        f"d{request_id}.duration_months": "6", f"d{request_id}.operator_id": value})
    assert response.status_code == 422
    assert f"Opérateur désigné : {_message(value)}" in text(response)
    assert f"#dec-d{request_id}-operator-id" in page(response).summary_links
    assert _stored(app, world.loire.tenant.id, Decision, Measure) == before


@pytest.mark.parametrize("value", BAD_IDS)
def test_an_agenda_with_request_ids_out_of_range_is_refused(forms_plugin, world, as_role, app, value):
    request_id = _submitted(app, world, COMMISSION_TYPE, "Grand")
    with app.app_context(), tenant_context(world.loire.tenant.id):
        session = decisions.create_session(world.loire.actor(Role.COMMISSION_SECRETARY),
                                           {"commission_code": COMMISSION, "session_date": "2026-03-10"})
        url = f"/commissions/seances/{session.id}"
        db.session.remove()
    client = as_role(Role.COMMISSION_SECRETARY)
    before = _stored(app, world.loire.tenant.id, AgendaItem)
    # mixed with a valid id, the bad one is not silently dropped: nothing is put on the agenda
    response = client.post(f"{url}/ordre-du-jour", data={"csrf_token": _token(client, url),
                                                         "request_ids": [str(request_id), value]})
    assert response.status_code == 422
    assert "Identifiant de demande invalide." in text(response)
    assert _stored(app, world.loire.tenant.id, AgendaItem) == before
    with app.app_context(), tenant_context(world.loire.tenant.id):
        assert db.session.get(Request, request_id).status is RequestStatus.SUBMITTED


# -- requests: the household a new request is for ----------------------------------------------
@pytest.mark.parametrize("value", BAD_IDS)
def test_a_new_request_for_a_household_id_out_of_range_is_refused(forms_plugin, world, as_role, app, value):
    client = as_role(Role.PRESCRIBER)
    before = _stored(app, world.loire.tenant.id, Request)
    response = client.post("/demandes/nouvelle", data={
        "csrf_token": _token(client, "/demandes/nouvelle"), "household_id": value, "measure_type": SHORT,
        "consent_given_by": "Léa Martin", "consent_date": "2026-03-01"})
    assert response.status_code == 422
    assert "Ménage : Choisissez le ménage concerné." in text(response)
    assert _stored(app, world.loire.tenant.id, Request) == before


# -- administration: a new account's organisation, the tenant chosen -----------------------------
@pytest.mark.parametrize("value", BAD_IDS)
def test_a_new_account_with_an_organisation_id_out_of_range_is_refused(world, as_role, app, value):
    client = as_role(Role.DEPT_ADMIN)
    url = "/administration/utilisateurs"
    before = _stored(app, world.loire.tenant.id, Membership)
    response = client.post(url, data={
        "csrf_token": _token(client, url), "full_name": "Nina Roux", "email": "nina.roux@exemple.fr",
        "role": Role.PRESCRIBER.value, "organisation_id": value, "password": "un-mot-de-passe-solide"})
    assert response.status_code == 422
    assert "Organisme de rattachement : N&#39;est pas un choix valide." in text(response)
    assert _stored(app, world.loire.tenant.id, Membership) == before
    with app.app_context(), unscoped():
        assert db.session.scalar(sa.select(sa.func.count(User.id)).where(User.email == "nina.roux@exemple.fr")) == 0


@pytest.mark.parametrize("value", BAD_IDS)
def test_choosing_a_tenant_id_out_of_range_is_refused(world, app, value):
    from asll.services import users

    with app.app_context():  # the Loire's prescriber also works in the Orne: the choice is asked
        user = db.session.get(User, world.loire.users[Role.PRESCRIBER].id)
        users.add_membership(world.orne.actor(Role.DEPT_ADMIN), user, world.orne.tenant.id, Role.PRESCRIBER,
                             world.orne.orgs[OrganisationKind.PRESCRIBER].id)
        db.session.commit()
        db.session.remove()
    client = app.test_client()
    login(client, world.loire.users[Role.PRESCRIBER].email, world.password)
    response = client.post("/departement", data={"csrf_token": _token(client, "/departement"), "tenant_id": value})
    assert response.status_code == 422
    # 0 and "abc" give no department at all (WTForms' coercion), a number no choice has is not one of them.
    expected = "Choisissez un département." if value in ("0", "abc") else "N&#39;est pas un choix valide."
    assert f"Département : {expected}" in text(response)
    assert client.get("/menages").status_code == 302  # still no tenant chosen: back to the choice


# -- exports: the operator filter ----------------------------------------------------------------
@pytest.mark.parametrize("value", BAD_IDS)
def test_an_export_filtered_on_an_operator_id_out_of_range_is_refused(world, as_role, app, monkeypatch, value):
    sent = []
    monkeypatch.setattr(app.extensions["celery"].tasks["asll.exports.run"], "apply_async",
                        lambda *args, **kwargs: sent.append(kwargs))
    client = as_role(Role.DEPT_ADMIN)
    url = "/rapports/exports/nouveau"
    before = _stored(app, world.loire.tenant.id, ExportJob)
    response = client.post(url, data={"csrf_token": _token(client, url), "dataset": "measures", "file_format": "csv",
                                      "columns_measures": ["reference"], "operator_id": value})
    assert response.status_code == 422
    assert _message(value) in text(response) and "L'export n'a pas été lancé" in text(response)
    assert _stored(app, world.loire.tenant.id, ExportJob) == before and sent == []


# -- the hidden target of a one-button form: like an id in the URL ---------------------------------
@pytest.mark.parametrize("value", BAD_IDS)
def test_one_button_forms_with_a_target_id_out_of_range_answer_in_french_and_change_nothing(world, as_role, app,
                                                                                             value):
    """The id names what the button acts on, as a URL id does: a French 400 or 404, not a 422."""
    admin = as_role(Role.DEPT_ADMIN)
    token = _token(admin, "/administration/utilisateurs")
    before = _stored(app, world.loire.tenant.id, Membership, Decision)
    suspend = admin.post("/administration/utilisateurs/habilitation",
                         data={"csrf_token": token, "membership_id": value, "active": "0"})
    assert suspend.status_code == 400 and "La demande envoyée n&#39;est pas valide." in text(suspend)
    resend = admin.post("/administration/rappels/renvoi", data={"csrf_token": token, "outbox_id": value})
    assert resend.status_code == 400 and "La demande envoyée n&#39;est pas valide." in text(resend)
    letters = admin.post(f"/demandes/{world.loire.request.id}/notifications",
                         data={"csrf_token": token, "decision_id": value})
    assert letters.status_code == 404 and "Page introuvable" in text(letters)
    assert _stored(app, world.loire.tenant.id, Membership, Decision) == before
    with app.app_context(), tenant_context(world.loire.tenant.id):
        assert all(db.session.scalars(sa.select(Membership.active)))

    platform = app.test_client()
    login(platform, world.platform_admin.email, world.password)
    with app.app_context(), unscoped():
        activations = db.session.execute(sa.select(PluginActivation.tenant_id, PluginActivation.plugin,
                                                   PluginActivation.enabled)
                                         .order_by(PluginActivation.tenant_id, PluginActivation.plugin)).all()
    toggled = platform.post("/admin/plugins", data={"csrf_token": _token(platform, "/admin/plugins"),
                                                    "tenant_id": value, "plugin": "loire", "enabled": "y"},
                            follow_redirects=True)
    assert "Demande invalide : rechargez la page et recommencez." in text(toggled)
    with app.app_context(), unscoped():
        assert db.session.execute(sa.select(PluginActivation.tenant_id, PluginActivation.plugin,
                                            PluginActivation.enabled)
                                  .order_by(PluginActivation.tenant_id, PluginActivation.plugin)).all() == activations


def test_an_id_in_range_still_goes_through(world, as_role, app):
    """The bound refuses only what no row can have: a real landlord, typed with spaces around, is kept."""
    landlord = world.loire.orgs[OrganisationKind.LANDLORD].id
    client = as_role(Role.PRESCRIBER)
    url = f"/menages/{world.loire.household.id}/modifier"
    response = client.post(url, data={"csrf_token": _token(client, url), "landlord_id": f" {landlord} "})
    assert response.status_code == 302
    with app.app_context(), tenant_context(world.loire.tenant.id):
        assert db.session.get(Household, world.loire.household.id).landlord_id == landlord


# -- households: one reference person, at most MAX_MEMBERS members --------------------------------
def _rows(count: int) -> dict:
    found = {"rows": str(count)}
    for index in range(count):
        found.update({f"members.{index}.last_name": "Diallo", f"members.{index}.first_name": f"Enfant {index}"})
    return found


MEMBER_RULES = {
    # The radio points at a row left blank: nobody is designated among the people entered.
    "no reference person": ({**_rows(2), "rows": "3", "reference": "2"},
                            "Désignez la personne de référence du ménage parmi ses membres."),
    # A tampered form sends the radio twice.
    "two reference persons": ({**_rows(2), "reference": ["0", "1"]},
                              "Une seule personne de référence par ménage (2 sont désignées)."),
    "one member too many": ({**_rows(MAX_MEMBERS + 1), "reference": "0"}, f"{MAX_MEMBERS} membres au plus par ménage."),
}


@pytest.mark.parametrize("case", sorted(MEMBER_RULES))
def test_the_household_form_refuses_a_household_breaking_the_member_rules(world, as_role, app, case):
    data, message = MEMBER_RULES[case]
    client = as_role(Role.PRESCRIBER)
    before = _stored(app, world.loire.tenant.id, Household, HouseholdMember)
    response = client.post("/menages/nouveau", data={"csrf_token": _token(client, "/menages/nouveau"),
                                                     "city": "Roanne", **data})
    assert response.status_code == 422
    assert f"Membres du ménage : {message}" in text(response)
    form = page(response)
    form.assert_summary_targets_exist()
    assert "#reference-0" in form.summary_links
    people = int(data["rows"]) if case == "one member too many" else 2
    assert [form.widget(f"members.{i}.first_name")["value"] for i in range(people)] == \
        [f"Enfant {i}" for i in range(people)]  # every row typed comes back for the correction
    assert _stored(app, world.loire.tenant.id, Household, HouseholdMember) == before


def test_the_household_form_creates_the_largest_household_with_the_reference_chosen(world, as_role, app):
    client = as_role(Role.PRESCRIBER)
    response = client.post("/menages/nouveau", data={"csrf_token": _token(client, "/menages/nouveau"),
                                                     **_rows(MAX_MEMBERS), "reference": "4"})
    assert response.status_code == 302
    with app.app_context(), tenant_context(world.loire.tenant.id):
        household = db.session.scalars(sa.select(Household).order_by(Household.id.desc())).first()
        assert len(household.members) == MAX_MEMBERS
        assert [m.first_name for m in household.members if m.is_reference] == ["Enfant 4"]
    # Adding rows stops at the limit: the form never offers a row it would refuse.
    more = client.post("/menages/nouveau", data={"csrf_token": _token(client, "/menages/nouveau"),
                                                 "rows": str(MAX_MEMBERS - 1), "add_rows": "1"})
    assert f"members.{MAX_MEMBERS - 1}.last_name" in page(more).inputs
    assert f"members.{MAX_MEMBERS}.last_name" not in page(more).inputs


def test_a_single_person_is_the_reference_whatever_the_radio_says(world, as_role, app):
    client = as_role(Role.PRESCRIBER)
    response = client.post("/menages/nouveau", data={"csrf_token": _token(client, "/menages/nouveau"),
                                                     "rows": "3", "reference": "0",
                                                     "members.2.last_name": "Roux", "members.2.first_name": "Paul"})
    assert response.status_code == 302
    with app.app_context(), tenant_context(world.loire.tenant.id):
        household = db.session.scalars(sa.select(Household).order_by(Household.id.desc())).first()
        assert [(m.first_name, m.is_reference) for m in household.members] == [("Paul", True)]
