"""Tenant scoping by construction.

Every ORM statement touching a :class:`TenantScoped` model gets
``tenant_id == <current tenant>`` added by a ``do_orm_execute`` hook, and every new
row is stamped with the current tenant before flush. A statement on tenant data
with no tenant context is refused rather than run unfiltered, so a forgotten
filter cannot leak another département's data. Code that legitimately works
across tenants (platform admin, demo data, beat fan-out) says so with
:func:`unscoped`.

On PostgreSQL the database enforces the same rule as a second wall, for raw SQL and
Core statements the ORM hooks never see: every tenant table has row-level security
(``FORCE``d, so the tables' owner is held too) with a policy on the transaction-local
settings ``app.tenant_id`` and ``app.bypass_rls``, which :func:`install_row_security`
sets from the context variables below before each statement whose context differs
from what the transaction already has (``set_config(..., true)``: nothing outlives the
transaction, which is what pgbouncer's transaction pooling needs). Like the ORM hook, it
lets through the reload of an already-loaded object's expired attributes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import sqlalchemy as sa
from sqlalchemy import event, orm
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

_current_tenant: ContextVar[int | None] = ContextVar("asll_current_tenant", default=None)
_unscoped: ContextVar[bool] = ContextVar("asll_unscoped", default=False)


class TenantContextError(RuntimeError):
    """Raised when tenant data is touched without a tenant context."""


class TenantScoped:
    """Mixin for every table owned by a tenant (département)."""

    @declared_attr
    def tenant_id(cls) -> Mapped[int]:
        return mapped_column(sa.ForeignKey("tenant.id", ondelete="RESTRICT"), nullable=False, index=True)


def current_tenant_id() -> int | None:
    return _current_tenant.get()


def require_tenant_id() -> int:
    tenant_id = _current_tenant.get()
    if tenant_id is None:
        raise TenantContextError("Aucun département sélectionné.")
    return tenant_id


@contextmanager
def tenant_context(tenant_id: int | None) -> Iterator[None]:
    """Run the block as the given tenant (``None``: no tenant, i.e. platform level)."""
    token = _current_tenant.set(tenant_id)
    unscoped_token = _unscoped.set(False)
    try:
        yield
    finally:
        _unscoped.reset(unscoped_token)
        _current_tenant.reset(token)


@contextmanager
def unscoped() -> Iterator[None]:
    """Allow statements across all tenants inside the block. Use for platform-level work only."""
    token = _unscoped.set(True)
    try:
        yield
    finally:
        _unscoped.reset(token)


def set_request_tenant(tenant_id: int | None):
    """Set the tenant for the rest of a request; returns a token for :func:`reset_request_tenant`."""
    return _current_tenant.set(tenant_id), _unscoped.set(False)


def reset_request_tenant(tokens) -> None:
    current_token, unscoped_token = tokens
    _unscoped.reset(unscoped_token)
    _current_tenant.reset(current_token)


def _is_scoped(mapper) -> bool:
    return issubclass(mapper.class_, TenantScoped)


def install_tenant_scoping(session_class, audit_event_class) -> None:
    """Attach the scoping events to ``session_class`` (idempotent per class)."""
    if getattr(session_class, "_asll_tenant_scoping", False):
        return
    session_class._asll_tenant_scoping = True

    @event.listens_for(session_class, "do_orm_execute")
    def _scope_statement(state: orm.ORMExecuteState) -> None:
        if state.is_column_load:
            # Reloading expired attributes of an object this session already loaded, by its primary
            # key: not filtered here, nor by row-level security (the option tells install_row_security).
            state.update_execution_options(asll_unscoped=True)
            return
        if _unscoped.get() or state.execution_options.get("asll_unscoped", False):
            return
        if not (state.is_select or state.is_update or state.is_delete) or state.is_column_load:
            return
        tenant_id = _current_tenant.get()
        if tenant_id is None and any(_is_scoped(m) for m in state.all_mappers):
            raise TenantContextError(
                "Requête sur des données d'un département sans département courant."
            )
        options = []
        if tenant_id is not None:
            options.append(
                orm.with_loader_criteria(
                    TenantScoped, lambda cls: cls.tenant_id == tenant_id, include_aliases=True
                )
            )
            options.append(
                orm.with_loader_criteria(
                    audit_event_class, lambda cls: cls.tenant_id == tenant_id, include_aliases=True
                )
            )
        else:
            # At platform level only the platform's own audit entries are visible.
            options.append(
                orm.with_loader_criteria(
                    audit_event_class, lambda cls: cls.tenant_id.is_(None), include_aliases=True
                )
            )
        state.statement = state.statement.options(*options)

    @event.listens_for(session_class, "before_flush")
    def _stamp_tenant(session, flush_context, instances) -> None:
        tenant_id = _current_tenant.get()
        allow_any = _unscoped.get()
        for obj in list(session.new) + list(session.dirty):
            if not isinstance(obj, TenantScoped):
                continue
            if obj.tenant_id is None:
                if tenant_id is None:
                    raise TenantContextError(
                        f"Impossible d'enregistrer {type(obj).__name__} sans département courant."
                    )
                obj.tenant_id = tenant_id
            elif tenant_id is not None and obj.tenant_id != tenant_id and not allow_any:
                raise TenantContextError(
                    f"{type(obj).__name__} appartient à un autre département."
                )
        for obj in session.deleted:
            if isinstance(obj, TenantScoped) and tenant_id is not None and obj.tenant_id != tenant_id and not allow_any:
                raise TenantContextError(f"{type(obj).__name__} appartient à un autre département.")


# -- Row-level security (PostgreSQL) -------------------------------------------------------
APP_ROLE = "asll_app"
MAINTENANCE_ROLE = "asll_maintenance"
POLICY_NAME = "tenant_isolation"
_TENANT = "nullif(current_setting('app.tenant_id', true), '')::integer"
_BYPASS = "coalesce(current_setting('app.bypass_rls', true), '') = 'on'"
_STATE_KEY = "asll_row_security"
_TRANSACTION_CONTROL = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


def row_security_sql(table: str, *, platform_rows: bool = False) -> list[str]:
    """Statements giving ``table`` (with a ``tenant_id`` column) its row-level security.

    A row is visible, and may be written, when its tenant is the transaction's
    ``app.tenant_id``, or when the transaction set ``app.bypass_rls`` (:func:`unscoped`).
    ``platform_rows``: rows with a null tenant are also visible with no tenant set (the
    audit trail's platform entries). Call it from the migration that creates a tenant table.
    """
    visible = f"{_BYPASS} OR tenant_id = {_TENANT}"
    if platform_rows:
        visible += f" OR (tenant_id IS NULL AND {_TENANT} IS NULL)"
    quoted = f'"{table}"'
    return [
        f"ALTER TABLE {quoted} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {quoted} FORCE ROW LEVEL SECURITY",
        f"DROP POLICY IF EXISTS {POLICY_NAME} ON {quoted}",
        f"CREATE POLICY {POLICY_NAME} ON {quoted} USING ({visible}) WITH CHECK ({visible})",
    ]


def create_group_roles_sql() -> str:
    """Create the NOLOGIN group roles if they do not exist (roles belong to the whole server:
    several databases, or two migrations at once, may get here; either finds them or makes them)."""
    return f"""
DO $roles$
DECLARE
    wanted text;
BEGIN
    FOREACH wanted IN ARRAY ARRAY['{APP_ROLE}', '{MAINTENANCE_ROLE}'] LOOP
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = wanted) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', wanted);
            EXCEPTION
                WHEN duplicate_object OR unique_violation THEN NULL;
                WHEN insufficient_privilege THEN
                    RAISE EXCEPTION 'Le rôle % n''existe pas et ce compte ne peut pas le créer.', wanted
                        USING HINT = 'Créez-le une fois : CREATE ROLE ' || wanted || ' NOLOGIN;';
            END;
        END IF;
    END LOOP;
