"""Invitations and « Mot de passe oublié » : signed links that work once and expire; the password
policy (CNIL 2022-100) in French; no answer that tells a département admin who has an account."""

from __future__ import annotations

import re

import sqlalchemy as sa

from asll.extensions import db
from asll.models import AccountLink, AuditEvent, Membership, Role, User
from asll.tenancy import tenant_context, unscoped
from tests.accounts.conftest import clone_client, link_in, logged_in, post_form, sent_mails, text, text_of
from tests.concurrency.conftest import release
from tests.conftest import csrf_token

GOOD = "Girafe-lundi-47-parapluie"


def _invite(admin, email: str, name: str = "Nina Travailleuse", role: str = "auditor"):
    return post_form(admin, "/administration/utilisateurs", {"full_name": name, "email": email, "role": role},
                     page_url="/administration/utilisateurs")


def _choose(client, link: str, password: str, confirmation: str | None = None):
    """Post a password to a link (the CSRF token from another page: a refused link shows no form)."""
    return post_form(client, link, {"password": password, "confirmation": password if confirmation is None
                                    else confirmation}, page_url="/mot-de-passe-oublie")


def test_an_invitation_sets_the_first_password_once(app, world, as_role, folders):
    admin = as_role(Role.DEPT_ADMIN)
    invited = _invite(admin, "nina@test.asll.fr")
    assert invited.status_code == 302
    assert "Invitation envoyée à nina@test.asll.fr (Auditeur (lecture seule))." in text(admin.get("/administration/utilisateurs"))
    [mail] = sent_mails(folders)
    assert mail["To"] == "nina@test.asll.fr" and "Loire" in mail["Subject"]
    assert "ne sert qu'une fois et expire dans 72 heures" in text_of(mail)
    link = link_in(mail, "/invitation/")
    # No password can be typed for the account before the link is used.
    assert post_form(app.test_client(), "/connexion", {"email": "nina@test.asll.fr", "password": ""}).status_code == 401
    person = app.test_client()
    page = person.get(link)
    assert page.status_code == 200 and "Choisir votre mot de passe" in text(page) and "nina@test.asll.fr" in text(page)
    assert _choose(person, link, GOOD).status_code == 302
    assert "Votre mot de passe est enregistré." in text(person.get("/connexion"))
    assert logged_in(app, "nina@test.asll.fr", GOOD)
    again = app.test_client().get(link)
    assert again.status_code == 410 and "Ce lien a déjà été utilisé" in text(again)
    assert _choose(app.test_client(), link, "Autre-phrase-de-passe-93").status_code == 410
    assert logged_in(app, "nina@test.asll.fr", GOOD)  # unchanged by the refused second use
    with app.app_context(), unscoped():
        actions = db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.action.like("%password%"))).all()
    assert actions == ["user.password_set"]


def test_an_invitation_expires_after_72_hours(app, world, as_role, folders, later):
    _invite(as_role(Role.DEPT_ADMIN), "nina@test.asll.fr")
    link = link_in(sent_mails(folders)[-1], "/invitation/")
    later(hours=71, minutes=59)
    assert app.test_client().get(link).status_code == 200
    later(minutes=2)
    expired = app.test_client().get(link)
    assert expired.status_code == 410 and "Ce lien a expiré." in text(expired)
    assert _choose(app.test_client(), link, GOOD).status_code == 410
    # The admin sends a new one; the new link works, the old one stays refused.
    admin = as_role(Role.DEPT_ADMIN)
    with app.app_context(), tenant_context(world.loire.tenant.id):
        membership_id = db.session.scalar(sa.select(Membership.id).join(User).where(User.email == "nina@test.asll.fr"))
    post_form(admin, "/administration/utilisateurs/invitation", {"membership_id": membership_id},
              page_url="/administration/utilisateurs")
    fresh = link_in(sent_mails(folders)[-1], "/invitation/")
    assert fresh != link and _choose(app.test_client(), fresh, GOOD).status_code == 302


def test_a_forged_or_altered_link_is_refused(app, world, as_role, folders):
    _invite(as_role(Role.DEPT_ADMIN), "nina@test.asll.fr")
    link = link_in(sent_mails(folders)[-1], "/invitation/")
    token = link.rsplit("/", 1)[1]
    for bad in (f"/invitation/{token[:-2]}xx", f"/mot-de-passe-oublie/{token}", "/invitation/abc"):
        response = app.test_client().get(bad)
        assert response.status_code == 410 and "Ce lien n'est pas valide" in text(response).replace("&#39;", "'"), bad


