"""Forms built from marshmallow fields: the plugins' extra fields, the transitions, the decisions.

The plugin under test (``FormsPlugin`` in conftest) contributes a field of every kind; the
pages must render each as its HTML widget with a label, read it back as the service loads
it, and come back with an error summary linked to the field when the service refuses.
"""

from __future__ import annotations

import re

import sqlalchemy as sa

from asll.extensions import db
from asll.models import AuditEvent, Decision, Household, Measure, MeasureStatus, OrganisationKind, Request, RequestStatus, Role
from asll.services import requests
from asll.tenancy import tenant_context
from tests.conftest import csrf_token
from tests.web.conftest import COMMISSION_TYPE, SHORT, page, text


def _new_request_url(world, measure_type: str) -> str:
    return f"/demandes/nouvelle?household_id={world.loire.household.id}&measure_type={measure_type}"


def test_plugin_request_fields_render_as_their_widgets(forms_plugin, world, as_role):
    client = as_role(Role.PRESCRIBER)
    response = client.get(_new_request_url(world, SHORT))
    assert response.status_code == 200
    form = page(response)
    form.assert_labelled()
    assert form.widget("extra.numero_allocataire")["type"] == "text"
    assert form.widget("extra.date_impaye")["type"] == "date"
    assert form.widget("extra.bail_signe")["type"] == "checkbox"
    assert form.widget("extra.public")["tag"] == "select"
    assert [w["value"] for w in form.inputs["extra.domaines"]] == ["budget", "dette", "voisinage"]
    assert all(w["type"] == "checkbox" for w in form.inputs["extra.domaines"])
    assert (form.widget("extra.enfants")["type"], form.widget("extra.enfants")["step"]) == ("number", "1")
    assert (form.widget("extra.dette")["type"], form.widget("extra.dette")["step"]) == ("number", "0.01")
    html = text(response)
    assert "Numéro d&#39;allocataire CAF <span class=\"required\">(obligatoire)</span>" in html
    assert "7 chiffres." in html  # the field's description is its hint
    assert '<option value="P2">Public P2 (sortie d&#39;hébergement)</option>' in html
    assert "<legend>Domaines d&#39;intervention</legend>" in html
    # Another measure type of the same plugin asks for nothing more.
    other = page(client.get(_new_request_url(world, COMMISSION_TYPE)))
    assert not [name for name in other.inputs if name.startswith("extra.")]


def test_plugin_fields_are_read_back_as_the_service_loads_them(forms_plugin, world, as_role, app):
    client = as_role(Role.PRESCRIBER)
    token = csrf_token(client.get(_new_request_url(world, SHORT)).get_data(as_text=True))
    base = {"csrf_token": token, "household_id": world.loire.household.id, "measure_type": SHORT,
            "consent_given_by": "Léa Martin", "consent_date": "2026-03-01"}
    # Submitted without the required plugin field: the draft is kept, the error links to the field.
    refused = client.post("/demandes/nouvelle", data={**base, "extra.enfants": "2", "submit": "1"})
    assert refused.status_code == 422
    form = page(refused)
    form.assert_summary_targets_exist()
    assert "#r-extra-numero-allocataire" in form.summary_links
    assert "Le numéro d&#39;allocataire est obligatoire." in text(refused)
    with app.app_context(), tenant_context(world.loire.tenant.id):
        draft = db.session.scalars(sa.select(Request).where(Request.measure_type == SHORT)).one()
        assert draft.status is RequestStatus.DRAFT and draft.extra["enfants"] == 2
    # Completed on the draft's page, then filed.
    accepted = client.post(f"/demandes/{draft.id}/modifier", data={
        **base, "extra.numero_allocataire": "1234567", "extra.date_impaye": "2026-01-05", "extra.bail_signe": "y",
        "extra.public": "P2", "extra.domaines": ["budget", "dette"], "extra.enfants": "2", "extra.dette": "1200.50",
        "submit": "1"})
    assert accepted.status_code == 302
    with app.app_context(), tenant_context(world.loire.tenant.id):
        filed = db.session.get(Request, draft.id)
        assert filed.status is RequestStatus.SUBMITTED and filed.commission_code is None
        assert filed.extra == {"numero_allocataire": "1234567", "date_impaye": "2026-01-05", "bail_signe": True,
                               "public": "P2", "domaines": ["budget", "dette"], "enfants": 2, "dette": "1200.50"}
    shown = text(client.get(f"/demandes/{draft.id}"))
    assert "Public P2 (sortie d&#39;hébergement)" in shown and "05/01/2026" in shown
    # The history says what was done, and one consultation for the page read: an action is no "read".
    with app.app_context(), tenant_context(world.loire.tenant.id):
        actions = list(db.session.scalars(sa.select(AuditEvent.action).where(
            AuditEvent.object_type == "request", AuditEvent.object_id == draft.id).order_by(AuditEvent.id)))
    assert actions == ["request.create", "request.update", "request.submit", "request.read"]


