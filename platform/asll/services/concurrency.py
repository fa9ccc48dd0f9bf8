"""Serialising concurrent changes: of N clicks on the same thing, one wins, the others get a 409.

The mechanism is optimistic and the same on SQLite and PostgreSQL: a versioned row
(request, measure, commission session) is *claimed* by
``UPDATE … SET version = version + 1 WHERE id = :id AND version = :seen`` before anything
else is written, and the rowcount says who won. On PostgreSQL the UPDATE waits for a
concurrent claimant's row lock and then re-reads the row, so exactly one of them matches;
on SQLite the UPDATE takes the database's single writer lock, which it holds until commit,
so the reads that follow in the transaction are not overtaken by another writer. ``seen``
is the version the user's form was built on when it sends one (a double click, or a page
left open while a colleague acted), else the version read in this request.

A claim that loses rolls back the transaction and raises :class:`Conflict` (French, 409):
nothing of the attempt is stored.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value

from asll.extensions import db
from asll.services.errors import Conflict

CHANGED = "Cet élément vient d'être modifié par quelqu'un d'autre ; rechargez la page."


def check_fresh(obj, expected: int | None, message: str = CHANGED) -> None:
    """Refuse at once a form built on an older version than the one just read (the claim decides the rest)."""
    if expected is not None and expected != obj.version:
        raise Conflict(message)


def claim(obj, expected: int | None = None, message: str = CHANGED) -> None:
    """Take ``obj`` for this transaction if it is still at version ``expected`` (default: as read)."""
    seen = obj.version if expected is None else expected
    model = type(obj)
    won = seen == obj.version and db.session.execute(
        sa.update(model).where(model.id == obj.id, model.version == seen).values(version=seen + 1)
        .execution_options(synchronize_session=False)
    ).rowcount == 1
    if not won:
        db.session.rollback()
        raise Conflict(message)
    set_committed_value(obj, "version", seen + 1)


# SQLSTATEs a concurrent transaction causes on PostgreSQL: unique violation, serialization
# failure, deadlock detected, lock not available.
_RACE_SQLSTATES = {"23505", "40001", "40P01", "55P03"}


def as_conflict(exc: BaseException) -> Conflict | None:
    """The French 409 for a database error that a concurrent writer caused, else None.

    The backstop behind the claims: a unique constraint that decided a race, a stale ORM
    flush, SQLite's writer lock held past its busy timeout, a PostgreSQL deadlock. The
    caller's transaction is rolled back, so nothing of the attempt is stored.
    """
    from sqlalchemy import exc as sa_exc
    from sqlalchemy.orm.exc import StaleDataError

    race = isinstance(exc, StaleDataError)
    if isinstance(exc, sa_exc.DBAPIError):
        original = exc.orig
        sqlstate = getattr(original, "sqlstate", None) or getattr(getattr(original, "diag", None), "sqlstate", None)
        text = str(original).lower()
        race = sqlstate in _RACE_SQLSTATES or "database is locked" in text or (
            isinstance(exc, sa_exc.IntegrityError) and "unique" in text)
    if not race:
        return None
    db.session.rollback()
    return Conflict()
