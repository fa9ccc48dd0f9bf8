"""Writing and verifying the audit trail.

Entries are hash-chained per tenant: each stores the hash of the previous entry of
its tenant and a SHA-256 over its own content and that hash, so an edited or deleted
row breaks the chain at a point :func:`verify_chain` names.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum

import sqlalchemy as sa

from asll.extensions import db
from asll.models import AuditEvent
from asll.models.base import utcnow
from asll.services.actor import Actor
from asll.tenancy import unscoped


def _jsonable(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    return value


def diff(before: dict, after: dict) -> dict:
    """Changed fields as ``{field: [before, after]}``."""
    return {
        key: [_jsonable(before.get(key)), _jsonable(after.get(key))]
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    }


def snapshot(obj, fields) -> dict:
    return {name: getattr(obj, name) for name in fields}


def _utc_naive(value: datetime) -> datetime:
    # SQLite gives naive UTC back, PostgreSQL an aware value in the session's zone.
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def _digest(event: AuditEvent) -> str:
    payload = {
        "tenant_id": event.tenant_id,
        "seq": event.seq,
        "at": _utc_naive(event.at).isoformat(timespec="microseconds"),
        "actor_id": event.actor_id,
        "actor_label": event.actor_label,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "changes": event.changes,
        "ip": event.ip,
        "prev_hash": event.prev_hash,
    }
    encoded = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(encoded.encode()).hexdigest()


def _lock_chain(tenant_id: int | None) -> None:
    """Serialise writers of one tenant's chain (PostgreSQL; SQLite serialises writes itself)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": 7_000_000 + (tenant_id or 0)})


def record(
    actor: Actor,
    action: str,
    *,
    object_type: str = "",
    object_id: int | None = None,
    changes: dict | None = None,
    tenant_id: int | None = None,
) -> AuditEvent:
    """Append an entry to the tenant's chain in the current transaction (committed with it)."""
    tenant_id = actor.tenant_id if tenant_id is None else tenant_id
    with unscoped():
        _lock_chain(tenant_id)
        last = db.session.execute(
            sa.select(AuditEvent.seq, AuditEvent.hash)
            .where(AuditEvent.tenant_id.is_(None) if tenant_id is None else AuditEvent.tenant_id == tenant_id)
            .order_by(AuditEvent.seq.desc())
            .limit(1)
        ).first()
        event = AuditEvent(
            tenant_id=tenant_id,
            seq=(last.seq + 1) if last else 1,
            at=utcnow(),
            actor_id=actor.user_id,
            actor_label=actor.label,
            action=action,
            object_type=object_type,
            object_id=object_id,
            changes=_jsonable(changes or {}),
            ip=actor.ip,
            prev_hash=last.hash if last else "",
        )
        event.hash = _digest(event)
        db.session.add(event)
        db.session.flush()
    return event


@dataclass(frozen=True)
class ChainProblem:
    tenant_id: int | None
    seq: int
    event_id: int | None
    message: str


def verify_chain(tenant_id: int | None) -> list[ChainProblem]:
    """Recompute the chain of one tenant; return every break found (empty when intact)."""
    problems: list[ChainProblem] = []
    with unscoped():
        events = db.session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.tenant_id.is_(None) if tenant_id is None else AuditEvent.tenant_id == tenant_id)
            .order_by(AuditEvent.seq)
        )
        prev_hash, expected_seq = "", 1
        for event in events:
            if event.seq != expected_seq:
                problems.append(ChainProblem(tenant_id, expected_seq, None,
                                             f"entrée n° {expected_seq} manquante (supprimée ?)"))
            if event.prev_hash != prev_hash:
                problems.append(ChainProblem(tenant_id, event.seq, event.id,
                                             f"entrée n° {event.seq} (id {event.id}) : chaînage rompu"))
            if _digest(event) != event.hash:
                problems.append(ChainProblem(tenant_id, event.seq, event.id,
                                             f"entrée n° {event.seq} (id {event.id}) : contenu modifié"))
            prev_hash, expected_seq = event.hash, event.seq + 1
    return problems


def history(object_type: str, object_id: int, limit: int = 200) -> list[AuditEvent]:
    """The latest ``limit`` audit entries of one object in the current tenant, oldest first (a case's history)."""
    latest = list(db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.object_type == object_type, AuditEvent.object_id == object_id)
        .order_by(AuditEvent.seq.desc()).limit(limit)))
    return latest[::-1]
