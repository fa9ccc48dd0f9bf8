"""``POST /api/v1/households``: exactly one reference person, at most MAX_MEMBERS members,
refused with a French 422 that names the members, and nothing stored."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from asll.extensions import db
from asll.models import Household, HouseholdMember, Role
from asll.services.schemas import MAX_MEMBERS
from asll.tenancy import tenant_context


def _member(index: int, is_reference: bool | None = None) -> dict:
    member = {"last_name": "Diallo", "first_name": f"Enfant {index}"}
    if is_reference is not None:
        member["is_reference"] = is_reference
    return member


def _stored(app, tenant_id: int) -> tuple[int, int]:
    with app.app_context(), tenant_context(tenant_id):
        found = (db.session.scalar(sa.select(sa.func.count(Household.id))),
                 db.session.scalar(sa.select(sa.func.count(HouseholdMember.id))))
        db.session.remove()
    return found


REFUSED = {
    "no reference person": ([_member(0, False), _member(1, False)],
                            "Désignez la personne de référence du ménage parmi ses membres."),
    "two reference persons": ([_member(0, True), _member(1, True)],
                              "Une seule personne de référence par ménage (2 sont désignées)."),
    "one member too many": ([_member(i) for i in range(MAX_MEMBERS + 1)], f"{MAX_MEMBERS} membres au plus par ménage."),
    "ten thousand members": ([_member(i, i < 2) for i in range(10_000)], f"{MAX_MEMBERS} membres au plus par ménage."),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_a_household_breaking_the_member_rules_is_refused(app, world, api_as, case):
    members, message = REFUSED[case]
    api = api_as(world.loire, Role.PRESCRIBER)
    before = _stored(app, world.loire.tenant.id)
    response = api.post("/households", json={"city": "Roanne", "members": members})
    assert response.status_code == 422
    body = response.get_json()
    assert body["errors"] == {"members": [message]}
    assert _stored(app, world.loire.tenant.id) == before


def test_the_largest_household_is_created_and_the_limit_is_documented(app, world, api_as):
    api = api_as(world.loire, Role.PRESCRIBER)
    members = [_member(i) for i in range(MAX_MEMBERS)]
    members[1]["is_reference"] = True
    response = api.post("/households", json={"members": members})
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert len(created["members"]) == MAX_MEMBERS
    assert [m["first_name"] for m in created["members"] if m["is_reference"]] == ["Enfant 1"]
    assert created["display_name"] == "DIALLO Enfant 1"
    schema = api.get("/openapi.json").get_json()["components"]["schemas"]["HouseholdIn"]["properties"]["members"]
    assert (schema["minItems"], schema["maxItems"]) == (1, MAX_MEMBERS)