def _submitted(app, world, measure_type: str, name: str) -> int:
    """A household and a filed request, through the services."""
    loire = world.loire
    with app.app_context(), tenant_context(loire.tenant.id):
        prescriber = loire.actor(Role.PRESCRIBER)
        household = requests.create_household(prescriber, {"city": "Saint-Étienne", "members": [
            {"last_name": name, "first_name": "Ana"}]})
        extra = {"numero_allocataire": "7654321"} if measure_type == SHORT else {}
        draft = requests.save_draft(prescriber, {"household_id": household.id, "measure_type": measure_type,
                                                 "consent_given_by": name, "consent_date": "2026-03-01",
                                                 "extra": extra})
        requests.submit(prescriber, draft.id)
        return draft.id


def test_a_single_decider_decides_on_the_request_page(forms_plugin, world, as_role, app):
    request_id = _submitted(app, world, SHORT, "Bernard")
    assert "Décider de la demande" not in text(as_role(Role.PRESCRIBER).get(f"/demandes/{request_id}"))
    client = as_role(Role.DEPT_AGENT)
    html = client.get(f"/demandes/{request_id}").get_data(as_text=True)
    form = page(client.get(f"/demandes/{request_id}"))
    assert form.widget("extra.avis_service")  # the plugin's "grant" field
    assert form.widget("decision_date")["type"] == "date"
    refused = client.post(f"/demandes/{request_id}/decision", data={"csrf_token": csrf_token(html),
                                                                      "outcome": "refused", "decision_date": "2026-03-05"})
    assert refused.status_code == 422
    assert "#dec-reason" in page(refused).summary_links
    assert "Le motif du refus est obligatoire." in text(refused)
    granted = client.post(f"/demandes/{request_id}/decision", data={
        "csrf_token": csrf_token(html), "outcome": "granted", "decision_date": "2026-03-05",
        "duration_months": "4", "operator_id": str(world.loire.orgs[OrganisationKind.OPERATOR].id),
        "extra.avis_service": "Réservé"})
    assert granted.status_code == 302
    # The rule's non-blocking warning reaches the decider with the decision.
    shown = text(client.get(granted.headers["Location"]))
    assert "Attention : Avis du service réservé : prévoyez un point d&#39;étape à un mois." in shown
    with app.app_context(), tenant_context(world.loire.tenant.id):
        measure = db.session.scalars(sa.select(Measure).where(Measure.request_id == request_id)).one()
        assert measure.status is MeasureStatus.OPERATOR_ASSIGNED and measure.granted_months == 4
        assert measure.extra["avis_service"] == "Réservé"


def _transitions(response) -> set[str]:
    return {w["value"] for w in page(response).inputs.get("transition", [])}


def test_the_measure_page_offers_one_form_per_allowed_transition_only(forms_plugin, world, as_role):
    url = f"/mesures/{world.loire.measure.id}"  # operator assigned
    operator = as_role(Role.OPERATOR_WORKER).get(url)
    assert _transitions(operator) == {"start", "end"}
    start_form = page(operator)
    start_form.assert_labelled()
    assert start_form.widget("extra.lieu_premier_rdv")["tag"] == "select"  # plugin field of "start"
    assert start_form.widget("start_date")["type"] == "date"
    assert _transitions(as_role(Role.DEPT_AGENT).get(url)) == {"assign_operator", "start", "transfer", "end"}
    assert _transitions(as_role(Role.COMMISSION_SECRETARY).get(url)) == {"assign_operator"}
    for role in (Role.PRESCRIBER, Role.AUDITOR):
        response = as_role(role).get(url)
        assert response.status_code == 200 and _transitions(response) == set()
        assert "Aucune action possible pour vous à ce stade." in text(response)


