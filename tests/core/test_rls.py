"""Row-level security, the second wall behind the ORM's tenant scoping (PostgreSQL only).

The suite connects as ``asll_test_app`` (granted ``asll_app`` only, see ``tests/conftest.py``),
so what these tests see is what the application sees: raw SQL that forgets the tenant filter
still gets one tenant's rows, or none.
"""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import StaticPool

from asll.extensions import db
from asll.models import Household
from asll.models.base import Base
from asll.tenancy import POLICY_NAME, TenantScoped, database_role_problems, install_row_security, tenant_context, \
    unscoped

pytestmark = pytest.mark.postgresql

RLS_REFUSED = "row-level security"


def _households() -> list[tuple[int, int]]:
    return [tuple(r) for r in db.session.execute(sa.text("select id, tenant_id from household order by id"))]


def test_every_tenant_table_has_forced_row_level_security_and_its_policy(app, app_ctx):
    """A new tenant table without its policy fails here: call ``asll.tenancy.row_security_sql`` in its migration."""
    modelled = {m.class_.__table__.name for m in Base.registry.mappers if issubclass(m.class_, TenantScoped)}
    in_database = set(db.session.scalars(sa.text(
        "select table_name from information_schema.columns where table_schema = current_schema() "
        "and column_name = 'tenant_id'")))
    tables = modelled | in_database | {"audit_event"}
    rows = {r.relname: r for r in db.session.execute(sa.text(
        "select c.relname, c.relrowsecurity, c.relforcerowsecurity, p.qual, p.with_check "
        "from pg_class c left join pg_policies p on p.tablename = c.relname and p.schemaname = current_schema() "
        "and p.policyname = :policy where c.relnamespace = current_schema()::regnamespace and c.relkind = 'r'"),
        {"policy": POLICY_NAME})}
    lacking = sorted(t for t in tables if not (
        t in rows and rows[t].relrowsecurity and rows[t].relforcerowsecurity
        and "app.tenant_id" in (rows[t].qual or "") and "app.tenant_id" in (rows[t].with_check or "")))
    assert lacking == [], f"tables without forced row-level security and the {POLICY_NAME} policy: {lacking}"
    assert len(tables) >= 30  # every core and plugin tenant table, not an empty list that passes


def test_the_app_connects_as_a_role_that_row_level_security_holds(app, app_ctx):
    row = db.session.execute(sa.text(
        "select r.rolsuper, r.rolbypassrls, pg_has_role(current_user, c.relowner, 'MEMBER') as owner, "
        "pg_has_role(current_user, 'asll_app', 'MEMBER') as app_member "
        "from pg_roles r, pg_class c where r.rolname = current_user and c.oid = 'household'::regclass")).one()
    assert (row.rolsuper, row.rolbypassrls, row.owner, row.app_member) == (False, False, False, True)
    assert database_role_problems(db.session.connection()) == []


def test_raw_sql_sees_only_the_current_tenants_rows(app, app_ctx, world):
    loire, orne = world.loire, world.orne
    with tenant_context(loire.tenant.id):
        assert _households() == [(loire.household.id, loire.tenant.id)]
        everything = db.session.execute(sa.text("select * from household")).all()
        assert [r.tenant_id for r in everything] == [loire.tenant.id]
    db.session.commit()
    with tenant_context(orne.tenant.id):
        assert _households() == [(orne.household.id, orne.tenant.id)]
    db.session.commit()
    assert db.session.execute(sa.text("select * from household")).all() == []  # no tenant: nothing
    assert db.session.execute(sa.text("select count(*) from household_member")).scalar() == 0
    with unscoped():  # the explicit platform-level bypass
        assert _households() == sorted([(loire.household.id, loire.tenant.id), (orne.household.id, orne.tenant.id)])


def test_raw_connections_outside_the_orm_carry_the_tenant_too(app, app_ctx, world):
    """``db.engine.begin()`` (the export progress writes) is held by the same policy."""
    loire, orne = world.loire, world.orne
    statement = sa.text("update household set city = 'Roanne' where id = :id")
    for context, expected in ((tenant_context(orne.tenant.id), 0), (tenant_context(None), 0),
                              (tenant_context(loire.tenant.id), 1)):
        with context, db.engine.begin() as connection:
            assert connection.execute(statement, {"id": loire.household.id}).rowcount == expected
    with unscoped():
        assert db.session.scalar(sa.select(Household.city).where(Household.id == loire.household.id)) == "Roanne"


