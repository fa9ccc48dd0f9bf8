"""Human-readable references (D-42-2026-00012) for requests, measures and households."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from asll.extensions import db
from asll.models import ReferenceCounter
from asll.services import plugins as plugin_service

_INSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def next_reference(model, prefix: str, tenant_id: int, year: int) -> str:
    """Next free reference of the tenant for ``model``, safe when several are created at once.

    ``max() + 1`` let two concurrent creations compute the same number; the counter row is
    bumped with ``UPDATE … RETURNING`` instead, which holds it until commit. Its first value
    is taken from the references already stored (data from before the counter existed).
    """
    code = plugin_service.tenant_info(tenant_id).code
    stem = f"{prefix}-{code}-{year}-"
    bump = (sa.update(ReferenceCounter).where(ReferenceCounter.stem == stem)
            .values(last=ReferenceCounter.last + 1).returning(ReferenceCounter.last))
    number = db.session.execute(bump).scalar()
    if number is None:
        last = db.session.scalar(sa.select(sa.func.max(model.reference)).where(model.reference.like(f"{stem}%")))
        floor = int(last.rsplit("-", 1)[1]) if last else 0
        insert = _INSERT[db.session.get_bind().dialect.name](ReferenceCounter.__table__)
        db.session.execute(insert.values(tenant_id=tenant_id, stem=stem, last=floor)
                           .on_conflict_do_nothing(index_elements=["tenant_id", "stem"]))
        number = db.session.execute(bump).scalar()
    return f"{stem}{number:05d}"