def test_a_refused_transition_comes_back_with_linked_errors_and_changes_nothing(forms_plugin, world, as_role, app):
    client = as_role(Role.OPERATOR_WORKER)
    url = f"/mesures/{world.loire.measure.id}"
    token = csrf_token(client.get(url).get_data(as_text=True))
    # Before the decision (20/01/2026), and without the plugin's required field.
    response = client.post(f"{url}/actions", data={"csrf_token": token, "transition": "start",
                                                   "start_date": "2026-01-10"})
    assert response.status_code == 422
    form = page(response)
    form.assert_summary_targets_exist()
    assert "#t-start-extra-lieu-premier-rdv" in form.summary_links
    assert re.search(r'<details class="action" id="action-start" open>', response.get_data(as_text=True))
    # With the field: the core's date rule refuses it, on the date field.
    response = client.post(f"{url}/actions", data={"csrf_token": token, "transition": "start",
                                                   "start_date": "2026-01-10", "extra.lieu_premier_rdv": "bureau"})
    assert response.status_code == 409
    assert "#t-start-start-date" in page(response).summary_links
    assert "La mesure ne peut démarrer avant la décision." in text(response)
    with app.app_context(), tenant_context(world.loire.tenant.id):
        assert db.session.get(Measure, world.loire.measure.id).status is MeasureStatus.OPERATOR_ASSIGNED
    done = client.post(f"{url}/actions", data={"csrf_token": token, "transition": "start",
                                               "start_date": "2026-02-02", "extra.lieu_premier_rdv": "domicile"},
                       follow_redirects=True)
    assert "État de la mesure : Démarrée (contrat signé)." in text(done)
    with app.app_context(), tenant_context(world.loire.tenant.id):
        measure = db.session.get(Measure, world.loire.measure.id)
        assert measure.start_date.isoformat() == "2026-02-02" and measure.extra["lieu_premier_rdv"] == "domicile"
    # A transition the operator may not do is refused even if posted by hand.
    forbidden = client.post(f"{url}/actions", data={"csrf_token": token, "transition": "suspend",
                                                    "from_date": "2026-03-01", "reason": "Hospitalisation"})
    assert forbidden.status_code == 403


