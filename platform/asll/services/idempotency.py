"""API idempotency: a retried state-changing call gets the first answer and changes nothing.

What a client sees follows the IETF draft "The Idempotency-Key HTTP Header Field"
(draft-ietf-httpapi-idempotency-key-header) and Stripe's practice:

- the key is ``Idempotency-Key: "<key>"`` (a structured-field string, as the draft writes
  it) or the bare key (as Stripe's clients send it): 1 to 255 visible ASCII characters,
  without space, comma, quote or backslash; a UUID is the obvious choice. Anything else is
  a French 400, so that a client's bug is not silently accepted as "no key";
- keys are per client: per API token, or per user and tenant for the site's session, so
  that two clients choosing the same key never see each other's answers;
- the fingerprint is the SHA-256 of method, path (with its query string) and raw body: the
  same key on another endpoint, method or body is a French 422 (the draft's choice), never
  a silent replay of an answer to another question;
- every answer below 500 is stored and replayed with ``Idempotent-Replayed: true``; a 5xx
  or an exception forgets the key, so that the retry runs the endpoint again;
- a key is kept ``IDEMPOTENCY_KEY_HOURS`` (24 h, config.py), then purged by the hourly
  ``asll.idempotency.purge`` task; an older key counts as new even before the purge;
- an answer that must not be stored (a new token's secret) cannot be replayed: the API
  refuses a key there (``api/blueprint.py`` ``NOT_REPLAYABLE``).

Why a row claimed *before* the endpoint runs. The first request inserts (tenant, owner,
key) as ``pending`` and commits at once: the unique constraint picks exactly one winner
among simultaneous retries, on SQLite (writers are serialised) and PostgreSQL (the second
insert waits for the first to commit, then fails) alike, without holding any lock while
the endpoint runs and without relying on the services' own serialisation. The winner runs
the endpoint and stores its answer; a loser reads the row: another fingerprint → 422,
done → replay, pending → it polls (``IDEMPOTENCY_WAIT_SECONDS``, short intervals) and
replays once the winner is done, else answers the French 409 of the draft with
``Retry-After``. The database and not Redis: the embedded default has no Redis, and the
answer must outlive a broker restart.

A process killed mid-request leaves its row ``pending``: after ``IDEMPOTENCY_PENDING_SECONDS``
(longer than any request the WSGI server lets run) the next retry deletes it (a conditional
DELETE, so only one retry does) and runs the endpoint. The endpoint's commit and the stored
answer are two transactions (services commit their own work), so a process dying between
them lets that retry run the endpoint a second time; the services' own checks (status,
versions) then refuse the duplicate with a 409 instead of recording it twice.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from asll.extensions import db
from asll.models.api import IdempotencyKey, IdempotencyState
from asll.models.base import utcnow
from asll.services.errors import Conflict, ServiceError
from asll.tenancy import tenant_context, unscoped

log = logging.getLogger(__name__)

KEY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255  # Stripe's bound: room for a UUID and any client's own scheme
# Visible ASCII but space, '"', ',' and '\\': a structured-field string needs no escape, and
# two keys joined by a proxy ("a, b") cannot pass for one.
KEY_CHARS = r"[!#-+\--\[\]-~]"
KEY_PATTERN = rf'^(?:"{KEY_CHARS}{{1,{MAX_KEY_LENGTH}}}"|{KEY_CHARS}{{1,{MAX_KEY_LENGTH}}})$'
_KEY = re.compile(KEY_PATTERN[1:-1])  # fullmatch: '$' would let a trailing newline in
MAX_POLL_INTERVAL = 0.25  # seconds between two looks at a pending key

INVALID_KEY = (f"L'en-tête {KEY_HEADER} doit contenir de 1 à {MAX_KEY_LENGTH} caractères ASCII visibles, sans "
               "espace, virgule, guillemet ni barre oblique inverse, éventuellement entre guillemets (un UUID "
               "convient).")
KEY_REUSED = ("Cette clé d'idempotence a déjà servi pour une autre requête (autre adresse, méthode ou contenu) : "
              "une nouvelle opération demande une nouvelle clé.")
KEY_IN_USE = ("Une requête avec la même clé d'idempotence est en cours de traitement ; réessayez dans quelques "
              "secondes.")


class InvalidKey(ServiceError):
    status = 400

    def __init__(self, message: str = INVALID_KEY):
        super().__init__(message, "cle_idempotence_invalide")
        self.fields = {KEY_HEADER: [message]}


class KeyReused(ServiceError):
    status = 422

    def __init__(self):
        super().__init__(KEY_REUSED, "cle_idempotence_reutilisee")
        self.fields = {KEY_HEADER: [KEY_REUSED]}


class KeyInUse(Conflict):
    def __init__(self):
        super().__init__(KEY_IN_USE, "requete_en_cours")


@dataclass(frozen=True)
class Claim:
    """This request won the key: it runs the endpoint, then :func:`finish` or :func:`forget`."""

    id: int
    tenant_id: int


@dataclass(frozen=True)
class Replay:
    """The first request's answer, to send again."""

    status: int
    body: str


