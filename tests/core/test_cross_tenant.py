"""A user of one département gets 404 for every object of another, on every route that exists."""

import pytest

from asll.models import Role
from tests.conftest import csrf_token, login

# How to fill each URL parameter with an object of the *other* tenant. A new route with an
# unknown parameter makes this test fail until the parameter is listed here.
PARAMETER_OBJECTS = {
    "household_id": lambda w: w.household.id,
    "request_id": lambda w: w.request.id,
    "measure_id": lambda w: w.measure.id,
    "organisation_id": lambda w: w.orgs[next(iter(w.orgs))].id,
    "document_id": lambda w: w.document.id,
    "session_id": lambda w: w.session.id,
    "export_id": lambda w: w.export.id,
}

# Routes whose parameter is not an object of a tenant: a signed link that names its own
# tenant and user (a digest's one-click unsubscribe), tested in tests/reminders; the signed
# invitation and reset links, and the revocation of one's own API token (tests/accounts).
NOT_TENANT_OBJECTS = {"unsubscribe.digest", "auth.invitation", "auth.reset_password", "auth.revoke_token"}


def object_routes(app):
    for rule in app.url_map.iter_rules():
        # The API has its own isolation test (tests/api/test_isolation.py) with tokens and valid bodies.
        if (rule.arguments and rule.endpoint != "static" and not rule.rule.startswith("/api/")
                and rule.endpoint not in NOT_TENANT_OBJECTS):
            yield rule


def test_every_object_route_is_known(app):
    unknown = {arg for rule in object_routes(app) for arg in rule.arguments} - set(PARAMETER_OBJECTS)
    assert not unknown, f"list these URL parameters in PARAMETER_OBJECTS: {unknown}"


@pytest.mark.parametrize("role", [Role.DEPT_ADMIN, Role.AUDITOR, Role.PRESCRIBER, Role.OPERATOR_WORKER,
                                  Role.COMMISSION_SECRETARY, Role.COMMISSION_MEMBER, Role.DEPT_AGENT])
def test_objects_of_another_tenant_answer_404(world, client, app, role):
    with app.app_context():
        world.orne.add_document()
        world.orne.add_export()
    login(client, world.loire.users[role].email, world.password)
    page = client.get("/tableau-de-bord").get_data(as_text=True)
    token = csrf_token(page)
    checked = 0
    for rule in object_routes(app):
        values = {arg: PARAMETER_OBJECTS[arg](world.orne) for arg in rule.arguments}
        with app.test_request_context():
            from flask import url_for

            url = url_for(rule.endpoint, **values)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method, data={"csrf_token": token})
            assert response.status_code == 404, f"{method} {url} ({rule.endpoint}) → {response.status_code}"
            assert world.orne.household.reference not in response.get_data(as_text=True)
            assert b"%PDF" not in response.get_data()
            checked += 1
    assert checked >= 4


def test_own_objects_are_reachable_for_a_tenant_wide_role(world, client):
    login(client, world.loire.users[Role.DEPT_ADMIN].email, world.password)
    for url in (f"/menages/{world.loire.household.id}", f"/demandes/{world.loire.request.id}",
                f"/mesures/{world.loire.measure.id}"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "M-42-0001" in response.get_data(as_text=True)


def test_reading_a_household_file_is_audited(world, client, app):
    import sqlalchemy as sa

    from asll.extensions import db
    from asll.models import AuditEvent
    from asll.tenancy import tenant_context

    user = world.loire.users[Role.AUDITOR]
    login(client, user.email, world.password)
    assert client.get(f"/menages/{world.loire.household.id}").status_code == 200
    with app.app_context(), tenant_context(world.loire.tenant.id):
        reads = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "household.read")).all()
    assert [(e.actor_id, e.object_id) for e in reads] == [(user.id, world.loire.household.id)]


def test_a_visible_document_downloads_as_an_attachment(world, client, app):
    with app.app_context():
        world.loire.add_document()
    login(client, world.loire.users[Role.PRESCRIBER].email, world.password)
    response = client.get(f"/documents/{world.loire.document.id}")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    assert "diagnostic.pdf" in response.headers["Content-Disposition"]


def test_an_id_too_large_for_the_database_is_a_404(world, client):
    login(client, world.loire.users[Role.DEPT_ADMIN].email, world.password)
    for url in ("/menages/99999999999999999999999", "/mesures/2147483648", "/documents/99999999999999"):
        assert client.get(url).status_code == 404, url
