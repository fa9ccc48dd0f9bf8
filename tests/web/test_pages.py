"""The pages each role reaches, lists and search, the security headers, uploads and withdrawal."""

from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa

from asll.extensions import db
from asll.models import AuditEvent, Document, Request, RequestStatus, Role
from asll.services import decisions, requests
from asll.tenancy import tenant_context
from tests.conftest import csrf_token
from tests.factories import MINIMAL_PDF
from tests.web.conftest import page, text

TENANT_PAGES = ["/tableau-de-bord", "/menages", "/demandes", "/mesures", "/recherche?q=martin"]
ADMIN_PAGES = ["/administration", "/administration/organismes", "/administration/utilisateurs",
               "/administration/parametres"]
# What each role may open besides the pages every member of the tenant has.
EXTRA_PAGES = {
    Role.DEPT_ADMIN: ["/commissions", "/menages/nouveau", "/demandes/nouvelle", *ADMIN_PAGES],
    Role.DEPT_AGENT: ["/commissions", "/menages/nouveau", "/demandes/nouvelle"],
    Role.COMMISSION_SECRETARY: ["/commissions"],
    Role.COMMISSION_MEMBER: ["/commissions"],
    Role.PRESCRIBER: ["/menages/nouveau", "/demandes/nouvelle"],
    Role.OPERATOR_WORKER: [],
    Role.AUDITOR: ["/commissions"],
}
ALL_EXTRA = sorted({url for urls in EXTRA_PAGES.values() for url in urls})
CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'"


@pytest.mark.parametrize("role", list(Role))
def test_each_role_reaches_its_pages_and_is_refused_the_others(role, as_role, world):
    client = as_role(role)
    for url in TENANT_PAGES + EXTRA_PAGES[role]:
        response = client.get(url)
        assert response.status_code == 200, f"{role.value} {url} → {response.status_code}"
        page(response).assert_labelled()
    for url in set(ALL_EXTRA) - set(EXTRA_PAGES[role]):
        assert client.get(url).status_code == 403, f"{role.value} should not open {url}"
    assert client.get("/admin/departements").status_code == 403


def test_navigation_shows_only_what_the_role_may_open(as_role):
    operator = text(as_role(Role.OPERATOR_WORKER).get("/tableau-de-bord"))
    assert ">Commissions<" not in operator and ">Administration<" not in operator
    assert ">Exports<" in operator and ">Statistiques<" not in operator
    admin = text(as_role(Role.DEPT_ADMIN).get("/tableau-de-bord"))
    assert ">Commissions<" in admin and ">Administration<" in admin
    assert ">Exports<" in admin and ">Statistiques<" in admin
    # The dashboard's shortcuts follow the roles the services require for the action.
    assert "Nouveau ménage" not in operator and "Programmer une séance" not in operator
    assert "Nouveau ménage" in admin and "Programmer une séance" in admin
    prescriber = text(as_role(Role.PRESCRIBER).get("/tableau-de-bord"))
    assert "Nouveau ménage" in prescriber and "Programmer une séance" not in prescriber
    assert 'aria-current="page">Tableau de bord<' in admin


def test_pages_keep_the_csp_and_load_nothing_from_elsewhere(as_role, world):
    client = as_role(Role.DEPT_ADMIN)
    for url in TENANT_PAGES + EXTRA_PAGES[Role.DEPT_ADMIN] + [
            f"/menages/{world.loire.household.id}", f"/demandes/{world.loire.request.id}",
            f"/mesures/{world.loire.measure.id}"]:
        response = client.get(url)
        assert response.headers["Content-Security-Policy"] == CSP
        html = response.get_data(as_text=True)
        assert not re.search(r'(src|href|action)="(https?:)?//', html), url
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), f"inline script on {url}"
        assert " style=" not in html and "<style" not in html, f"inline style on {url}"
    assert client.get("/static/asll.css").status_code == 200
    assert client.get("/static/asll.js").status_code == 200