def test_a_commission_session_from_programme_to_minutes(forms_plugin, world, as_role, app):
    first = _submitted(app, world, COMMISSION_TYPE, "Petit")
    second = _submitted(app, world, COMMISSION_TYPE, "Grand")
    client = as_role(Role.COMMISSION_SECRETARY)
    listing = client.get("/commissions")
    assert "2</span> demande(s) en attente pour la Commission locale d&#39;essai" in text(listing)
    token = csrf_token(listing.get_data(as_text=True))
    missing = client.post("/commissions/seances", data={"csrf_token": token, "commission_code": "formes.cl"})
    assert missing.status_code == 422 and "Indiquez la date de la séance." in text(missing)
    created = client.post("/commissions/seances", data={"csrf_token": token, "commission_code": "formes.cl",
                                                        "session_date": "2026-03-10", "location": "Salle 2"})
    assert created.status_code == 302
    session_url = created.headers["Location"]
    junk = client.post(f"{session_url}/ordre-du-jour", data={"csrf_token": token, "request_ids": ["²", "99999999999"]})
    assert junk.status_code == 422 and "Identifiant de demande invalide." in text(junk)
    client.post(f"{session_url}/ordre-du-jour", data={"csrf_token": token, "request_ids": [str(first), str(second)]})
    agenda = page(client.get(session_url))
    agenda.assert_labelled()
    assert f"d{first}.outcome" in agenda.inputs and f"d{second}.extra.avis_service" in agenda.inputs
    # One refusal without its reason: nothing is recorded, the error points at that request's field.
    refused = client.post(f"{session_url}/decisions", data={
        "csrf_token": token, f"d{first}.outcome": "granted", f"d{first}.duration_months": "6",
        f"d{second}.outcome": "refused"})
    assert refused.status_code == 422
    assert f"#dec-d{second}-reason" in page(refused).summary_links
    assert "Aucune décision n&#39;a été enregistrée" in text(refused)
    with app.app_context(), tenant_context(world.loire.tenant.id):
        assert db.session.scalar(sa.select(sa.func.count(Decision.id))) == 0
    recorded = client.post(f"{session_url}/decisions", data={
        "csrf_token": token, f"d{first}.outcome": "granted", f"d{first}.duration_months": "6",
        f"d{second}.outcome": "refused", f"d{second}.reason": "Situation relevant du FSL seul."},
        follow_redirects=True)
    assert "2 décision(s) enregistrée(s)" in text(recorded)
    client.post(f"{session_url}/presences", data={"csrf_token": token, "members_present": "Mme A\nM. B"})
    minutes = client.post(f"{session_url}/proces-verbal", data={"csrf_token": token}, follow_redirects=True)
    assert "Procès-verbal généré" in text(minutes)
    link = re.search(r'href="(/documents/\d+)" download>Télécharger<span class="visually-hidden"> Procès-verbal',
                     minutes.get_data(as_text=True)).group(1)
    member = as_role(Role.COMMISSION_MEMBER)
    assert member.get(link).data.startswith(b"%PDF")
    member_view = member.get(session_url)
    assert member_view.status_code == 200 and "Enregistrer les décisions" not in text(member_view)
    assert as_role(Role.PRESCRIBER).get(session_url).status_code == 404  # not a session reader
    with app.app_context(), tenant_context(world.loire.tenant.id):
        outcomes = dict(db.session.execute(sa.select(Decision.request_id, Decision.outcome)).all())
        assert {k: v.value for k, v in outcomes.items()} == {first: "granted", second: "refused"}


def test_household_form_keeps_the_rows_and_reports_errors_per_member(forms_plugin, world, as_role, app):
    client = as_role(Role.PRESCRIBER)
    blank = page(client.get("/menages/nouveau"))
    blank.assert_labelled()
    assert blank.widget("extra.quartier_prioritaire")["type"] == "checkbox"
    token = csrf_token(blank.html)
    more = client.post("/menages/nouveau", data={"csrf_token": token, "rows": "3", "add_rows": "1",
                                                 "members.0.last_name": "Roux"})
    assert "members.4.last_name" in page(more).inputs and 'value="Roux"' in more.get_data(as_text=True)
    tampered = client.post("/menages/nouveau", data={"csrf_token": token, "rows": "beaucoup", "add_rows": "1"})
    assert tampered.status_code == 200 and "members.3.last_name" in page(tampered).inputs
    with app.app_context(), tenant_context(world.loire.tenant.id):
        before = db.session.scalar(sa.select(sa.func.count(Household.id)))
    refused = client.post("/menages/nouveau", data={"csrf_token": token, "rows": "3",
                                                    "members.1.last_name": "Roux", "postcode": "42"})
    assert refused.status_code == 422
    form = page(refused)
    form.assert_summary_targets_exist()
    # The only filled row was renumbered first; its missing first name is reported there.
    assert {"#m-members-0-first-name", "#m-postcode"} <= set(form.summary_links)
    created = client.post("/menages/nouveau", data={
        "csrf_token": token, "rows": "3", "reference": "1", "members.0.last_name": "Roux",
        "members.0.first_name": "Paul", "members.1.last_name": "Roux", "members.1.first_name": "Lina",
        "members.1.birth_date": "2015-06-01", "housing_status": "private_tenant", "monthly_resources": "1350.00",
        "extra.quartier_prioritaire": "y"})
    assert created.status_code == 302
    with app.app_context(), tenant_context(world.loire.tenant.id):
        assert db.session.scalar(sa.select(sa.func.count(Household.id))) == before + 1
        household = db.session.scalars(sa.select(Household).order_by(Household.id.desc())).first()
        assert household.reference_person.first_name == "Lina" and len(household.members) == 2
        assert household.extra == {"quartier_prioritaire": True}
    edit = client.post(f"/menages/{household.id}/modifier", data={"csrf_token": token, "city": "Firminy",
                                                                   "sector": "Ondaine"})
    assert edit.status_code == 302
    assert "Firminy" in text(client.get(f"/menages/{household.id}"))
    assert as_role(Role.AUDITOR).get(f"/menages/{household.id}/modifier").status_code == 403


