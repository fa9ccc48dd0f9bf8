"""Département administration (organisations, users, plugin settings) and platform administration."""

from __future__ import annotations

import sqlalchemy as sa

from asll.extensions import db
from asll.models import AuditEvent, Membership, Organisation, OrganisationKind, Role, Tenant, User
from asll.services import plugins as plugin_service
from asll.tenancy import tenant_context, unscoped
from tests.conftest import csrf_token, login
from tests.web.conftest import FORMS, page, text


def test_department_admin_creates_and_edits_an_organisation(app, world, as_role):
    client = as_role(Role.DEPT_ADMIN)
    listing = client.get("/administration/organismes")
    page(listing).assert_labelled()
    token = csrf_token(listing.get_data(as_text=True))
    duplicate = client.post("/administration/organismes", data={
        "csrf_token": token, "name": "opérateur (association) 42", "kind": "operator"})
    assert duplicate.status_code == 422
    assert "Un organisme porte déjà ce nom dans ce département." in text(duplicate)
    assert "#org-name" in page(duplicate).summary_links
    created = client.post("/administration/organismes", data={
        "csrf_token": token, "name": "ANEF Loire", "kind": "operator", "sectors": "Ondaine, Forez",
        "capacity": "50", "reinforced_capacity": "13", "capacity_unit": "month", "email": "contact@anef.example",
        "active": "y"})
    assert created.status_code == 302
    with app.app_context(), tenant_context(world.loire.tenant.id):
        anef = db.session.scalars(sa.select(Organisation).where(Organisation.name == "ANEF Loire")).one()
        assert (anef.sectors, anef.capacity, anef.reinforced_capacity) == (["Ondaine", "Forez"], 50, 13)
    edit_url = f"/administration/organismes/{anef.id}"
    refused = client.post(edit_url, data={"csrf_token": token, "name": "ANEF Loire", "kind": "operator",
                                          "capacity": "10", "reinforced_capacity": "13"})
    assert refused.status_code == 422 and "au plus la capacité" in text(refused)
    client.post(edit_url, data={"csrf_token": token, "name": "ANEF Loire", "kind": "operator", "capacity": "45",
                                "sectors": "Ondaine"})  # "active" unticked: the organisation is deactivated
    with app.app_context(), tenant_context(world.loire.tenant.id):
        anef = db.session.get(Organisation, anef.id)
        assert (anef.capacity, anef.active, anef.sectors) == (45, False, ["Ondaine"])
        event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "organisation.update")).one()
        assert event.changes["capacity"] == [50, 45] and event.changes["active"] == [True, False]
    # An inactive operator is no longer offered to the decisions.
    agent = as_role(Role.DEPT_AGENT)
    assert "ANEF Loire" not in text(agent.get(f"/mesures/{world.loire.measure.id}"))
    assert as_role(Role.DEPT_AGENT).get(edit_url).status_code == 403


def _accept_invitation(app, folders, password: str) -> None:
    """The invited person opens the link of the last mail and chooses a password."""
    from tests.accounts.conftest import link_in, post_form, sent_mails

    link = link_in(sent_mails(folders)[-1], "/invitation/")
    chosen = post_form(app.test_client(), link, {"password": password, "confirmation": password})
    assert chosen.status_code == 302, text(chosen)


def test_department_admin_adds_a_user_and_suspends_a_role(app, world, as_role, folders):
    client = as_role(Role.DEPT_ADMIN)
    users_page = client.get("/administration/utilisateurs")
    token = csrf_token(users_page.get_data(as_text=True))
    operator_org = world.loire.orgs[OrganisationKind.OPERATOR].id
    no_org = client.post("/administration/utilisateurs", data={
        "csrf_token": token, "full_name": "Nina Travailleuse", "email": "nina@test.asll.fr", "role": "operator_worker"})
    assert no_org.status_code == 422 and "Ce rôle doit être rattaché à un organisme." in text(no_org)
    created = client.post("/administration/utilisateurs", data={
        "csrf_token": token, "full_name": "Nina Travailleuse", "email": "nina@test.asll.fr", "role": "operator_worker",
        "organisation_id": str(operator_org)})
    assert created.status_code == 302
    _accept_invitation(app, folders, "Girafe-lundi-47-parapluie")
    nina = app.test_client()
    login(nina, "nina@test.asll.fr", "Girafe-lundi-47-parapluie")
    assert "A-42-0001" in text(nina.get("/mesures"))
    with app.app_context(), tenant_context(world.loire.tenant.id):
        membership = db.session.scalars(sa.select(Membership).join(User).where(User.email == "nina@test.asll.fr")).one()
    client.post("/administration/utilisateurs/habilitation", data={"csrf_token": token,
                                                                   "membership_id": membership.id, "active": "0"})
    assert nina.get("/mesures").status_code == 302  # no active role left in any tenant
    with app.app_context(), tenant_context(world.loire.tenant.id):
        assert db.session.scalars(sa.select(AuditEvent.action).where(
            AuditEvent.object_type == "membership", AuditEvent.object_id == membership.id).order_by(AuditEvent.id)).all() == [
            "membership.create", "membership.deactivate"]
    # The admin cannot remove their own admin role.
    with app.app_context(), tenant_context(world.loire.tenant.id):
        own = db.session.scalars(sa.select(Membership).where(
            Membership.user_id == world.loire.users[Role.DEPT_ADMIN].id)).one()
    refused = client.post("/administration/utilisateurs/habilitation", data={
        "csrf_token": token, "membership_id": own.id, "active": "0"}, follow_redirects=True)
    assert "Vous ne pouvez pas retirer votre propre rôle d&#39;administrateur." in text(refused)
    # A membership of another tenant is not found.
    with app.app_context(), tenant_context(world.orne.tenant.id):
        orne_membership = db.session.scalars(sa.select(Membership.id)).first()
    assert client.post("/administration/utilisateurs/habilitation", data={
        "csrf_token": token, "membership_id": orne_membership, "active": "0"}).status_code == 404


