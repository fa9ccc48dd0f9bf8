"""Fixtures of the Moselle tests: the département (57) with its plugin, the PDALPD's bodies and a fixed clock."""

from __future__ import annotations

import pytest

from asll.models import Role
from asll.plugins.contract import OrganisationSpec
from asll.services import decisions, requests
from asll.tenancy import tenant_context
from asll_moselle.codes import (
    ACCES,
    AIDE_RECHERCHE,
    BAIL_GLISSANT,
    MAINTIEN,
    PREVENTION_IMPAYES,
    SITUATION_ATYPIQUE,
    SITUATIONS_ATYPIQUES,
    SOUS_LOCATION,
)
from tests.plugins.departement import (  # noqa: F401 (clock is a fixture)
    DIAGNOSTIC,
    Driver,
    build_departement,
    clock,
)

ORGANISATIONS = {
    "departement": OrganisationSpec(name="Département de la Moselle – service logement", kind="dept_service"),
    "ddcs": OrganisationSpec(name="DDCS de la Moselle", kind="commission_secretariat"),
    "caf": OrganisationSpec(name="CAF de la Moselle", kind="prescriber"),
    "metz": OrganisationSpec(name="Opérateur bassin de Metz", kind="operator", sectors=("Bassin de Metz",)),
    "thionville": OrganisationSpec(name="Opérateur bassin de Thionville", kind="operator",
                                   sectors=("Bassin de Thionville",)),
    "bailleur": OrganisationSpec(name="Bailleur social", kind="landlord"),
}
MEMBERS = {
    "prescriber": (Role.PRESCRIBER, "caf"),
    "secretary": (Role.COMMISSION_SECRETARY, "ddcs"),
    "agent": (Role.DEPT_AGENT, "departement"),
    "admin": (Role.DEPT_ADMIN, None),
    "metz": (Role.OPERATOR_WORKER, "metz"),
}
# What each measure type's request needs (prior diagnostic, eligibility, first unpaid rent...).
REQUEST_EXTRA = {
    ACCES: {"date_diagnostic": "2026-01-02"},
    MAINTIEN: {"date_diagnostic": "2026-01-02"},
    AIDE_RECHERCHE: {"quotient_familial": "800.00", "situation_recherche": "chrs"},
    BAIL_GLISSANT: {"bailleur_hlm": "Bailleur social"},
    SITUATION_ATYPIQUE: {"problematiques": ["mode_de_vie_atypique"]},
    PREVENTION_IMPAYES: {"date_premier_impaye": "2026-02-05", "montant_impaye": "540.00", "signale_par": "bailleur"},
}
SESSION_COMMISSIONS = {BAIL_GLISSANT: SOUS_LOCATION, SITUATION_ATYPIQUE: SITUATIONS_ATYPIQUES}


class Moselle(Driver):
    """Moselle: who acts, and shortcuts through the services (dates as ISO strings)."""

    def household(self, name: str = "Schmitt", priority: dict | None = None, **values) -> int:
        data = {"city": "Metz", "sector": "Bassin de Metz", "housing_status": "hosted",
                "members": [{"last_name": name, "first_name": "Laura"}], **values}
        if priority is not None:
            data["extra"] = {"public_prioritaire": priority}
        return requests.create_household(self.actor("prescriber"), data).id

    def draft(self, measure_type: str = ACCES, household_id: int | None = None, diagnostic: bool = True,
              **extra) -> int:
        data = {"household_id": household_id or self.household(), "measure_type": measure_type,
                "origin": "prescripteur", "consent_given_by": "Laura Schmitt", "consent_date": "2026-01-02",
                "extra": {**REQUEST_EXTRA[measure_type], **extra}}
        if diagnostic:
            data["diagnostic"] = DIAGNOSTIC
        return requests.save_draft(self.actor("prescriber"), data).id

    def request(self, measure_type: str = ACCES, household_id: int | None = None, **extra) -> int:
        draft = self.draft(measure_type, household_id, measure_type != PREVENTION_IMPAYES, **extra)
        return requests.submit(self.actor("prescriber"), draft).id

    def decide(self, request_id: int, on: str, measure_type: str = ACCES, **decision):
        """The département decides alone; the two commissions decide in session."""
        data = {"outcome": "granted", "duration_months": 6, "operator_id": self.org("metz"), **decision}
        commission = SESSION_COMMISSIONS.get(measure_type)
        if commission is None:
            return decisions.decide_alone(self.actor("agent"), request_id, {"decision_date": on, **data})
        return decisions.decide_in_session(self.actor("secretary"), self.session(commission, on, request_id),
                                           {request_id: data})[0]

    def session(self, commission: str, on: str, request_id: int) -> int:
        session = decisions.create_session(self.actor("secretary"), {"commission_code": commission,
                                                                     "session_date": on})
        decisions.build_agenda(self.actor("secretary"), session.id, [request_id])
        return session.id

    def granted(self, measure_type: str = ACCES, on: str = "2026-01-20", household_id: int | None = None,
                **decision) -> int:
        request_id = self.request(measure_type, household_id)
        return self.decide(request_id, on, measure_type, **decision).measure_id


@pytest.fixture
def moselle(app, app_ctx, clock):
    dept = build_departement("57", "Moselle", "moselle", ORGANISATIONS, MEMBERS)
    with tenant_context(dept.tenant_id):
        yield Moselle(dept=dept, clock=clock)