def test_nested_plugin_fields_are_filled_row_by_row_and_shown_with_their_labels(forms_plugin, world, as_role, app):
    """A plugin's object (a referent) and list of objects (FSL aids) are fieldsets of their own
    fields: blank rows are ignored, an error points at the row's field, and nothing typed is lost."""
    client = as_role(Role.PRESCRIBER)
    blank = page(client.get("/menages/nouveau"))
    blank.assert_labelled()
    assert blank.widget("extra.referent.nom")["type"] == "text"
    assert blank.widget("extra.referent.service")["tag"] == "select"
    assert blank.widget("extra.referent.depuis")["type"] == "date"
    assert {"extra.aides.0.nature", "extra.aides.0.montant", "extra.aides.1.nature", "extra.aides.1.montant"} <= \
        set(blank.inputs)
    html = text(client.get("/menages/nouveau"))
    assert "<legend>Référent social</legend>" in html and "Aides du FSL – n° 2" in html
    # An optional group says its required parts are required only once it is started.
    assert "Facultatif : laissez-le vide s'il ne s'applique pas" in html
    assert '<option value="caution">Dépôt de garantie</option>' in html
    base = {"csrf_token": csrf_token(blank.html), "rows": "1", "reference": "0", "members.0.last_name": "Roux",
            "members.0.first_name": "Paul", "extra.referent.nom": "Mme Perrin", "extra.referent.service": "cms",
            "extra.referent.depuis": "2026-02-01", "extra.aides.0.nature": "caution",
            "extra.aides.1.nature": "", "extra.aides.1.montant": ""}
    with app.app_context(), tenant_context(world.loire.tenant.id):
        before = db.session.scalar(sa.select(sa.func.count(Household.id)))
    refused = client.post("/menages/nouveau", data={**base, "extra.aides.0.montant": "beaucoup"})
    assert refused.status_code == 422
    form = page(refused)
    assert "#m-extra-aides-0-montant" in form.summary_links
    form.assert_summary_targets_exist()
    assert "Montant invalide." in text(refused)
    assert form.widget("extra.referent.nom")["value"] == "Mme Perrin"  # kept for the correction
    assert form.widget("extra.aides.0.montant")["value"] == "beaucoup"
    with app.app_context(), tenant_context(world.loire.tenant.id):
        assert db.session.scalar(sa.select(sa.func.count(Household.id))) == before
    created = client.post("/menages/nouveau", data={**base, "extra.aides.0.montant": "350.5"})
    assert created.status_code == 302
    with app.app_context(), tenant_context(world.loire.tenant.id):
        household = db.session.scalars(sa.select(Household).order_by(Household.id.desc())).first()
        assert household.extra["referent"] == {"nom": "Mme Perrin", "service": "cms", "depuis": "2026-02-01"}
        assert household.extra["aides"] == [{"nature": "caution", "montant": "350.50"}]
    shown = text(client.get(f"/menages/{household.id}"))
    assert "Nom du référent : Mme Perrin, Service : Centre médico-social, Référent depuis le : 01/02/2026" in shown
    assert "Nature de l&#39;aide : Dépôt de garantie, Montant (€) : 350.50" in shown
    # The edit form shows the stored rows, and a blank one to add an aid.
    edit = page(client.get(f"/menages/{household.id}/modifier"))
    assert edit.widget("extra.aides.0.montant")["value"] == "350.50"
    assert edit.widget("extra.aides.1.montant").get("value", "") == ""