def parse_key(header: str | None) -> str | None:
    """The key of the request's ``Idempotency-Key`` header, None without one; InvalidKey if malformed.

    Two such headers reach the application joined ("a, b"), which the comma makes invalid.
    """
    if header is None:
        return None
    value = header.strip(" \t")
    if not _KEY.fullmatch(value):
        raise InvalidKey()
    return value[1:-1] if value.startswith('"') else value


def fingerprint(method: str, path: str, query: bytes, body: bytes) -> str:
    """SHA-256 of what makes two requests the same operation: method, path and query, raw body."""
    sha = hashlib.sha256(f"{method.upper()} {path}".encode())
    if query:
        sha.update(b"?" + query)
    sha.update(b"\n" + body)
    return sha.hexdigest()


def _hours(name: str) -> timedelta:
    return timedelta(hours=current_app.config[name])


def begin(tenant_id: int, owner: str, key: str, digest: str) -> Claim | Replay:
    """Claim the key for this request, or give the first answer; KeyReused (422) or KeyInUse (409)."""
    wait = current_app.config["IDEMPOTENCY_WAIT_SECONDS"]
    abandoned_after = timedelta(seconds=current_app.config["IDEMPOTENCY_PENDING_SECONDS"])
    deadline, interval = time.monotonic() + wait, 0.02
    with tenant_context(tenant_id):
        while True:
            db.session.rollback()  # a fresh transaction: see what the other requests committed
            now = utcnow()
            row = _find(owner, key, now - _hours("IDEMPOTENCY_KEY_HOURS"), now - abandoned_after)
            if row is None:
                claim = _insert(tenant_id, owner, key, digest, now)
                if claim is not None:
                    return claim
                continue  # a simultaneous retry inserted first: read its row
            if row.stale:
                _delete_if_stale(row.id, now, abandoned_after)
                continue
            if row.fingerprint != digest:
                raise KeyReused()
            if row.state is IdempotencyState.DONE:
                return Replay(row.status_code, row.response_body)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise KeyInUse()
            time.sleep(min(interval, remaining))
            interval = min(interval * 2, MAX_POLL_INTERVAL)


def _find(owner: str, key: str, expired_before: datetime, abandoned_before: datetime):
    """The key's row, with ``stale``: expired, or pending since a process died. Read only (no write lock)."""
    stale = sa.or_(IdempotencyKey.created_at < expired_before,
                   sa.and_(IdempotencyKey.state == IdempotencyState.PENDING,
                           IdempotencyKey.created_at < abandoned_before))
    return db.session.execute(
        sa.select(IdempotencyKey.id, IdempotencyKey.fingerprint, IdempotencyKey.state, IdempotencyKey.status_code,
                  IdempotencyKey.response_body, sa.case((stale, True), else_=False).label("stale"))
        .where(IdempotencyKey.owner == owner, IdempotencyKey.client_key == key)).one_or_none()


