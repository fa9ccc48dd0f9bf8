"""The legal pages (public, linked from every page's footer), their texts as a tenant setting, and
the record of processing exported from the same settings."""

from __future__ import annotations

import csv
import html
import io

import sqlalchemy as sa

from asll.extensions import db
from asll.models import AuditEvent, LegalNotice, Role
from asll.services.errors import Conflict, PermissionDenied, ValidationFailed
from asll.services.rgpd import legal
from asll.services.rgpd import policy as policy_service
from asll.tenancy import tenant_context
from tests.conftest import csrf_token, login
from tests.core.workflow_support import refused

PAGES = {"/mentions-legales": "Mentions légales", "/donnees-personnelles": "Données personnelles",
         "/accessibilite": "Déclaration d'accessibilité", "/aide": "Aide et contact"}


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_the_four_pages_are_public_and_linked_from_the_footer(app, world, client):
    login_page = _text(client.get("/connexion"))
    for path, title in PAGES.items():
        assert f'href="{path}"' in login_page  # the footer of a page with nobody logged in
        page = client.get(path)
        assert page.status_code == 200, path
        body = _text(page)
        assert f"<h1>{title}</h1>" in body
        assert "?departement=42" in body and "Loire (42)" in body  # choose your département's texts
    loire = _text(client.get("/donnees-personnelles?departement=42"))
    assert "<h1>Données personnelles – Département de la Loire</h1>" in loire
    assert "Le Département de la Loire, représenté par le président" in loire
    assert ("Les dossiers sont conservés pendant la durée de l'accompagnement puis 2 ans après le dernier contact "
            "avec le ménage, puis anonymisés") in loire
    assert "réclamation à la CNIL" in loire and "délégué à la protection des données" in loire
    accessibility = _text(client.get("/accessibilite?departement=42"))
    assert "Non conforme au RGAA" in accessibility and "axe-core" in accessibility
    assert "Accessibilité : non conforme" in accessibility  # the footer says the declared level
    assert client.get("/aide?departement=00").status_code == 404


def test_a_departements_own_texts_and_policy_are_what_its_pages_say(app, world, client):
    loire = world.loire
    with app.app_context(), tenant_context(loire.tenant.id):
        admin = loire.actor(Role.DEPT_ADMIN)
        values = dict(legal.notice_for(loire.tenant.id).values)
        refused(PermissionDenied, legal.update_notice, loire.actor(Role.AUDITOR), values, 0)
        error = refused(ValidationFailed, legal.update_notice, admin,
                        {**values, "dpo_contact": "", "accessibility_level": "presque"}, 0)
        assert error.fields == {"dpo_contact": ["Entre 1 et 5 000 caractères."],
                                "accessibility_level": ["État de conformité inconnu."]}
        saved = legal.update_notice(admin, {**values, "dpo_contact": "dpo@loire.fr – 2 rue Charles de Gaulle",
                                            "accessibility_level": "partiellement conforme"}, 0)
        assert saved.version == 1 and saved.values["dpo_contact"].startswith("dpo@loire.fr")
        refused(Conflict, legal.update_notice, admin, values, 0)  # a form built on the defaults, now stale
        [entry] = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "rgpd.legal_notice"))
        assert entry.changes == {"accessibility_level": "modifié", "dpo_contact": "modifié"}
        policy_service.update_policy(admin, {"active_months": 36, "archive_enabled": False, "archive_years": 10,
                                             "audit_months": 6}, 0)
        db.session.remove()
    login(client, loire.users[Role.PRESCRIBER].email, world.password)
    dashboard = _text(client.get("/tableau-de-bord"))
    assert "Accessibilité : partiellement conforme" in dashboard  # every page's footer, for the user's département
    page = _text(client.get("/donnees-personnelles"))
    assert "Département de la Loire" in page and "dpo@loire.fr – 2 rue Charles de Gaulle" in page
    assert "puis 3 ans après le dernier contact" in page and "conservé 6 mois" in page
    assert "archive intermédiaire" not in page


