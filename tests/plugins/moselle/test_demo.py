"""``flask asll demo-data`` plays the Moselle cases, one per rule of the 7th PDALPD."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from asll.extensions import db
from asll.models import Decision, DecisionOutcome, Household, HouseholdMember, Measure, MeasureStatus, SupportMeasure
from asll.services import plugins as plugin_service
from asll.services import tenants
from asll.tenancy import tenant_context
from asll_moselle.codes import BAIL_GLISSANT, PREVENTION_IMPAYES, SITUATION_ATYPIQUE
from asll_moselle.models import FslAid, RentArrearsFollowUp


def test_demo_data_plays_a_case_per_rule_of_the_pdalpd(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["asll", "demo-data"])
    assert result.exit_code == 0, result.output
    assert "Département 57 : 8 dossier(s) de démonstration créés." in result.output
    assert "Dossier non créé" not in result.output

    with app.app_context():
        tenant = tenants.tenant_by_code("57")
        with tenant_context(tenant.id):
            priorities = {last: (extra or {}).get("public_prioritaire", {}).get("code") for last, extra in
                          db.session.execute(sa.select(HouseholdMember.last_name, Household.extra)
                                             .join(Household, Household.id == HouseholdMember.household_id)).all()}
            assert {code for code in priorities.values() if code} == {"P1", "P2", "P3", "P4"}
            measures = {last: m for last, m in db.session.execute(
                sa.select(HouseholdMember.last_name, Measure)
                .join(Measure, Measure.household_id == HouseholdMember.household_id)).all()}
            assert measures["Schmitt"].status is MeasureStatus.CLOSED
            assert measures["Klein"].prolongation_count == 1
            assert measures["Weber"].measure_type == BAIL_GLISSANT
            assert measures["Lambert"].measure_type == SITUATION_ATYPIQUE
            assert len(measures["Lambert"].extra["plan_actions"]) == 3
            assert measures["Fischer"].measure_type == PREVENTION_IMPAYES
            follow_up = db.session.scalars(sa.select(RentArrearsFollowUp)).one()
            assert follow_up.measure_id == measures["Fischer"].id
            assert follow_up.first_unpaid_amount == Decimal("540.00")
            totals = dict(db.session.execute(sa.select(FslAid.kind, sa.func.sum(FslAid.amount))
                                             .group_by(FslAid.kind)).all())
            assert totals == {"acces": Decimal("1700.00"), "maintien": Decimal("2050.50")}
            # Non-cumulation: the household with a MAJ was refused the ASLL.
            assert "Becker" not in measures
            assert db.session.scalar(sa.select(SupportMeasure.code)) == "MAJ"
            assert db.session.scalar(sa.select(sa.func.count(Decision.id)).where(
                Decision.outcome == DecisionOutcome.REFUSED)) == 1
            tables = {t.key: t for group in plugin_service.call(tenant.id, "asll_statistics", year=2025)
                      for t in group}
            indicators = {row[1]: row[2] for row in tables["moselle_indicateurs_actions"].rows}
            assert indicators["Plans d'actions élaborés"] == 1
            assert indicators["Sous-locations avec bail glissant accordées par la commission unique de "
                              "sous-location"] == 1