END
$roles$
"""


def _settings_wanted(context) -> tuple[str, str]:
    tenant_id = _current_tenant.get()
    bypass = _unscoped.get() or bool(context is not None and context.execution_options.get("asll_unscoped", False))
    return ("" if tenant_id is None else str(tenant_id), "on" if bypass else "off")


def install_row_security(engine) -> None:
    """Give every transaction on ``engine`` the current tenant context (PostgreSQL; idempotent).

    The settings are sent before a statement when the transaction does not have them yet
    (its first statement, or the context changed: an :func:`unscoped` block, another tenant
    in a fan-out), on every connection of the engine: ORM sessions and raw
    ``engine.begin()`` alike. Rolling back to a savepoint may undo them, so they are sent
    again after one.
    """
    if engine.dialect.name != "postgresql" or event.contains(engine, "before_cursor_execute", _send_settings):
        return
    for name in ("begin", "commit", "rollback", "rollback_savepoint"):
        event.listen(engine, name, _forget_settings)
    event.listen(engine, "before_cursor_execute", _send_settings)


def _forget_settings(connection, *_args) -> None:
    connection.info.pop(_STATE_KEY, None)


def _send_settings(connection, cursor, statement, parameters, context, executemany) -> None:
    if statement.startswith(_TRANSACTION_CONTROL):
        return
    wanted = _settings_wanted(context)
    if connection.info.get(_STATE_KEY) == wanted:
        return
    connection.connection.driver_connection.execute(
        "SELECT set_config('app.tenant_id', %s, true), set_config('app.bypass_rls', %s, true)", wanted
    ).close()
    connection.info[_STATE_KEY] = wanted


def database_role_problems(connection) -> list[str]:
    """Why the role of this PostgreSQL connection would not be held by row-level security (empty: it is)."""
    row = connection.execute(sa.text(
        "SELECT current_user AS name, r.rolsuper AS superuser, r.rolbypassrls AS bypass, "
        "coalesce(pg_has_role(current_user, c.relowner, 'MEMBER'), false) AS owner, "
        "coalesce((SELECT pg_has_role(current_user, m.oid, 'MEMBER') FROM pg_roles m "
        "          WHERE m.rolname = :maintenance), false) AS maintenance "
        "FROM pg_roles r LEFT JOIN pg_class c ON c.oid = to_regclass('audit_event') "
        "WHERE r.rolname = current_user"), {"maintenance": MAINTENANCE_ROLE}).one()
    if row.superuser:
        return [f"« {row.name} » est un superutilisateur : la sécurité au niveau des lignes ne s'applique pas"]
    problems = []
    if row.bypass:
        problems.append(f"« {row.name} » a l'attribut BYPASSRLS : la sécurité au niveau des lignes ne s'applique pas")
    if row.owner:
        problems.append(f"« {row.name} » est propriétaire des tables : il peut désactiver la sécurité au niveau "
                        "des lignes et les déclencheurs du journal d'audit")
    if row.maintenance:
        problems.append(f"« {row.name} » est membre de {MAINTENANCE_ROLE} : il peut réécrire le journal d'audit")
    return problems