def test_the_admin_edits_the_texts_through_the_form(app, world, client):
    loire = world.loire
    login(client, loire.users[Role.DEPT_ADMIN].email, world.password)
    form = _text(client.get("/administration/pages-legales"))
    assert "Textes par défaut : adaptez-les à votre département." in form
    with app.app_context(), tenant_context(loire.tenant.id):
        values = dict(legal.notice_for(loire.tenant.id).values)
        db.session.remove()
    posted = client.post("/administration/pages-legales", data={
        **values, "help_contact": "", "version": "0", "csrf_token": csrf_token(form)})
    assert posted.status_code == 422
    assert "Contact : Ce champ est obligatoire." in _text(posted)
    with app.app_context(), tenant_context(loire.tenant.id):
        assert db.session.scalar(sa.select(sa.func.count(LegalNotice.id))) == 0  # nothing saved
        db.session.remove()
    saved = client.post("/administration/pages-legales", data={
        **values, "help_contact": "Service logement : 04 77 00 00 00", "version": "0",
        "csrf_token": csrf_token(form)})
    assert saved.status_code == 302
    assert "Service logement : 04 77 00 00 00" in _text(client.get("/aide"))
    stale = client.post("/administration/pages-legales", data={**values, "version": "0",
                                                                "csrf_token": csrf_token(form)})
    assert stale.status_code == 409 and "rechargez la page" in _text(stale)


def test_the_record_of_processing_is_exported_from_the_same_settings(app, world, client, tmp_path):
    loire = world.loire
    login(client, loire.users[Role.AUDITOR].email, world.password)
    page = _text(client.get("/administration/registre"))
    assert "Registre des activités de traitement" in page and "Transferts hors de l'Union européenne" in page
    download = client.get("/administration/registre.csv")
    assert download.status_code == 200 and download.mimetype == "text/csv"
    assert 'filename="registre-traitements-42.csv"' in download.headers["Content-Disposition"]
    raw = download.data.decode("utf-8")
    assert raw.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(raw[1:]), delimiter=";"))
    assert rows[0] == ["Rubrique", "Contenu"]
    found = dict(rows[1:])
    assert found["Responsable du traitement"].startswith("Le Département de la Loire")
    assert found["Durées de conservation"].startswith("Les dossiers sont conservés pendant la durée de "
                                                       "l'accompagnement puis 2 ans")
    assert "10 ans, puis détruits" in found["Durées de conservation"]
    assert set(found) >= {"Finalités", "Base légale", "Destinataires", "Catégories de données",
                          "Délégué à la protection des données", "Mesures de sécurité"}
    prescriber = app.test_client()
    login(prescriber, loire.users[Role.PRESCRIBER].email, world.password)
    assert prescriber.get("/administration/registre.csv").status_code == 403
    output = tmp_path / "registre.csv"
    result = app.test_cli_runner().invoke(args=["asll", "rgpd-registre", "42", "--output", str(output)])
    assert result.exit_code == 0, result.output
    with open(output, encoding="utf-8-sig") as handle:
        assert dict(list(csv.reader(handle, delimiter=";"))[1:]) == found


FOUR = {"42": ("Loire", "de la Loire"), "61": ("Orne", "de l'Orne"), "76": ("Seine-Maritime", "de la Seine-Maritime"),
        "57": ("Moselle", "de la Moselle")}


def test_the_four_departements_pages_and_records_name_them_with_their_article(app, world, client, tmp_path):
    """« Département de la Loire », « de l'Orne »: the plugin's name_with_article; a département without a
    plugin gets the core's guess (« de l'… » before a vowel, « de … » otherwise)."""
    from asll.models import Tenant
    from asll.tenancy import unscoped

    with app.app_context(), unscoped():
        for code, (name, _de) in FOUR.items():
            if db.session.scalar(sa.select(Tenant.id).where(Tenant.code == code)) is None:
                db.session.add(Tenant(code=code, name=name))
        db.session.add(Tenant(code="98", name="Test"))
        db.session.commit()
        db.session.remove()
    for code, (name, de) in {**FOUR, "98": ("Test", "de Test")}.items():
        mentions = _text(client.get(f"/mentions-legales?departement={code}"))
        assert f"<h1>Mentions légales – Département {de}</h1>" in mentions, code
        assert f"Département {de}, collectivité territoriale." in mentions
        assert f"du conseil départemental {de}." in mentions
        assert f"Département {name}" not in mentions  # never without its article
        data = _text(client.get(f"/donnees-personnelles?departement={code}"))
        assert f"Le Département {de}, représenté par" in data
        assert f"Le délégué à la protection des données du Département {de}, joignable" in data
        output = tmp_path / f"registre-{code}.csv"
        result = app.test_cli_runner().invoke(args=["asll", "rgpd-registre", code, "--output", str(output)])
        assert result.exit_code == 0, result.output
        with open(output, encoding="utf-8-sig") as handle:
            found = dict(list(csv.reader(handle, delimiter=";"))[1:])
        assert found["Responsable du traitement"].startswith(f"Le Département {de}, représenté")
        assert f"Département {name}" not in "".join(found.values())
    dry_run = app.test_cli_runner().invoke(args=["asll", "retention", "--dry-run", "--tenant", "61"])
    assert "Département de l'Orne (61) – passage du" in dry_run.output, dry_run.output