def test_weak_passwords_are_refused_in_french(app, world, as_role, folders):
    _invite(as_role(Role.DEPT_ADMIN), "nina.travailleuse@test.asll.fr", name="Nina Travailleuse")
    link = link_in(sent_mails(folders)[-1], "/invitation/")
    client = app.test_client()
    cases = {
        "court-2026": "Le mot de passe doit faire au moins 12 caractères.",
        "aaaaaaaaaaaa": "Les répétitions comme « aaa » se devinent facilement.",
        "motdepasse123": "Ce mot de passe est trop facile à deviner.",
        "azertyuiop123": "Ce mot de passe est trop facile à deviner.",
        "Nina-Travailleuse-2026!": "Le mot de passe ne doit contenir ni votre nom, ni votre prénom",
        "travailleuse.nina@test": "Le mot de passe ne doit contenir ni votre nom",
    }
    for password, message in cases.items():
        refused = _choose(client, link, password)
        assert refused.status_code == 422, password
        assert message in text(refused).replace("&#39;", "'").replace("&#34;", '"'), password
    mismatch = _choose(client, link, GOOD, "Girafe-lundi-47-parasol")
    assert mismatch.status_code == 422 and "Les deux mots de passe saisis sont différents." in text(mismatch)
    # Refusals spent nothing: the link still sets a good password.
    assert _choose(client, link, GOOD).status_code == 302


def test_forgotten_password_answers_the_same_and_its_link_works_once(app, world, folders, later):
    email = world.loire.users[Role.PRESCRIBER].email
    session_before = logged_in(app, email, world.password)
    copy = clone_client(app, session_before)
    known = post_form(app.test_client(), "/mot-de-passe-oublie", {"email": email})
    unknown = post_form(app.test_client(), "/mot-de-passe-oublie", {"email": "personne@test.asll.fr"})
    assert known.status_code == unknown.status_code == 200
    def same(response, address):
        return re.sub(r'name="csrf_token" type="hidden" value="[^"]+"', "", text(response)).replace(address, "X")

    assert same(known, email) == same(unknown, "personne@test.asll.fr")
    assert "Si un compte actif correspond à cette adresse" in text(known)
    [mail] = sent_mails(folders)  # one message: to the real account only
    assert mail["To"] == email and "expire dans 60 minutes" in text_of(mail)
    link = link_in(mail, "/mot-de-passe-oublie/")
    later(minutes=59)
    assert _choose(app.test_client(), link, GOOD).status_code == 302
    # The old password and every session opened with it are over.
    assert post_form(app.test_client(), "/connexion", {"email": email, "password": world.password}).status_code == 401
    assert copy.get("/tableau-de-bord").status_code == 302
    assert session_before.get("/api/v1/households").status_code == 401
    assert logged_in(app, email, GOOD)
    used = app.test_client().get(link)
    assert used.status_code == 410 and "déjà été utilisé" in text(used)


def test_a_reset_link_expires_and_a_new_one_retires_the_previous(app, world, folders, later):
    email = world.loire.users[Role.PRESCRIBER].email
    post_form(app.test_client(), "/mot-de-passe-oublie", {"email": email})
    first = link_in(sent_mails(folders)[-1], "/mot-de-passe-oublie/")
    later(minutes=61)
    assert "Ce lien a expiré." in text(app.test_client().get(first))
    post_form(app.test_client(), "/mot-de-passe-oublie", {"email": email})
    second = link_in(sent_mails(folders)[-1], "/mot-de-passe-oublie/")
    post_form(app.test_client(), "/mot-de-passe-oublie", {"email": email})
    third = link_in(sent_mails(folders)[-1], "/mot-de-passe-oublie/")
    assert app.test_client().get(second).status_code == 410  # retired by the third
    assert _choose(app.test_client(), third, GOOD).status_code == 302


def test_two_clicks_at_once_on_one_link_set_one_password(app, world, folders):
    email = world.loire.users[Role.PRESCRIBER].email
    post_form(app.test_client(), "/mot-de-passe-oublie", {"email": email})
    link = link_in(sent_mails(folders)[-1], "/mot-de-passe-oublie/")
    clients = [app.test_client() for _ in range(5)]
    tokens = [csrf_token(text(c.get(link))) for c in clients]
    passwords = [f"Girafe-lundi-4{i}-parapluie" for i in range(5)]
    responses = release(5, lambda i: clients[i].post(link, data={
        "password": passwords[i], "confirmation": passwords[i], "csrf_token": tokens[i]}))
    statuses = sorted(r.status_code for r in responses)
    assert statuses[0] == 302 and statuses.count(302) == 1 and set(statuses[1:]) <= {409, 410}, statuses
    winner = passwords[[r.status_code for r in responses].index(302)]
    assert logged_in(app, email, winner)
    for response in responses:
        if response.status_code != 302:
            assert "déjà été utilisé" in text(response)
    with app.app_context(), unscoped():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AccountLink).where(
            AccountLink.used_at.is_(None))) == 0


