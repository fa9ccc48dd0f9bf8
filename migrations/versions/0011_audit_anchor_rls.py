"""Anchored audit trail and row-level security: key ids on audit entries; on PostgreSQL, the
application's group role, grants, an append-only audit table and a tenant policy on every
tenant table.

Revision ID: 0011_audit_anchor_rls
Revises: 0010_accounts

PostgreSQL only, besides the ``key_id`` column:

* NOLOGIN group roles ``asll_app`` (what the application's login role is granted) and
  ``asll_maintenance`` (the only role the audit trigger lets UPDATE, DELETE or TRUNCATE an
  audit entry), created if missing. The tables stay owned by the role running the
  migrations (the database owner), which must not be the application's.
* ``asll_app`` may SELECT, INSERT, UPDATE and DELETE every table, except ``audit_event``
  (SELECT and INSERT only) and ``alembic_version`` (SELECT); so may the tables later
  migrations create (default privileges of the migrating role).
* Every table with a ``tenant_id`` column (the core's and the plugins', hence the
  ``depends_on``) gets ``ENABLE`` + ``FORCE ROW LEVEL SECURITY`` and the policy of
  :func:`asll.tenancy.row_security_sql`.
"""

import sqlalchemy as sa
from alembic import op

from asll.tenancy import APP_ROLE, MAINTENANCE_ROLE, POLICY_NAME, create_group_roles_sql, row_security_sql

revision = "0011_audit_anchor_rls"
down_revision = "0010_accounts"
branch_labels = None
depends_on = ("loire_0001", "moselle_0001", "orne_0001")

GUARD_FUNCTION = "asll_audit_event_append_only"


def _tenant_tables(connection, schema: str) -> list[str]:
    return list(connection.execute(sa.text(
        "SELECT c.table_name FROM information_schema.columns c "
        "JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name "
        "WHERE c.table_schema = :schema AND c.column_name = 'tenant_id' AND t.table_type = 'BASE TABLE' "
        "ORDER BY c.table_name"), {"schema": schema}).scalars())


def upgrade():
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key_id", sa.String(length=16), server_default="", nullable=False))

    connection = op.get_bind()
    if connection.dialect.name != "postgresql":
        return
    schema = connection.execute(sa.text("SELECT current_schema()")).scalar()
    op.execute(create_group_roles_sql())

    q = f'"{schema}"'
    for statement in (
        f"GRANT USAGE ON SCHEMA {q} TO {APP_ROLE}, {MAINTENANCE_ROLE}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {q} TO {APP_ROLE}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA {q} TO {MAINTENANCE_ROLE}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {q} TO {APP_ROLE}, {MAINTENANCE_ROLE}",
        f"REVOKE UPDATE, DELETE, TRUNCATE ON audit_event FROM {APP_ROLE}",
        f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON alembic_version FROM {APP_ROLE}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {q} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {APP_ROLE}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {q} GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON TABLES "
        f"TO {MAINTENANCE_ROLE}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {q} GRANT USAGE, SELECT ON SEQUENCES TO {APP_ROLE}, {MAINTENANCE_ROLE}",
    ):
        op.execute(statement)

    # The trail is append-only for everyone but asll_maintenance, superusers included: membership is
    # looked up in pg_auth_members (pg_has_role would say yes to any superuser).
    op.execute(f"""
CREATE OR REPLACE FUNCTION {GUARD_FUNCTION}() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog AS $guard$
BEGIN
    IF EXISTS (
        WITH RECURSIVE held(oid) AS (
            SELECT oid FROM pg_roles WHERE rolname = current_user
            UNION
            SELECT m.roleid FROM pg_auth_members m JOIN held ON m.member = held.oid)
        SELECT FROM held JOIN pg_roles r ON r.oid = held.oid WHERE r.rolname = '{MAINTENANCE_ROLE}'
    ) THEN
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'Le journal d''audit est en ajout seul : % refusé au rôle « % ».', TG_OP, current_user
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Seul le rôle {MAINTENANCE_ROLE} peut modifier ou supprimer des entrées d''audit.';
END
$guard$
""")
    op.execute("CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event "
               f"FOR EACH ROW EXECUTE FUNCTION {GUARD_FUNCTION}()")
    op.execute("CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event "
               f"FOR EACH STATEMENT EXECUTE FUNCTION {GUARD_FUNCTION}()")

    for table in _tenant_tables(connection, schema):
        for statement in row_security_sql(table, platform_rows=table == "audit_event"):
            op.execute(statement)


def downgrade():
    connection = op.get_bind()
    if connection.dialect.name == "postgresql":
        schema = connection.execute(sa.text("SELECT current_schema()")).scalar()
        q = f'"{schema}"'
        for table in _tenant_tables(connection, schema):
            op.execute(f'DROP POLICY IF EXISTS {POLICY_NAME} ON "{table}"')
            op.execute(f'ALTER TABLE "{table}" NO FORCE ROW LEVEL SECURITY')
            op.execute(f'ALTER TABLE "{table}" DISABLE ROW LEVEL SECURITY')
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event")
        op.execute("DROP TRIGGER IF EXISTS audit_event_append_only ON audit_event")
        op.execute(f"DROP FUNCTION IF EXISTS {GUARD_FUNCTION}()")
        for statement in (
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA {q} REVOKE ALL ON TABLES FROM {APP_ROLE}, {MAINTENANCE_ROLE}",
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA {q} REVOKE ALL ON SEQUENCES FROM {APP_ROLE}, {MAINTENANCE_ROLE}",
            f"REVOKE ALL ON ALL TABLES IN SCHEMA {q} FROM {APP_ROLE}, {MAINTENANCE_ROLE}",
            f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {q} FROM {APP_ROLE}, {MAINTENANCE_ROLE}",
        ):
            op.execute(statement)
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_column("key_id")