def test_plugin_settings_are_rendered_from_the_schema_and_validated(app, world, as_role, forms_plugin):
    client = as_role(Role.DEPT_ADMIN)
    settings = client.get("/administration/parametres")
    form = page(settings)
    form.assert_labelled()
    assert form.widget(f"{FORMS}.delai_bilan_jours")["type"] == "number"
    assert form.widget(f"{FORMS}.modes.Nord")["tag"] == "select"  # one select per key of the dict
    token = csrf_token(form.html)
    refused = client.post("/administration/parametres", data={
        "csrf_token": token, "plugin": FORMS, f"{FORMS}.delai_bilan_jours": "0", f"{FORMS}.modes.Nord": "seul",
        f"{FORMS}.modes.Sud": "seul"})
    assert refused.status_code == 422 and "Au moins 1 jour." in text(refused)
    # A field without a French message of its own still answers in French.
    typed = client.post("/administration/parametres", data={
        "csrf_token": token, "plugin": FORMS, f"{FORMS}.delai_bilan_jours": "beaucoup"})
    assert typed.status_code == 422 and "Un nombre entier est attendu." in text(typed)
    assert "Not a valid" not in text(typed)
    client.post("/administration/parametres", data={
        "csrf_token": token, "plugin": FORMS, f"{FORMS}.delai_bilan_jours": "45", f"{FORMS}.modes.Nord": "commission",
        f"{FORMS}.modes.Sud": "seul"})
    with app.app_context():
        plugin_service._forget_cache()
        assert plugin_service.tenant_info(world.loire.tenant.id).settings_for(FORMS) == {
            "delai_bilan_jours": 45, "modes": {"Nord": "commission", "Sud": "seul"}}
    assert client.post("/administration/parametres", data={"csrf_token": token, "plugin": "orne"}).status_code == 404


def test_platform_admin_creates_a_departement_and_its_admin(app, world, folders):
    client = app.test_client()
    login(client, world.platform_admin.email, world.password)
    landing = client.get("/", follow_redirects=True)
    assert "Départements hébergés" in text(landing) and "Loire" in text(landing)
    token = csrf_token(landing.get_data(as_text=True))
    refused = client.post("/admin/departements", data={
        "csrf_token": token, "code": "42", "name": "Loire bis", "admin_name": "Ada Admin",
        "admin_email": "ada@test.asll.fr"})
    assert refused.status_code == 422 and "Ce département existe déjà." in text(refused)
    created = client.post("/admin/departements", data={
        "csrf_token": token, "code": "76", "name": "Seine-Maritime", "admin_name": "Ada Admin",
        "admin_email": "ada@test.asll.fr"})
    assert created.status_code == 302 and created.headers["Location"].endswith("/admin/plugins")
    with app.app_context(), unscoped():
        tenant = db.session.scalars(sa.select(Tenant).where(Tenant.code == "76")).one()
        admin = db.session.scalars(sa.select(Membership).where(Membership.tenant_id == tenant.id)).one()
        assert admin.role is Role.DEPT_ADMIN and admin.user.email == "ada@test.asll.fr"
    _accept_invitation(app, folders, "Girafe-lundi-47-parapluie")
    ada = app.test_client()
    login(ada, "ada@test.asll.fr", "Girafe-lundi-47-parapluie")
    assert "Tableau de bord – Seine-Maritime (76)" in text(ada.get("/tableau-de-bord"))
    assert client.get(f"/menages/{world.loire.household.id}").status_code in (302, 404)


def test_department_admin_sets_the_reminder_delays(app, world, as_role):
    from asll.services import reminders

    client = as_role(Role.DEPT_ADMIN)
    assert 'href="/administration/rappels"' in client.get("/administration").get_data(as_text=True)
    shown = client.get("/administration/rappels")
    page(shown).assert_labelled()
    with app.app_context():
        default = reminders.default_steps(world.loire.tenant.id)
    assert f'value="{", ".join(map(str, default))}"' in shown.get_data(as_text=True)
    token = csrf_token(shown.get_data(as_text=True))
    refused = client.post("/administration/rappels", data={"csrf_token": token, "steps": "-15, bientôt"})
    assert refused.status_code == 422 and "#delais" in page(refused).summary_links
    saved = client.post("/administration/rappels", data={"csrf_token": token, "steps": "0, -20, -5"},
                        follow_redirects=True)
    assert "Délais de rappel enregistrés : -20, -5, 0" in text(saved)
    with app.app_context():
        assert reminders.reminder_steps(world.loire.tenant.id) == (-20, -5, 0)
        assert reminders.reminder_steps(world.orne.tenant.id) == reminders.default_steps(world.orne.tenant.id)
    client.post("/administration/rappels", data={"csrf_token": token, "steps": "", "reset": "1"})
    with app.app_context():
        assert reminders.reminder_steps(world.loire.tenant.id) == default
    assert as_role(Role.DEPT_AGENT).get("/administration/rappels").status_code == 403


def test_a_member_chooses_a_daily_digest(app, world, as_role):
    from asll.services import reminders

    client = as_role(Role.OPERATOR_WORKER)
    shown = client.get("/mes-rappels")
    page(shown).assert_labelled()
    client.post("/mes-rappels", data={"csrf_token": csrf_token(shown.get_data(as_text=True)), "daily_digest": "y"})
    with app.app_context():
        actor = world.loire.actor(Role.OPERATOR_WORKER)
        assert reminders.preferences(actor) == {"daily_digest": True}