def test_changing_ones_password_checks_the_current_one_and_the_policy(app, world):
    client = logged_in(app, world.loire.users[Role.AUDITOR].email, world.password)
    wrong = post_form(client, "/compte/mot-de-passe", {"current": "pas-le-bon-mot-de-passe", "password": GOOD,
                                                      "confirmation": GOOD}, page_url="/compte")
    assert wrong.status_code == 422 and "Le mot de passe actuel est incorrect." in text(wrong)
    weak = post_form(client, "/compte/mot-de-passe", {"current": world.password, "password": "aaaaaaaaaaaa",
                                                     "confirmation": "aaaaaaaaaaaa"}, page_url="/compte")
    assert weak.status_code == 422 and "Ce mot de passe est trop facile à deviner." in text(weak)
    assert post_form(client, "/compte/mot-de-passe", {"current": world.password, "password": GOOD,
                                                     "confirmation": GOOD}, page_url="/compte").status_code == 302
    with app.app_context(), unscoped():
        event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "user.password_change")).one()
    assert event.actor_id == world.loire.users[Role.AUDITOR].id and event.changes == {"password": "modifié"}


def test_an_admin_cannot_tell_whether_an_email_has_an_account_elsewhere(app, world, as_role, folders):
    """Loire's admin adds Orne's prescriber and a new person: the same answer, no « Un compte existe déjà »."""
    orne_person = world.orne.users[Role.PRESCRIBER]
    admin = as_role(Role.DEPT_ADMIN)
    existing = _invite(admin, orne_person.email, name="Nom Tapé Par L'admin")
    page_after_existing = admin.get("/administration/utilisateurs")
    new = _invite(admin, "inconnue@test.asll.fr", name="Nom Tapé Par L'admin")
    page_after_new = admin.get("/administration/utilisateurs")
    assert existing.status_code == new.status_code == 302
    assert existing.headers["Location"] == new.headers["Location"]
    assert f"Invitation envoyée à {orne_person.email} (Auditeur (lecture seule))." in text(page_after_existing)
    assert "Invitation envoyée à inconnue@test.asll.fr (Auditeur (lecture seule))." in text(page_after_new)
    for page in (page_after_existing, page_after_new):
        assert "existe déjà" not in text(page)
    # A second time with the same role is refused the same way for both: they are members now.
    for email in (orne_person.email, "inconnue@test.asll.fr"):
        again = _invite(admin, email)
        assert again.status_code == 422 and "Cette personne a déjà ce rôle dans le département." in text(again)
    # The existing account was told of its new role (no invitation, its password unchanged).
    role_mail, invitation = sent_mails(folders)
    assert role_mail["To"] == orne_person.email and "/invitation/" not in text_of(role_mail)
    assert "Auditeur (lecture seule)" in text_of(role_mail)
    assert invitation["To"] == "inconnue@test.asll.fr" and "/invitation/" in text_of(invitation)
    assert logged_in(app, orne_person.email, world.password)


def test_a_platform_admin_naming_an_existing_account_gets_the_usual_answer(app, world, folders):
    client = logged_in(app, world.platform_admin.email, world.password)
    created = post_form(client, "/admin/departements", {
        "code": "76", "name": "Seine-Maritime", "admin_name": "Ada Admin",
        "admin_email": world.orne.users[Role.DEPT_AGENT].email}, page_url="/admin/departements")
    assert created.status_code == 302
    assert "invitation envoyée à son administrateur" in text(client.get("/admin/plugins"))
    [mail] = sent_mails(folders)
    assert mail["To"] == world.orne.users[Role.DEPT_AGENT].email and "Seine-Maritime" in text_of(mail)


def test_the_first_platform_admin_typed_on_the_command_line_gets_the_same_policy(app):
    import sqlalchemy as sa

    from asll.extensions import db
    from asll.models import User

    runner = app.test_cli_runner()
    weak = runner.invoke(args=["asll", "create-platform-admin", "chef@plateforme.fr", "Camille Chef",
                               "--password", "aaaaaaaaaaaa"])
    assert weak.exit_code == 1 and "Erreur" in weak.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(User.id)).where(User.email == "chef@plateforme.fr")) == 0
    strong = runner.invoke(args=["asll", "create-platform-admin", "chef@plateforme.fr", "Camille Chef",
                                 "--password", "Tulipe-Vélo-Orage-Marmite-42"])
    assert strong.exit_code == 0, strong.output
    with app.app_context():
        assert db.session.scalar(sa.select(User.is_platform_admin).where(User.email == "chef@plateforme.fr"))
