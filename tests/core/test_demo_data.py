"""The demo data: four départements, their seed organisations, one account per role."""

import sqlalchemy as sa

from asll.extensions import db
from asll.models import Organisation, Role, Tenant
from asll.services import plugins as plugin_service
from asll.services.demo import DEMO_PASSWORD
from asll.tenancy import tenant_context, unscoped
from tests.conftest import login


def test_demo_data_creates_the_four_departements_idempotently(app, client):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["asll", "demo-data"])
    assert first.exit_code == 0, first.output
    assert "prescripteur.42@demo-asll.fr" in first.output and DEMO_PASSWORD in first.output
    second = runner.invoke(args=["asll", "demo-data"])
    assert second.exit_code == 0, second.output
    with app.app_context():
        with unscoped():
            tenants = {t.code: t for t in db.session.scalars(sa.select(Tenant))}
        assert sorted(tenants) == ["42", "57", "61", "76"]
        for code, plugin in {"42": "loire", "61": "orne", "76": "seine_maritime", "57": "moselle"}.items():
            assert plugin_service.enabled_plugins(tenants[code].id) == {plugin}
        with tenant_context(tenants["42"].id):
            agasef = db.session.scalars(sa.select(Organisation).where(Organisation.name.like("AGASEF%"))).one()
            assert agasef.capacity == 30 and agasef.capacity_unit == "month"
            assert db.session.scalar(sa.select(sa.func.count(Organisation.id))) >= 10
        with tenant_context(tenants["61"].id):
            names = set(db.session.scalars(sa.select(Organisation.name)))
            assert any("AOLTJ" in n for n in names) and any("CHRS" in n for n in names)
    for role in ("admin", "agent", "secretariat", "membre", "prescripteur", "operateur", "auditeur"):
        assert f"{role}.61@demo-asll.fr" in first.output
    assert len(Role) == 7
    response = login(client, "prescripteur.76@demo-asll.fr", DEMO_PASSWORD)
    assert response.status_code == 302
    assert "Seine-Maritime (76)" in client.get("/tableau-de-bord").get_data(as_text=True)
