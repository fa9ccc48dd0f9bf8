"""The Loire's demo cases, played by ``asll demo-data`` in the test database (SQLite or PostgreSQL)."""

from __future__ import annotations

import sqlalchemy as sa

from asll.extensions import db
from asll.models import Decision, Measure, Request
from asll.services import tenants
from asll.tenancy import tenant_context
from asll_loire.models import LoireAmlDwelling


def test_loire_demo_shows_every_state_and_the_rules(app):
    result = app.test_cli_runner().invoke(args=["asll", "demo-data"])
    assert result.exit_code == 0, result.output
    with app.app_context(), tenant_context(tenants.tenant_by_code("42").id):
        measures = {m.household.display_name: m for m in db.session.scalars(sa.select(Measure))}
        assert {m.status.value for m in measures.values()} == {
            "granted", "operator_assigned", "started", "running", "prolongation_requested", "suspended", "ended",
            "bilan_received", "closed"}
        assert {r.status.value for r in db.session.scalars(sa.select(Request))} == {"draft", "submitted", "decided"}
        assert {d.outcome.value for d in db.session.scalars(sa.select(Decision))} == {
            "granted", "refused", "adjourned"}
        assert measures["HUBERT Lucie"].granted_months == 3  # a particular case
        assert measures["JOLY Nadia"].reinforced
        assert measures["SAUVAGE Tony"].operator.name == "ARIV" and measures["SAUVAGE Tony"].request.commission_code \
            is None
        assert measures["NOËL Yanis"].hand_over_to.startswith("Service instructeur initial : ")
        assert measures["PERRIN Léa"].extra["bilan_retourne_a"] == "loire.clt"
        assert measures["PERRIN Léa"].prolongation_count == 1
        assert {(a.mode, a.year) for a in db.session.scalars(sa.select(LoireAmlDwelling))} == {
            ("mandat_gestion", 2026), ("bail_glissant", 2026)}
        db.session.remove()
