"""Tenant scoping by construction.

Every ORM statement touching a :class:`TenantScoped` model gets
``tenant_id == <current tenant>`` added by a ``do_orm_execute`` hook, and every new
row is stamped with the current tenant before flush. A statement on tenant data
with no tenant context is refused rather than run unfiltered, so a forgotten
filter cannot leak another département's data. Code that legitimately works
across tenants (platform admin, demo data, beat fan-out) says so with
:func:`unscoped`.
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
