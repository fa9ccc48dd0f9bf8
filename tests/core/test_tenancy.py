"""Tenant scoping by construction: no query reaches another tenant's rows, even unfiltered."""

import pytest
import sqlalchemy as sa

from asll.extensions import db
from asll.models import AuditEvent, Household, Measure, Organisation
from asll.tenancy import TenantContextError, tenant_context, unscoped

pytestmark = pytest.mark.usefixtures("app_ctx")


def test_unfiltered_query_sees_only_the_current_tenant(world):
    with tenant_context(world.loire.tenant.id):
        households = db.session.scalars(sa.select(Household)).all()
        organisations = db.session.scalars(sa.select(Organisation)).all()
    assert [h.reference for h in households] == ["M-42-0001"]
    assert {o.tenant_id for o in organisations} == {world.loire.tenant.id}


def test_query_on_tenant_data_without_tenant_is_refused(world):
    db.session.expunge_all()
    with pytest.raises(TenantContextError):
        db.session.scalars(sa.select(Household)).all()


def test_get_by_primary_key_of_another_tenant_finds_nothing(world):
    orne_household_id = world.orne.household.id
    db.session.expunge_all()
    with tenant_context(world.loire.tenant.id):
        assert db.session.get(Household, orne_household_id) is None


def test_joins_and_relationships_are_scoped(world):
    db.session.expunge_all()
    with tenant_context(world.loire.tenant.id):
        rows = db.session.execute(
            sa.select(Measure.reference, Household.reference).join(Household, Household.id == Measure.household_id)
        ).all()
    assert rows == [("A-42-0001", "M-42-0001")]


def test_bulk_update_and_delete_are_scoped(world):
    with tenant_context(world.loire.tenant.id):
        db.session.execute(sa.update(Household).values(city="Saint-Étienne"))
        db.session.execute(sa.delete(Measure))
        db.session.commit()
    with unscoped():
        cities = dict(db.session.execute(sa.select(Household.tenant_id, Household.city)).all())
        measures = db.session.scalars(sa.select(Measure.tenant_id)).all()
    assert cities == {world.loire.tenant.id: "Saint-Étienne", world.orne.tenant.id: "Ville"}
    assert measures == [world.orne.tenant.id]


def test_new_rows_are_stamped_with_the_current_tenant(world):
    with tenant_context(world.orne.tenant.id):
        household = Household(reference="M-61-0002")
        db.session.add(household)
        db.session.commit()
        assert household.tenant_id == world.orne.tenant.id


def test_writing_a_row_for_another_tenant_is_refused(world):
    with tenant_context(world.loire.tenant.id):
        db.session.add(Household(reference="M-X", tenant_id=world.orne.tenant.id))
        with pytest.raises(TenantContextError):
            db.session.flush()
        db.session.rollback()


def test_saving_tenant_data_without_tenant_is_refused(world):
    db.session.add(Household(reference="M-Y"))
    with pytest.raises(TenantContextError):
        db.session.flush()
    db.session.rollback()


def test_audit_entries_are_scoped_to_their_tenant(world):
    with tenant_context(world.loire.tenant.id):
        tenants_seen = set(db.session.scalars(sa.select(AuditEvent.tenant_id)))
    assert tenants_seen == {world.loire.tenant.id}
    with tenant_context(None):
        platform_seen = set(db.session.scalars(sa.select(AuditEvent.tenant_id)))
    assert platform_seen == {None}
