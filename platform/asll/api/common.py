"""Small helpers shared by the API's views."""

from __future__ import annotations

from flask import g

from asll.services.actor import Actor


def actor() -> Actor:
    """The actor of this request, set by :func:`asll.api.blueprint._authenticate`."""
    return g.actor


def page(rows: list, limit: int) -> dict:
    """Keyset page from ``limit + 1`` rows: the extra row only says that there is a next page."""
    items = rows[:limit]
    return {"items": items, "next_after": items[-1].id if len(rows) > limit and items else None}