def test_a_row_for_another_tenant_is_refused_by_the_policy(app, app_ctx, world):
    loire, orne = world.loire, world.orne
    with tenant_context(loire.tenant.id):
        with pytest.raises(sa.exc.ProgrammingError, match=RLS_REFUSED):
            db.session.execute(sa.text("insert into household (reference, address, postcode, city, sector, "
                                       "resources_kind, family_situation, landlord_consent, extra, tenant_id, "
                                       "created_at, updated_at) values ('M-61-9999', '', '', 'Alençon', '', '', '', "
                                       "false, '{}', :orne, now(), now())"), {"orne": orne.tenant.id})
        db.session.rollback()
        with pytest.raises(sa.exc.ProgrammingError, match=RLS_REFUSED):  # nor moved to another tenant
            db.session.execute(sa.text("update household set tenant_id = :orne where id = :id"),
                               {"orne": orne.tenant.id, "id": loire.household.id})
        db.session.rollback()
        # Another tenant's row cannot be reached to change or delete it.
        assert db.session.execute(sa.text("update household set city = 'X' where id = :id"),
                                  {"id": orne.household.id}).rowcount == 0
        assert db.session.execute(sa.text("delete from household_member where tenant_id = :orne"),
                                  {"orne": orne.tenant.id}).rowcount == 0
        db.session.commit()
    with unscoped():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Household)) == 2
        assert db.session.scalar(sa.select(Household.city).where(Household.id == orne.household.id)) == "Ville"


def test_an_object_already_loaded_reloads_its_expired_attributes_but_raw_sql_stays_filtered(app, app_ctx, world):
    """As the ORM hook does, the database lets an object the session loaded in its tenant refresh itself."""
    with tenant_context(world.loire.tenant.id):
        household = db.session.get(Household, world.loire.household.id)
    db.session.rollback()  # expires it
    assert household.city == "Ville"
    assert db.session.execute(sa.text("select city from household where id = :id"),
                              {"id": household.id}).all() == []


def test_the_settings_end_with_the_transaction(app, app_ctx, world, database_url):
    """Transaction-local (``set_config(..., true)``): a pooled connection, or pgbouncer's next client, starts clean."""
    engine = sa.create_engine(database_url, poolclass=StaticPool)  # one connection, reused
    install_row_security(engine)
    try:
        with tenant_context(world.loire.tenant.id), engine.begin() as connection:
            assert connection.execute(sa.text("select count(*) from household")).scalar() == 1
        with unscoped(), engine.begin() as connection:
            assert connection.execute(sa.text("select count(*) from household")).scalar() == 2
        raw = engine.raw_connection()  # the same connection, no hook: what the next transaction inherits
        try:
            cursor = raw.cursor()
            cursor.execute("select coalesce(current_setting('app.tenant_id', true), ''), "
                           "coalesce(current_setting('app.bypass_rls', true), ''), (select count(*) from household)")
            assert cursor.fetchone() == ("", "", 0)
            raw.rollback()
        finally:
            raw.close()
    finally:
        engine.dispose()


def test_rolling_back_a_savepoint_sends_the_tenant_again(app, app_ctx, world):
    """The settings made inside a rolled-back savepoint are undone; a stale view must not be kept."""
    with unscoped():
        assert db.session.execute(sa.text("select count(*) from household")).scalar() == 2
        savepoint = db.session.begin_nested()
        with tenant_context(world.loire.tenant.id):
            assert db.session.execute(sa.text("select count(*) from household")).scalar() == 1
            savepoint.rollback()  # the transaction is back to the bypass set before the savepoint...
            assert db.session.execute(sa.text("select count(*) from household")).scalar() == 1  # ...not this one
        assert db.session.execute(sa.text("select count(*) from household")).scalar() == 2
    db.session.rollback()


def _test_db(url: str, role_url: str) -> str:
    """``role_url`` (server and credentials) pointed at the run's database of ``url``."""
    return sa.engine.make_url(role_url).set(database=sa.engine.make_url(url).database) \
        .render_as_string(hide_password=False)


@pytest.mark.parametrize("who", ["superutilisateur", "propriétaire des tables"])
def test_start_up_refuses_in_production_a_role_row_level_security_does_not_hold(app, app_env, database_urls,
                                                                                  monkeypatch, caplog, who):
    import os

    from asll.app import create_app

    url = (_test_db(database_urls.app, os.environ["ASLL_TEST_DATABASE_URL"]) if who == "superutilisateur"
           else database_urls.owner)
    # Production's other start-up checks (asll.config.production_problems) pass: only the role is wrong.
    for name, value in {"SECRET_KEY": "s" * 64, "SMTP_HOST": "smtp.invalid", "ASLL_AUDIT_KEY": app.config["AUDIT_KEY"],
                        "ASLL_STORAGE_PATH_SHARED": "1"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("ASLL_ENV", "production")
    with pytest.raises(RuntimeError, match=f"Démarrage refusé.*{who}.*asll_app"):
        create_app({"SQLALCHEMY_DATABASE_URI": url})
    monkeypatch.setenv("ASLL_ENV", "development")  # elsewhere: a warning
    with caplog.at_level(logging.WARNING, logger="asll"):
        create_app({"SQLALCHEMY_DATABASE_URI": url})
    assert any(who in record.getMessage() for record in caplog.records)
    monkeypatch.setenv("ASLL_ENV", "production")  # the app's own role starts
    create_app({"SQLALCHEMY_DATABASE_URI": database_urls.app})
