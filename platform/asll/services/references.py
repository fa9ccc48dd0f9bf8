"""Human-readable references (D-42-2026-00012) for requests, measures and households."""

from __future__ import annotations

import sqlalchemy as sa

from asll.extensions import db
from asll.services import plugins as plugin_service


def next_reference(model, prefix: str, tenant_id: int, year: int) -> str:
    """Next free reference of the tenant for ``model``; the unique constraint guards races."""
    code = plugin_service.tenant_info(tenant_id).code
    stem = f"{prefix}-{code}-{year}-"
    last = db.session.scalar(
        sa.select(sa.func.max(model.reference)).where(model.reference.like(f"{stem}%"))
    )
    number = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{stem}{number:05d}"