def _insert(tenant_id: int, owner: str, key: str, digest: str, now: datetime) -> Claim | None:
    row = IdempotencyKey(tenant_id=tenant_id, owner=owner, client_key=key, fingerprint=digest,
                         state=IdempotencyState.PENDING, created_at=now)
    db.session.add(row)
    try:
        db.session.commit()  # at once: the unique constraint decides, and the losers can see the winner
    except IntegrityError:
        db.session.rollback()
        return None
    db.session.expunge(row)
    return Claim(id=row.id, tenant_id=tenant_id)


def _delete_if_stale(row_id: int, now: datetime, abandoned_after: timedelta) -> None:
    """Conditional: of several retries finding the same stale row, one deletes it, all then try to claim."""
    db.session.execute(sa.delete(IdempotencyKey).where(
        IdempotencyKey.id == row_id,
        sa.or_(IdempotencyKey.created_at < now - _hours("IDEMPOTENCY_KEY_HOURS"),
               sa.and_(IdempotencyKey.state == IdempotencyState.PENDING,
                       IdempotencyKey.created_at < now - abandoned_after))))
    db.session.commit()


def finish(claim: Claim, status: int, body: str) -> None:
    """Store the winner's answer: from now on every retry replays it."""
    with tenant_context(claim.tenant_id):
        db.session.rollback()  # whatever the endpoint left uncommitted was never going to be saved
        db.session.execute(sa.update(IdempotencyKey)
                           .where(IdempotencyKey.id == claim.id, IdempotencyKey.state == IdempotencyState.PENDING)
                           .values(state=IdempotencyState.DONE, status_code=status, response_body=body))
        db.session.commit()


def forget(claim: Claim) -> None:
    """The endpoint failed (5xx, exception): drop the claim, so that a retry runs it again."""
    with tenant_context(claim.tenant_id):
        db.session.rollback()
        db.session.execute(sa.delete(IdempotencyKey).where(IdempotencyKey.id == claim.id,
                                                           IdempotencyKey.state == IdempotencyState.PENDING))
        db.session.commit()


def purge(now: datetime | None = None) -> int:
    """Delete every tenant's keys older than ``IDEMPOTENCY_KEY_HOURS``; how many were deleted."""
    cutoff = (now or utcnow()) - _hours("IDEMPOTENCY_KEY_HOURS")
    with unscoped():
        deleted = db.session.execute(sa.delete(IdempotencyKey).where(IdempotencyKey.created_at < cutoff)).rowcount
        db.session.commit()
    return deleted


def scrub(mentions, tenant_id: int | None = None) -> int:
    """Delete the stored answers (of the current tenant) that ``mentions(body)`` flags; how many.

    For the RGPD: an answer replayed for 24 h may hold the data of a household the retention has
    just anonymised, or whose erasure was just done. Only those answers go, not every answer of
    the tenant: the others hold nobody's data, and deleting their keys would let a retry create a
    request twice. A retry of a deleted key runs the endpoint again, whose own checks (status,
    versions) refuse a duplicate change; a key still ``pending`` is left to its request."""
    statement = sa.select(IdempotencyKey.id, IdempotencyKey.response_body).where(
        IdempotencyKey.state == IdempotencyState.DONE, IdempotencyKey.response_body.is_not(None))
    if tenant_id is not None:
        statement = statement.where(IdempotencyKey.tenant_id == tenant_id)
    flagged = [row.id for row in db.session.execute(statement.execution_options(yield_per=500))
               if mentions(row.response_body)]
    for start in range(0, len(flagged), 500):
        db.session.execute(sa.delete(IdempotencyKey).where(IdempotencyKey.id.in_(flagged[start:start + 500]))
                           .execution_options(synchronize_session=False))
    return len(flagged)
