"""``flask asll demo-data`` plays the Seine-Maritime cases, one per rule of the référentiel."""

from __future__ import annotations

import sqlalchemy as sa

from asll.domain.calendar import add_months
from asll.extensions import db
from asll.models import Decision, DecisionOutcome, Household, HouseholdMember, Measure, MeasureEvent, MeasureStatus
from asll.services import plugins as plugin_service
from asll.services import tenants
from asll.tenancy import tenant_context
from asll_seine_maritime.codes import DIAGNOSTIC_CCAPEX
from tests.plugins.departement import day


def _measures_by_household() -> dict[str, Measure]:
    rows = db.session.execute(
        sa.select(HouseholdMember.last_name, HouseholdMember.first_name, Measure)
        .join(Household, Household.id == HouseholdMember.household_id)
        .join(Measure, Measure.household_id == Household.id)).all()
    return {f"{last} {first}": measure for last, first, measure in rows}


def _transitions(measure: Measure) -> list[str]:
    return list(db.session.scalars(sa.select(MeasureEvent.transition).where(MeasureEvent.measure_id == measure.id)
                                   .order_by(MeasureEvent.id)))


def test_demo_data_plays_a_case_per_rule_of_the_referentiel(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["asll", "demo-data"])
    assert result.exit_code == 0, result.output
    assert "Département 76 : 11 dossier(s) de démonstration créés." in result.output
    assert "Dossier non créé" not in result.output

    with app.app_context():
        tenant = tenants.tenant_by_code("76")
        with tenant_context(tenant.id):
            found = _measures_by_household()
            # §2.2.1-2.2.3: two prolongations, 18 months exactly, hand-over to a MASP, bilan, closure.
            lefebvre = found["Lefebvre Nadia"]
            assert (lefebvre.status, lefebvre.prolongation_count) == (MeasureStatus.CLOSED, 2)
            assert lefebvre.end_date == add_months(lefebvre.start_date, 18) == day("2026-08-10")
            assert lefebvre.extra["avis_conforme_commission_locale"] == "2025-01-14"
            # §2.2.1 SLS negative → commission; §2.4.3 suspension of two months exactly.
            benali = found["Benali Karim"]
            assert (benali.prolongation_count, benali.extra["suspended_days"]) == (1, 62)
            assert benali.extra["avis_sls"] == "defavorable" and benali.extra["avis_commission"] == "favorable"
            # §2.4.1 move: the household's new sector is Le Havre's operator's.
            marchand = found["Marchand Julie"]
            assert marchand.operator.sectors == ["Le Havre"] and "transfer" in _transitions(marchand)
            # §2.4.2 separation: transfer to a member, and a new measure for the other one.
            assert found["Girard Sophie"].operator.name.endswith("du Havre (exemple)")
            assert found["Girard Thomas"].status is MeasureStatus.OPERATOR_ASSIGNED
            # §2.4.4 late start allowed by a derogation.
            petit = found["Petit Louis"]
            assert petit.start_date == day("2025-08-25") and petit.extra["derogation"]["avis_commission"] == "favorable"
            # §2.2.1 first prolongation refused after two negative opinions.
            roux = found["Roux Émile"]
            assert roux.prolongation_count == 0 and "refuse_prolongation" in _transitions(roux)
            # §3: diagnostics ordered after the CCAPEX.
            caron, fontaine, dumont = found["Caron Paul"], found["Fontaine Alice"], found["Dumont Chloé"]
            assert {caron.measure_type, fontaine.measure_type, dumont.measure_type} == {DIAGNOSTIC_CCAPEX}
            assert (caron.prolongation_count, caron.planned_end_date, caron.status) == (
                1, day("2025-08-12"), MeasureStatus.CLOSED)
            assert fontaine.bilan_date == day("2025-11-17")  # the day before the re-examination in CPEX
            assert dumont.end_reason == "hand_over" and dumont.extra["menage_rencontre"] is True
            # §1.3: the household leaving a CHRS was redirected to the AVDL, with no measure.
            redirected = db.session.scalars(sa.select(Decision).where(
                Decision.outcome == DecisionOutcome.REDIRECTED)).one()
            assert redirected.measure_id is None and "AVDL" in redirected.redirected_to
            # The activity tables see the demo.
            tables = {t.key: t for group in plugin_service.call(tenant.id, "asll_statistics", year=2025)
                      for t in group}
            assert dict(tables["seine_maritime_diagnostics"].rows)["Diagnostics ordonnés par le Département"] == 2
            assert tables["seine_maritime_comites_trimestriels"].rows

    again = runner.invoke(args=["asll", "demo-data"])
    assert again.exit_code == 0, again.output
    with app.app_context(), tenant_context(tenants.tenant_by_code("76").id):
        assert db.session.scalar(sa.select(sa.func.count(Household.id))) == 11
