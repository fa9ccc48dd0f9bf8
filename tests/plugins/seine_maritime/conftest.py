"""Fixtures of the Seine-Maritime tests: the département (76) with its plugin, partners and a fixed clock."""

from __future__ import annotations

import pytest

from asll.models import Role
from asll.plugins.contract import OrganisationSpec
from asll.services import decisions, requests
from asll.tenancy import tenant_context
from asll_seine_maritime.codes import ACCES, COMMISSION_LOCALE, DIAGNOSTIC_CCAPEX
from tests.plugins.departement import (  # noqa: F401 (clock is a fixture)
    DIAGNOSTIC,
    Driver,
    build_departement,
    clock,
)

ORGANISATIONS = {
    "sls": OrganisationSpec(name="Service logement et solidarités (SLS)", kind="dept_service"),
    "secretariat": OrganisationSpec(name="Secrétariat de la commission locale ASLL", kind="commission_secretariat"),
    "cms": OrganisationSpec(name="Centre médico-social de Rouen", kind="prescriber"),
    "rouen": OrganisationSpec(name="Association secteur de Rouen", kind="operator", sectors=("Rouen",)),
    "havre": OrganisationSpec(name="Association secteur du Havre", kind="operator", sectors=("Le Havre",)),
    "dieppe": OrganisationSpec(name="Association secteur de Dieppe", kind="operator", sectors=("Dieppe",)),
    "bailleur": OrganisationSpec(name="Office public de l'habitat", kind="landlord"),
}
MEMBERS = {
    "prescriber": (Role.PRESCRIBER, "cms"),
    "secretary": (Role.COMMISSION_SECRETARY, "secretariat"),
    "agent": (Role.DEPT_AGENT, "sls"),
    "admin": (Role.DEPT_ADMIN, None),
    "rouen": (Role.OPERATOR_WORKER, "rouen"),
    "havre": (Role.OPERATOR_WORKER, "havre"),
}


class SM(Driver):
    """Seine-Maritime: who acts, and shortcuts through the services (dates as ISO strings)."""

    def household(self, name: str = "Durand", sector: str = "Rouen", **values) -> int:
        return requests.create_household(self.actor("prescriber"), {
            "city": sector, "sector": sector, "housing_status": "hosted",
            "members": [{"last_name": name, "first_name": "Ana"}], **values}).id

    def request(self, measure_type: str = ACCES, household_id: int | None = None, **extra) -> int:
        household_id = household_id or self.household()
        if measure_type == DIAGNOSTIC_CCAPEX:
            data = {"origin": "CCAPEX", "extra": {"date_cpex": "2026-01-06", "motif_ccapex": "vulnerabilite", **extra}}
            author = self.actor("agent")
        else:
            data = {"origin": "prescripteur", "diagnostic": DIAGNOSTIC,
                    "extra": {"demandeur": "medico_social", "professionnel": "Mme Roussel, CMS", **extra}}
            author = self.actor("prescriber")
        draft = requests.save_draft(author, {"household_id": household_id, "measure_type": measure_type,
                                             "consent_given_by": "Ana Durand", "consent_date": "2026-01-02", **data})
        return requests.submit(author, draft.id).id

    def session(self, session_date: str, request_ids: list[int]) -> int:
        session = decisions.create_session(self.actor("secretary"), {"commission_code": COMMISSION_LOCALE,
                                                                     "session_date": session_date})
        decisions.build_agenda(self.actor("secretary"), session.id, request_ids)
        return session.id

    def decide(self, request_id: int, session_date: str, **decision):
        data = {"outcome": "granted", "duration_months": 6, "operator_id": self.org("rouen"), **decision}
        return decisions.decide_in_session(self.actor("secretary"), self.session(session_date, [request_id]),
                                           {request_id: data})[0]

    def granted(self, decided: str = "2026-01-20", household_id: int | None = None, measure_type: str = ACCES,
                **decision) -> int:
        return self.decide(self.request(measure_type, household_id), decided, **decision).measure_id

    def started(self, start: str = "2026-01-31", decided: str = "2026-01-20", **kwargs) -> int:
        measure_id = self.granted(decided, **kwargs)
        self.act("rouen", measure_id, "start", start_date=start)
        return measure_id

    def running(self, start: str = "2026-01-31", decided: str = "2026-01-20", **kwargs) -> int:
        measure_id = self.started(start, decided, **kwargs)
        self.act("rouen", measure_id, "record_contract_sent", sent_date=start)
        self.act("rouen", measure_id, "record_action_plan", plan_date=start)
        return measure_id

    def first_prolongation(self, measure_id: int, request_date: str, decision_date: str) -> None:
        """Requested by the operator, granted on the SLS's favourable opinion (§2.2.1)."""
        self.act("rouen", measure_id, "request_prolongation", request_date=request_date, months=6,
                 reason="Objectifs en cours.")
        self.act("agent", measure_id, "grant_prolongation", decision_date=decision_date,
                 extra={"avis_sls": "favorable"})

    def second_prolongation(self, measure_id: int, synthesis: str, request_date: str, decision_date: str) -> None:
        """After a synthesis with the SLS and the household, on the commission locale's opinion (§2.2.1)."""
        self.act("rouen", measure_id, "request_prolongation", request_date=request_date, months=6,
                 reason="Objectifs non atteints en douze mois.", synthesis_meeting_date=synthesis,
                 extra={"menage_present_synthese": True})
        self.act("secretary", measure_id, "grant_prolongation", decision_date=decision_date,
                 extra={"avis_commission": "favorable", "date_avis_commission": decision_date})

    def diagnostic(self, decided: str = "2026-01-12", letter: str = "2026-01-15", household_id: int | None = None,
                   operator: str = "rouen", start: bool = True, **request_extra) -> int:
        request_id = self.request(DIAGNOSTIC_CCAPEX, household_id, **request_extra)
        decision = decisions.decide_alone(self.actor("agent"), request_id, {
            "outcome": "granted", "decision_date": decided, "duration_months": 2, "operator_id": self.org(operator),
            "extra": {"date_courrier_association": letter}})
        if start:
            self.act(operator, decision.measure_id, "start", start_date=letter)
        return decision.measure_id


@pytest.fixture
def sm(app, app_ctx, clock):
    dept = build_departement("76", "Seine-Maritime", "seine_maritime", ORGANISATIONS, MEMBERS)
    with tenant_context(dept.tenant_id):
        yield SM(dept=dept, clock=clock)