def _households(app, world, names):
    with app.app_context(), tenant_context(world.loire.tenant.id):
        prescriber = world.loire.actor(Role.PRESCRIBER)
        for name in names:
            requests.create_household(prescriber, {"members": [{"last_name": name, "first_name": "Test"}]})


def test_lists_paginate_by_keyset_without_gaps_or_repeats(app, world, as_role):
    _households(app, world, [f"Famille{n:02d}" for n in range(30)])
    client = as_role(Role.DEPT_AGENT)
    first = client.get("/menages")
    rows = re.findall(r'href="/menages/(\d+)">M-', first.get_data(as_text=True))
    assert len(rows) == 25
    next_link = re.search(r'href="(/menages\?apres=\d+)"', first.get_data(as_text=True)).group(1)
    second = client.get(next_link)
    more = re.findall(r'href="/menages/(\d+)">M-', second.get_data(as_text=True))
    assert len(more) == 6 and "Page suivante" not in text(second)  # 30 + the world's household
    ids = [int(i) for i in rows + more]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 31
    # A cursor the database could not hold, or not a number at all, is the first page, not an error.
    for cursor in ("99999999999", "²", "-3"):
        assert len(re.findall(r'href="/menages/(\d+)">M-', client.get(f"/menages?apres={cursor}")
                              .get_data(as_text=True))) == 25
    filtered = client.get("/menages?q=famille0")
    assert len(re.findall(r'href="/menages/(\d+)">M-', filtered.get_data(as_text=True))) == 10


def test_a_prescriber_lists_only_what_their_organisation_filed(app, world, as_role):
    _households(app, world, ["Visible"])
    orne = text(as_role(Role.PRESCRIBER, "orne").get("/menages"))
    assert "VISIBLE" not in orne and "MARTIN" in orne  # only the Orne's own household
    operator = text(as_role(Role.OPERATOR_WORKER).get("/menages"))
    assert "VISIBLE" not in operator and "MARTIN" in operator  # through the measure it follows


def test_request_filters(app, world, as_role):
    _households(app, world, ["Filtre"])
    client = as_role(Role.DEPT_ADMIN)
    assert "D-42-0001" in text(client.get("/demandes?etat=decided"))
    assert "D-42-0001" not in text(client.get("/demandes?etat=draft"))
    assert "D-42-0001" in text(client.get("/demandes?q=martin"))
    assert "D-42-0001" not in text(client.get("/demandes?q=filtre"))
    assert client.get("/demandes?etat=nimportequoi").status_code == 200  # an unknown state is ignored


def test_search_finds_by_name_and_reference_and_is_audited(app, world, as_role):
    client = as_role(Role.AUDITOR)
    found = text(client.get("/recherche?q=MARTIN"))
    assert "M-42-0001" in found and "D-42-0001" in found and "A-42-0001" in found
    assert "M-61-0001" not in found
    assert "A-42-0001" in text(client.get("/recherche?q=a-42"))
    with app.app_context(), tenant_context(world.loire.tenant.id):
        searches = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "search").order_by(AuditEvent.id)).all()
        assert [(e.actor_id, e.changes["q"]) for e in searches] == [
            (world.loire.users[Role.AUDITOR].id, "MARTIN"), (world.loire.users[Role.AUDITOR].id, "a-42")]


def test_dashboard_lists_tasks_for_the_role_and_drafts(app, world, as_role):
    with app.app_context(), tenant_context(world.loire.tenant.id):
        prescriber = world.loire.actor(Role.PRESCRIBER)
        draft = requests.save_draft(prescriber, {"household_id": world.loire.household.id,
                                                 "measure_type": "loire.maintien"})
    board = text(as_role(Role.PRESCRIBER).get("/tableau-de-bord"))
    assert "Mes brouillons de demande" in board and draft.reference in board
    operator = text(as_role(Role.OPERATOR_WORKER).get("/tableau-de-bord"))
    assert "Mesures à démarrer" in operator and "A-42-0001" in operator


