"""A household has exactly one reference person and at most MAX_MEMBERS members.

The services refuse the rest in French, on create and on update, before anything is
stored; when no member says whether they are the reference, the first one is.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from asll.extensions import db
from asll.models import AuditEvent, Household, HouseholdMember, Role
from asll.services import requests
from asll.services.errors import ValidationFailed
from asll.services.schemas import MAX_MEMBERS
from asll.tenancy import tenant_context

ZERO = "Désignez la personne de référence du ménage parmi ses membres."
TWO = "Une seule personne de référence par ménage (2 sont désignées)."
TOO_MANY = f"{MAX_MEMBERS} membres au plus par ménage."


def _member(index: int, is_reference: bool | None = None) -> dict:
    member = {"last_name": "Diallo", "first_name": f"Enfant {index}"}
    if is_reference is not None:
        member["is_reference"] = is_reference
    return member


def _stored() -> tuple[int, int, int]:
    return (db.session.scalar(sa.select(sa.func.count(Household.id))),
            db.session.scalar(sa.select(sa.func.count(HouseholdMember.id))),
            db.session.scalar(sa.select(sa.func.count(AuditEvent.id))))


@pytest.fixture
def prescriber(world, app_ctx):
    with tenant_context(world.loire.tenant.id):
        yield world.loire.actor(Role.PRESCRIBER)


REFUSED = {
    "no reference person": ([_member(0, False), _member(1, False)], ZERO),
    "no reference person among members who say": ([_member(0, False), _member(1)], ZERO),
    "two reference persons": ([_member(0, True), _member(1, True)], TWO),
    "one member too many": ([_member(i, i == 0) for i in range(MAX_MEMBERS + 1)], TOO_MANY),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_a_household_breaking_the_member_rules_is_not_created(prescriber, case):
    members, message = REFUSED[case]
    before = _stored()
    with pytest.raises(ValidationFailed) as refused:
        requests.create_household(prescriber, {"city": "Roanne", "members": members})
    assert refused.value.status == 422
    assert refused.value.fields == {"members": [message]}
    db.session.rollback()
    assert _stored() == before


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_an_update_breaking_the_member_rules_changes_nothing(prescriber, world, case):
    members, message = REFUSED[case]
    household_id = world.loire.household.id
    before = _stored()
    with pytest.raises(ValidationFailed) as refused:
        requests.update_household(prescriber, household_id, {"city": "Firminy", "members": members})
    assert refused.value.fields == {"members": [message]}
    db.session.rollback()
    assert _stored() == before
    household = db.session.get(Household, household_id)
    assert household.city == "Ville"
    assert [(m.first_name, m.is_reference) for m in household.members] == [("Léa", True)]


def test_the_largest_household_allowed_is_created_with_its_one_reference_person(prescriber):
    members = [_member(i) for i in range(MAX_MEMBERS)]
    members[3]["is_reference"] = True
    household = requests.create_household(prescriber, {"members": members})
    stored = db.session.scalars(sa.select(HouseholdMember).where(HouseholdMember.household_id == household.id)
                                .order_by(HouseholdMember.id)).all()
    assert len(stored) == MAX_MEMBERS
    assert [m.first_name for m in stored if m.is_reference] == ["Enfant 3"]
    assert household.reference_person.first_name == "Enfant 3"


def test_when_no_member_says_the_first_one_is_the_reference_person(prescriber):
    household = requests.create_household(prescriber, {"members": [_member(0), _member(1)]})
    stored = db.session.scalars(sa.select(HouseholdMember).where(HouseholdMember.household_id == household.id)
                                .order_by(HouseholdMember.id)).all()
    assert [(m.first_name, m.is_reference) for m in stored] == [("Enfant 0", True), ("Enfant 1", False)]
