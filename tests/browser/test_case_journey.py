"""A whole ASLL case in a real browser, with every role, axe-core on every page.

The prescriber files a household and a request; the commission secretariat programmes a
session, puts the request on its agenda, grants it and edits the letters and the minutes;
a commission member reads the session; the operator's social worker starts the measure and
asks for a prolongation, the département agent grants it, the worker ends the measure and
records the bilan, then generates the bilan PDF; the auditor reads the file; the
département admin goes through the administration pages and downloads an export produced by
a real Celery worker; the platform admin sees the départements and plugins.

Dates are today's (the live server and Chromium share the real clock): every rule the
services check is relative (start after the decision, end after the start...).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from asll.domain.calendar import today
from asll.extensions import db
from asll.models import AuditEvent, Decision, Document, Measure, MeasureStatus, Request, RequestStatus, Role
from asll.tenancy import tenant_context
from tests.browser.conftest import BrowserCheck, log_in

pytestmark = pytest.mark.browser

DIAGNOSTIC = {
    "Situation familiale": "Mère isolée, deux enfants de 4 et 7 ans.",
    "Situation administrative": "Titre de séjour valide, droits CAF ouverts.",
    "Situation financière et endettement": "RSA et prestations familiales ; dette de loyer de 1 200 €.",
    "Conditions d'habitat": "Hébergée chez sa sœur dans un T2.",
    "Parcours logement": "Expulsée de son logement du parc privé en 2025.",
    "Difficultés au regard du logement": "Gestion du budget, démarches administratives.",
    "Potentiels du ménage": "Motivée, suivie par le CCAS.",
    "Démarches déjà entreprises": "Demande de logement social déposée en janvier.",
    "Objectifs de l'accompagnement": "Accéder à un logement autonome et s'y maintenir.",
}


def log_out(b: BrowserCheck) -> None:
    b.page.get_by_role("button", name="Se déconnecter").click()
    b.page.wait_for_url(re.compile(r"/connexion"))


def notice(b: BrowserCheck) -> str:
    return b.page.locator(".notice").first.inner_text()


def open_action(b: BrowserCheck, label: str):
    """Open a collapsed action with the keyboard (focus its summary, press Enter); return its form."""
    details = b.page.locator("details.action").filter(has=b.page.locator("summary", has_text=label)).first
    details.locator("summary").focus()
    b.page.keyboard.press("Enter")
    assert details.get_attribute("open") is not None, f"« {label} » did not open with the keyboard"
    return details


def download(b: BrowserCheck, link) -> bytes:
    with b.page.expect_download() as info:
        link.click()
    return Path(info.value.path()).read_bytes()


def test_a_case_from_request_to_bilan_with_every_role(app, world, live_server, browser_context, artifacts_folder):
    page = browser_context.new_page()
    b = BrowserCheck(page, live_server, artifacts_folder)
    loire = world.loire
    day = today()

    # -- the login page, and the keyboard: the first Tab reaches the skip link ---------------
    b.goto("/connexion", "connexion")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Aller au contenu"

    # -- prescriber: a household (an error first), then a request ------------------------------
    log_in(b, loire.users[Role.PRESCRIBER].email, world.password, "prescripteur")
    page.get_by_role("link", name="Nouveau ménage").first.click()
    b.check("nouveau ménage")
    page.get_by_label("Nom (obligatoire)", exact=True).fill("Durand")
    page.get_by_label("Code postal").fill("4200")
    page.get_by_role("button", name="Créer le ménage").click()
    summary = page.locator(".error-summary")
    assert "Prénom : Ce champ est obligatoire." in summary.inner_text()
    assert "Code postal : Code postal invalide." in summary.inner_text()
    assert page.evaluate("document.activeElement.classList.contains('error-summary')")
    b.check("nouveau ménage avec erreurs")
    summary.get_by_role("link", name=re.compile("^Prénom")).click()
    assert page.evaluate("document.activeElement.name") == "members.0.first_name"
    page.keyboard.type("Ana")
    page.get_by_label("Date de naissance").first.fill("1988-05-01")
    page.get_by_label("Adresse", exact=True).fill("12 rue de la Paix")
    page.get_by_label("Code postal").fill("42000")
    page.get_by_label("Commune").fill("Saint-Étienne")
    page.get_by_label("Secteur").fill("Centre")
    page.get_by_label("Statut d'occupation").select_option(label="Hébergé par des tiers")
    page.get_by_label("Ressources mensuelles du ménage (en euros)").fill("980.50")
    page.get_by_role("button", name="Créer le ménage").click()
    assert "créé" in notice(b)
    b.check("dossier du ménage")

    page.get_by_role("link", name="Nouvelle demande pour ce ménage").click()
    b.check("nouvelle demande étape 1")
    page.get_by_label("ASLL accès (recherche, installation dans le logement)").check()
    page.get_by_role("button", name="Continuer").click()
    b.check("nouvelle demande étape 2")
    page.get_by_label("Origine de la demande").select_option(label="Travailleur social du Département")
    for label, value in DIAGNOSTIC.items():
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_label("Adhésion donnée par (nom du ou des signataires)").fill("Ana Durand")
    page.get_by_label("Date de signature du diagnostic par le ménage (obligatoire)").fill(day.isoformat())
    # The Loire's own fields (imprimé 42 and fiche ASLL joined): whatever their labels, tick them.
    extra = page.locator("fieldset", has_text="Informations demandées par le département")
    for box in extra.locator("input[type=checkbox]").all():
        box.check()
    page.get_by_role("button", name="Enregistrer et déposer la demande").click()
    assert "déposée" in notice(b)
    reference = page.locator("h1").inner_text().split()[1]
    assert "Commission Logement Unique (CLU)" in page.locator(".facts").inner_text()
    b.check("demande déposée")
    log_out(b)

    # -- commission secretariat: session, agenda, decision, letters, minutes -----------------
    log_in(b, loire.users[Role.COMMISSION_SECRETARY].email, world.password, "secrétariat")
    page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name="Commissions").click()
    b.check("séances des commissions")
    page.get_by_label("Commission (obligatoire)").select_option(label="Commission Logement Unique (CLU)")
    page.get_by_label("Date de la séance (obligatoire)").fill(day.isoformat())
    page.get_by_label("Lieu").fill("Hôtel du Département, salle 2")
    page.get_by_role("button", name="Programmer la séance").click()
    assert "Séance programmée" in notice(b)
    page.get_by_label(re.compile(re.escape(reference))).check()
    page.get_by_role("button", name="Inscrire à l'ordre du jour").click()
    assert "1 demande(s) inscrite(s)" in notice(b)
    b.check("séance avec ordre du jour")
    decision = page.locator("fieldset", has_text=reference)
    decision.get_by_label("Décision").select_option(label="Accordée")
    decision.get_by_label("Opérateur désigné").select_option(label="Opérateur (association) 42")
    decision.get_by_label("Durée accordée (en mois)").fill("6")
    page.get_by_role("button", name="Enregistrer les décisions").click()
    assert "1 décision(s) enregistrée(s)" in notice(b)
    page.get_by_label("Membres présents").fill("Mme Martin (Département)\nM. Leroy (CAF)")
    page.get_by_role("button", name="Enregistrer les présences").click()
    page.get_by_role("button", name=re.compile("Éditer les notifications")).click()
    assert "3 notification(s)" in notice(b)
    page.get_by_role("button", name="Générer le procès-verbal").click()
    assert "Procès-verbal généré" in notice(b)
    b.check("séance tenue avec procès-verbal")
    minutes = download(b, page.get_by_role("link", name=re.compile("Télécharger Procès-verbal")))
    assert minutes.startswith(b"%PDF")
    log_out(b)

    # -- a commission member reads the session, without the secretariat's forms ---------------
    log_in(b, loire.users[Role.COMMISSION_MEMBER].email, world.password, "membre de commission")
    page.get_by_role("link", name="Commissions").click()
    page.get_by_role("link", name=re.compile(r"\d{4}$")).first.click()
    assert page.get_by_role("button", name="Enregistrer les décisions").count() == 0
    assert "Accordée" in page.locator("#decisions").locator("..").inner_text()
    b.check("séance vue par un membre")
    log_out(b)

    # -- operator: start the measure, ask for a prolongation -----------------------------------
    log_in(b, loire.users[Role.OPERATOR_WORKER].email, world.password, "opérateur")
    page.get_by_role("region", name="Mesures à démarrer").locator("li", has_text="DURAND").get_by_role("link").click()
    measure_url = page.url
    measure_reference = page.locator("h1").inner_text().split()[1]
    b.check("mesure accordée")
    start = open_action(b, "Démarrer la mesure (contrat signé)")
    assert start.get_by_label("Date de début (signature du contrat) (obligatoire)").input_value() == day.isoformat()
    start.get_by_role("button", name="Démarrer la mesure (contrat signé)").click()
    assert "Démarrée (contrat signé)" in notice(b)
    page.get_by_role("button", name="Générer : contrat d'accompagnement").click()
    contract = download(b, page.get_by_role("link", name=re.compile("Télécharger Contrat d'accompagnement")))
    assert contract.startswith(b"%PDF")
    prolongation = open_action(b, "Demander une prolongation")
    prolongation.get_by_label("Durée demandée (en mois) (obligatoire)").fill("6")
    prolongation.get_by_label("Motif de la demande de prolongation (obligatoire)").fill(
        "Relogement en cours, bail signé le mois prochain.")
    prolongation.get_by_role("button", name="Demander une prolongation").click()
    assert "Prolongation demandée" in notice(b)
    b.check("mesure avec prolongation demandée")
    log_out(b)

    # -- département agent: grant the prolongation ------------------------------------------------
    log_in(b, loire.users[Role.DEPT_AGENT].email, world.password, "agent du département")
    page.get_by_role("region", name="Prolongations à examiner").locator("li", has_text="DURAND").get_by_role("link").click()
    grant = open_action(b, "Accorder la prolongation")
    grant.get_by_label("Avis", exact=True).fill("Avis favorable du service.")
    grant.locator("select[name='extra.commission']").select_option("CLU")  # the Loire: the notifying CLU
    grant.get_by_role("button", name="Accorder la prolongation").click()
    assert "Action enregistrée" in notice(b)
    assert "1 (6 mois)" in page.locator(".facts").nth(1).inner_text()
    b.check("mesure prolongée")
    log_out(b)

    # -- operator: end the measure, record and generate the bilan ---------------------------------
    log_in(b, loire.users[Role.OPERATOR_WORKER].email, world.password, "opérateur (fin)")
    b.goto(measure_url.removeprefix(live_server))
    end = open_action(b, "Mettre fin à la mesure")
    end.get_by_label("Date de fin (obligatoire)").fill(day.isoformat())
    end.get_by_label("Motif de fin (obligatoire)").select_option(label="Relais vers un autre dispositif")
    end.get_by_label("Relais vers (service ou dispositif)").fill("CCAS de Saint-Étienne")
    end.get_by_role("button", name="Mettre fin à la mesure").click()
    assert "Terminée" in notice(b)
    bilan = open_action(b, "Enregistrer le bilan")
    bilan.get_by_label("Synthèse du bilan (obligatoire)").fill("Logement autonome obtenu ; budget stabilisé.")
    bilan.get_by_label("Bilan signé par le ménage").check()
    bilan.locator("input[name='extra.signe_par_intervenant']").check()  # the Loire: signed by the worker too
    bilan.get_by_role("button", name="Enregistrer le bilan").click()
    assert "Bilan reçu" in notice(b)
    page.get_by_role("button", name="Générer : bilan de fin de mesure").click()
    b.check("mesure terminée avec bilan")
    pdf = download(b, page.get_by_role("link", name=re.compile("Télécharger Bilan de fin de mesure")))
    assert pdf.startswith(b"%PDF")
    log_out(b)

    # -- auditor: reads everything, may do nothing -------------------------------------------------
    log_in(b, loire.users[Role.AUDITOR].email, world.password, "auditeur")
    b.goto(measure_url.removeprefix(live_server), "mesure vue par l'auditeur")
    assert "Aucune action possible pour vous à ce stade." in page.locator("#actions").locator("..").inner_text()
    page.get_by_role("link", name=re.compile("Durand", re.IGNORECASE)).first.click()
    b.check("ménage vu par l'auditeur")
    page.get_by_role("search").first.get_by_label(re.compile("Rechercher")).fill("durand")
    page.get_by_role("button", name="Rechercher").click()
    b.check("recherche")
    assert reference in page.locator("main").inner_text()
    log_out(b)

    # -- département admin: administration pages and an export from a real worker ---------------
    log_in(b, loire.users[Role.DEPT_ADMIN].email, world.password, "administrateur départemental")
    page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name="Administration").click()
    b.check("administration")
    page.get_by_role("link", name="Organismes").click()
    b.check("organismes")
    page.get_by_role("link", name="Administration", exact=True).first.click()  # the breadcrumb
    page.get_by_role("link", name="Utilisateurs et rôles").click()
    b.check("utilisateurs")
    b.goto("/administration/parametres", "paramètres des plugins")
    b.goto("/administration/rappels", "délais de rappel")
    page.get_by_role("link", name="Mes rappels").click()
    b.check("mes rappels")
    b.goto("/mesures", "liste des mesures")
    b.goto("/demandes?etat=decided", "liste des demandes filtrée")
    _download_an_export(b, app, measure_reference)
    log_out(b)

    # -- platform admin ------------------------------------------------------------------------------
    b.goto("/connexion")
    page.get_by_label("Adresse électronique").fill(world.platform_admin.email)
    page.get_by_label("Mot de passe").fill(world.password)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(re.compile(r"/admin/"))
    b.check("administration de la plateforme")
    page.get_by_role("link", name="Plugins par département", exact=True).click()
    b.check("plugins par département")

    # -- what the browser did is what the database holds ---------------------------------------------
    with app.app_context(), tenant_context(loire.tenant.id):
        request = db.session.scalar(sa.select(Request).where(Request.reference == reference))
        assert request.status is RequestStatus.DECIDED
        measure = db.session.scalar(sa.select(Measure).where(Measure.request_id == request.id))
        assert measure.status is MeasureStatus.BILAN_RECEIVED
        assert (measure.start_date, measure.end_date, measure.prolongation_count) == (day, day, 1)
        assert measure.hand_over_to == "CCAS de Saint-Étienne"
        decision = db.session.scalar(sa.select(Decision).where(Decision.request_id == request.id))
        assert decision.decision_date == day and decision.duration_months == 6
        kinds = sorted(db.session.scalars(sa.select(Document.kind).where(Document.request_id == request.id)))
        assert kinds == ["bilan", "contract", "decision_letter", "decision_letter", "decision_letter"]
        actions = set(db.session.scalars(sa.select(AuditEvent.action)))
        assert {"household.create", "request.submit", "request.decide", "measure.start", "measure.end",
                "document.read", "search"} <= actions
    assert b.count >= 30


def _download_an_export(b: BrowserCheck, app, measure_reference: str) -> None:
    """The admin asks for a measures export; a real worker produces it; the browser downloads it."""
    from tests.tasks.worker_process import CeleryWorkerProcess

    page = b.page
    page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name="Exports").click()
    b.check("exports")
    page.get_by_role("link", name="Demander un export").click()
    b.check("nouvel export")
    with CeleryWorkerProcess(b.folder / "celery-worker", celery_app=app.extensions["celery"]) as worker:
        page.get_by_role("button", name="Lancer l'export").click()
        link = page.get_by_role("link", name=re.compile("^Télécharger"))
        link.first.wait_for(timeout=90_000)  # the page polls the job and reloads once it is done
        assert worker.alive
    b.check("export terminé")
    content = download(b, link.first).decode("utf-8-sig")
    row = next(line for line in content.splitlines() if measure_reference in line)
    assert "DURAND" in row.upper() and "Opérateur (association) 42" in row
