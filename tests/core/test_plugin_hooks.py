"""Hooks through which plugins extend households, transitions and the demo data."""

from datetime import date

import marshmallow as ma
import pytest
import sqlalchemy as sa

from asll.extensions import db
from asll.models import Document, Household, Measure, MeasureStatus, OrganisationKind, PluginActivation, Request, Role
from asll.services import demo, measures, plugins, requests
from asll.services.actor import Actor
from asll.services.errors import ValidationFailed
from asll.tenancy import tenant_context
from asll.toolkit import DemoCase, DemoStep, MeasureKind, MeasureTypeDef, PluginInfo, hookimpl


class ExtendingPlugin:
    def __init__(self):
        self.after = []
        self.fail_after = False

    @hookimpl
    def asll_plugin_info(self):
        return PluginInfo(name="hk", label="Extensions", departement_code="97", departement_name="Test")

    @hookimpl
    def asll_measure_types(self, tenant):
        return [MeasureTypeDef("hk.acces", "Accès (test)", MeasureKind.ACCES, 6, 6, requires_diagnostic=False)]

    @hookimpl
    def asll_household_fields(self, tenant):
        return {"priorite": ma.fields.String(validate=ma.validate.OneOf(["P1", "P2", "P3", "P4"],
                                                                         error="Public prioritaire inconnu."))}

    @hookimpl
    def asll_transition_fields(self, tenant, measure, transition):
        if transition == "start":
            return {"lieu_premier_rdv": ma.fields.String(required=True,
                                                         error_messages={"required": "Lieu obligatoire."})}
        return {}

    @hookimpl
    def asll_after_transition(self, tenant, measure, transition, data):
        if self.fail_after:
            raise RuntimeError("table du plugin indisponible")
        self.after.append((transition, measure.status.value, dict(data.get("extra", {}))))

    @hookimpl
    def asll_demo_cases(self, tenant):
        return [
            DemoCase("Bernard", "Lina", "hk.acces", household={"city": "Testville", "extra": {"priorite": "P1"}},
                     request={"consent_given_by": "Lina Bernard", "consent_date": "2026-02-01"},
                     steps=(DemoStep("submit", date(2026, 2, 2)),
                            DemoStep("decide", date(2026, 2, 10), {"outcome": "granted",
                                                                  "operator_id": tenant.plugin_settings["hk"]["op"]}),
                            DemoStep("start", date(2026, 2, 20), {"start_date": "2026-02-20",
                                                                 "extra": {"lieu_premier_rdv": "domicile"}}))),
            DemoCase("Petit", "Marc", "hk.acces", request={"consent_given_by": "Marc Petit",
                                                           "consent_date": "2026-02-01"},
                     steps=(DemoStep("submit", date(2026, 2, 2)),
                            DemoStep("decide", date(2026, 2, 10), {"outcome": "refused", "reason": "Hors critères"}))),
        ]


@pytest.fixture
def hk(app, app_ctx, world):
    plugin = ExtendingPlugin()
    registry = app.extensions["asll_plugins"]
    registry.register(plugin, "hk")
    plugins.set_enabled(Actor.system(), world.loire.tenant.id, "hk", True)
    yield plugin
    registry.unregister("hk")


def test_household_fields_are_validated_and_stored_in_extra(world, hk):
    prescriber = world.loire.actor(Role.PRESCRIBER)
    with tenant_context(world.loire.tenant.id):
        with pytest.raises(ValidationFailed) as exc:
            requests.create_household(prescriber, {"members": [{"last_name": "A", "first_name": "B"}],
                                                   "extra": {"priorite": "P9"}})
        assert exc.value.fields == {"extra": {"priorite": ["Public prioritaire inconnu."]}}
        household = requests.create_household(prescriber, {"members": [{"last_name": "A", "first_name": "B"}],
                                                            "extra": {"priorite": "P3"}})
        assert household.extra == {"priorite": "P3"}


def test_transition_fields_reach_the_measure_and_the_after_hook(world, hk):
    agent = world.loire.actor(Role.DEPT_AGENT)
    with tenant_context(world.loire.tenant.id):
        db.session.execute(sa.update(Measure).values(measure_type="hk.acces"))
        db.session.commit()
        measure_id = world.loire.measure.id
        with pytest.raises(ValidationFailed) as exc:
            measures.transition(agent, measure_id, "start", {"start_date": "2026-02-01"})
        assert exc.value.fields == {"extra": {"lieu_premier_rdv": ["Lieu obligatoire."]}}
        hk.fail_after = True
        with pytest.raises(RuntimeError):
            measures.transition(agent, measure_id, "start", {"start_date": "2026-02-01",
                                                             "extra": {"lieu_premier_rdv": "CCAS"}})
        assert db.session.get(Measure, measure_id).status is MeasureStatus.OPERATOR_ASSIGNED  # nothing saved
        hk.fail_after = False
        measure, _ = measures.transition(agent, measure_id, "start", {"start_date": "2026-02-01",
                                                                      "extra": {"lieu_premier_rdv": "CCAS"}})
        assert measure.extra["lieu_premier_rdv"] == "CCAS"
        assert hk.after == [("start", "started", {"lieu_premier_rdv": "CCAS"})]


def test_demo_cases_are_played_through_the_services_once(app, world, hk):
    with tenant_context(world.loire.tenant.id):
        db.session.execute(sa.delete(Measure))
        db.session.execute(sa.delete(Request))
        db.session.execute(sa.delete(Document))
        db.session.execute(sa.delete(Household))
        activation = db.session.scalars(sa.select(PluginActivation).where(PluginActivation.plugin == "hk")).one()
        activation.settings = {"op": world.loire.orgs[OrganisationKind.OPERATOR].id}
        db.session.commit()
    plugins._forget_cache()
    played, errors = demo.play_demo_cases(world.loire.tenant.id)
    assert (played, errors) == (2, [])
    with tenant_context(world.loire.tenant.id):
        statuses = sorted(m.status.value for m in db.session.scalars(sa.select(Measure)))
        assert statuses == ["started"]
        assert db.session.scalar(sa.select(Household.extra).where(Household.city == "Testville")) == {"priorite": "P1"}
    assert demo.play_demo_cases(world.loire.tenant.id) == (0, [])