def test_attaching_a_file_to_a_request(app, world, as_role):
    client = as_role(Role.PRESCRIBER)
    url = f"/demandes/{world.loire.request.id}"
    token = csrf_token(client.get(url).get_data(as_text=True))
    refused = client.post(f"{url}/pieces-jointes", data={"csrf_token": token,
                                                         "file": (io.BytesIO(b"#!/bin/sh\necho"), "script.sh")},
                          content_type="multipart/form-data")
    assert refused.status_code == 422
    assert "#r-upload-file" in page(refused).summary_links and "Type de fichier refusé" in text(refused)
    accepted = client.post(f"{url}/pieces-jointes", data={"csrf_token": token,
                                                          "file": (io.BytesIO(MINIMAL_PDF), "bail signé.pdf")},
                           content_type="multipart/form-data", follow_redirects=True)
    assert "Pièce jointe « bail signé.pdf » ajoutée." in text(accepted)
    with app.app_context(), tenant_context(world.loire.tenant.id):
        document = db.session.scalars(sa.select(Document)).one()
    assert client.get(f"/documents/{document.id}").data == MINIMAL_PDF
    assert as_role(Role.AUDITOR).get(url).status_code == 200
    assert "Joindre un fichier" not in text(as_role(Role.AUDITOR).get(url))


def test_withdrawing_a_request_needs_a_reason(app, world, as_role):
    with app.app_context(), tenant_context(world.loire.tenant.id):
        draft = requests.save_draft(world.loire.actor(Role.PRESCRIBER), {
            "household_id": world.loire.household.id, "measure_type": "loire.acces"})
    client = as_role(Role.PRESCRIBER)
    token = csrf_token(client.get(f"/demandes/{draft.id}").get_data(as_text=True))
    refused = client.post(f"/demandes/{draft.id}/retrait", data={"csrf_token": token, "reason": " "})
    assert refused.status_code == 422 and "#motif-retrait" in page(refused).summary_links
    client.post(f"/demandes/{draft.id}/retrait", data={"csrf_token": token, "reason": "Relogée par sa famille."})
    with app.app_context(), tenant_context(world.loire.tenant.id):
        assert db.session.get(Request, draft.id).status is RequestStatus.WITHDRAWN


def test_a_session_of_another_tenant_or_for_a_non_reader_answers_404(app, world, as_role):
    with app.app_context(), tenant_context(world.orne.tenant.id):
        session = decisions.create_session(world.orne.actor(Role.COMMISSION_SECRETARY), {
            "commission_code": "orne.commission_mensuelle", "session_date": "2026-03-10"})
    client = as_role(Role.COMMISSION_SECRETARY)
    token = csrf_token(client.get("/commissions").get_data(as_text=True))
    base = f"/commissions/seances/{session.id}"
    assert client.get(base).status_code == 404
    for action in ("ordre-du-jour", "decisions", "presences", "proces-verbal"):
        assert client.post(f"{base}/{action}", data={"csrf_token": token}).status_code == 404, action
    orne = as_role(Role.COMMISSION_SECRETARY, "orne")
    assert orne.get(base).status_code == 200
    assert as_role(Role.OPERATOR_WORKER, "orne").get(base).status_code == 404


def test_errors_are_explained_in_french(world, as_role):
    client = as_role(Role.OPERATOR_WORKER)
    url = f"/mesures/{world.loire.measure.id}"
    token = csrf_token(client.get(url).get_data(as_text=True))
    unknown = client.post(f"{url}/actions", data={"csrf_token": token, "transition": "teleporter"})
    assert unknown.status_code == 400 and "Demande invalide" in text(unknown)
    wrong_method = client.get(f"{url}/actions")
    assert wrong_method.status_code == 405 and "Cette adresse ne permet pas cette action." in text(wrong_method)
    expired = client.post(f"{url}/actions", data={"transition": "start"})
    assert expired.status_code == 400 and "Le formulaire a expiré" in text(expired)
