"""The Orne's demo cases, played by ``asll demo-data`` in the test database (SQLite or PostgreSQL)."""

from __future__ import annotations

import sqlalchemy as sa

from asll.extensions import db
from asll.models import Measure, Request
from asll.services import tenants
from asll.tenancy import tenant_context
from asll_orne.models import OrneMeasureRecord


def test_orne_demo_shows_every_state_and_the_rules(app):
    result = app.test_cli_runner().invoke(args=["asll", "demo-data"])
    assert result.exit_code == 0, result.output
    with app.app_context(), tenant_context(tenants.tenant_by_code("61").id):
        measures = {m.household.display_name: m for m in db.session.scalars(sa.select(Measure))}
        assert {m.status.value for m in measures.values()} == {
            "granted", "operator_assigned", "started", "running", "prolongation_requested", "suspended", "ended",
            "bilan_received", "closed"}
        assert {r.status.value for r in db.session.scalars(sa.select(Request))} == {"draft", "submitted", "decided"}
        assert measures["PICHON Kevin"].operator.name.startswith("AOLTJ")  # the agreed association runs it itself
        assert measures["QUENTIN Aline"].operator.name.startswith("CHRS")
        records = {r.measure_id: r for r in db.session.scalars(sa.select(OrneMeasureRecord))}
        assert {r.organisation for r in records.values()} == {"interne", "externe"}
        assert records[measures["WALLET Chantal"].id].contact_date.isoformat() == "2026-11-02"
        assert {r.origin for r in records.values()} >= {"famille", "travailleur_social", "cdapl", "fsl",
                                                        "association_insertion", "commission_concertation"}
        db.session.remove()
