"""Writing and verifying the audit trail.

Entries are hash-chained per tenant: each stores the hash of the previous entry of its
tenant and an HMAC-SHA256, keyed with the audit key (``AUDIT_KEY``, never in the database),
over its own content and that hash. So an edited or deleted row breaks the chain at a point
:func:`verify_chain` names, and whoever can only write the database cannot re-sign a
rewritten chain. The key's id is stored on each entry: after a rotation, older entries
verify with their (retired) key.

Deleting the newest entries, or re-signing a chain with a stolen key, leaves a consistent
chain; :func:`checkpoint` therefore writes the head of every chain (tenant, sequence, hash),
hourly from beat, to an append-only folder outside the database (one signed line per
checkpoint, each line chained to the previous one), and the verification compares the
database with every checkpoint: an entry a checkpoint knew that is gone or different is
named.

Old entries are purged by segments (:mod:`asll.services.rgpd.audit_retention`): the checkpoint
line written just before a purge also records, per chain, the last entry purged (``purged``:
sequence and hash); a chain whose first entry follows such a boundary exactly verifies from
there, and any other missing beginning is still named.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from asll.extensions import db
from asll.logging_setup import current_request_id
from asll.models import AuditEvent, Tenant
from asll.models.base import utcnow
from asll.services.actor import Actor
from asll.tenancy import unscoped

try:  # POSIX: serialise writers of the checkpoint folder
    import fcntl
except ImportError:  # pragma: no cover - Windows development machines
    fcntl = None

_PARIS = ZoneInfo("Europe/Paris")


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


# -- keys ---------------------------------------------------------------------------------
class UnknownAuditKey(LookupError):
    """An entry or a checkpoint names a key this process does not have (current nor retired)."""


def key_id_of(key: str) -> str:
    """A key's public id (16 hex digits of a hash of it): stored on entries, tells nothing of the key."""
    return hashlib.sha256(b"asll-audit-key-id\0" + key.encode()).hexdigest()[:16]


def current_key_id() -> str:
    return key_id_of(current_app.config["AUDIT_KEY"])


def _key(key_id: str) -> bytes:
    """The key with this id: the current one or a retired one (config ``AUDIT_RETIRED_KEYS``)."""
    for key in (current_app.config["AUDIT_KEY"], *current_app.config.get("AUDIT_RETIRED_KEYS", ())):
        if key_id_of(key) == key_id:
            return key.encode()
    raise UnknownAuditKey(key_id)


def _canonical(payload: dict) -> bytes:
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def _utc_naive(value: datetime) -> datetime:
    # SQLite gives naive UTC back, PostgreSQL an aware value in the session's zone.
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def _digest(event: AuditEvent) -> str:
    """The entry's hash: HMAC-SHA256 with the key ``event.key_id`` names (plain SHA-256 for the
    entries written before the trail was keyed, whose ``key_id`` is empty)."""
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
    if not event.key_id:
        return hashlib.sha256(_canonical(payload)).hexdigest()
    payload["key_id"] = event.key_id
    if event.request_id:
        # Signed when present (entries since migration 0013): changing, adding or removing it is
        # "contenu modifié". Older entries have none, and their payload is unchanged.
        payload["request_id"] = event.request_id
    return hmac.new(_key(event.key_id), _canonical(payload), hashlib.sha256).hexdigest()


# -- writing ------------------------------------------------------------------------------
def _chain(tenant_id: int | None):
    return AuditEvent.tenant_id.is_(None) if tenant_id is None else AuditEvent.tenant_id == tenant_id


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
            sa.select(AuditEvent.seq, AuditEvent.hash).where(_chain(tenant_id))
            .order_by(AuditEvent.seq.desc()).limit(1)
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
            key_id=current_key_id(),
            request_id=current_request_id(),  # the web request or the task it sent (logging_setup)
        )
        event.hash = _digest(event)
        db.session.add(event)
        db.session.flush()
    return event


# -- checkpoints outside the database --------------------------------------------------------
@dataclass(frozen=True)
class CheckpointLine:
    """One authentic checkpoint: the head (sequence, hash) of every chain at ``at``."""

    at: datetime
    heads: dict[int | None, tuple[int, str]]
    where: str  # "<file>:<line>"
    mac: str
    # Per chain, the last entry (sequence, hash) of a purged segment: the chain may start right after it.
    purged: dict[int | None, tuple[int, str]] = field(default_factory=dict)


@dataclass
class Checkpoints:
    """What the checkpoint folder says: its authentic lines, and what is wrong with the others."""

    lines: list[CheckpointLine] = field(default_factory=list)
    problems: list[ChainProblem] = field(default_factory=list)

    def purge_boundaries(self, tenant_id: int | None) -> dict[int, str]:
        """The authentic purge boundaries of this chain: sequence of the last purged entry → its hash."""
        return {line.purged[tenant_id][0]: line.purged[tenant_id][1] for line in self.lines if tenant_id in line.purged}

    def known(self, tenant_id: int | None) -> dict[int, list[tuple[str, datetime]]]:
        """Per sequence number of this chain, the hashes checkpoints recorded for it (and when)."""
        known: dict[int, list[tuple[str, datetime]]] = {}
        for line in self.lines:
            head = line.heads.get(tenant_id)
            if head is not None and all(h != head[1] for h, _ in known.get(head[0], [])):
                known.setdefault(head[0], []).append((head[1], line.at))
        return known


def checkpoint_folder() -> Path:
    return Path(current_app.config["AUDIT_CHECKPOINT_PATH"]).resolve()


def _private_folder(path: Path) -> Path:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def _line_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.log")) if folder.is_dir() else []


def _sign_line(line: dict, key_id: str) -> str:
    return hmac.new(_key(key_id), _canonical(line), hashlib.sha256).hexdigest()


def _local(value: datetime) -> str:
    return value.astimezone(_PARIS).strftime("%d/%m/%Y %H:%M")


def read_checkpoints(folder: Path | None = None, *, files: list[Path] | None = None) -> Checkpoints:
    """Every checkpoint line, oldest first, with its signature and its link to the previous one checked."""
    result = Checkpoints()
    previous_mac = ""
    for path in _line_files(folder or checkpoint_folder()) if files is None else files:
        for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            where = f"{path.name}:{number}"
            if not text.strip():
                continue
            try:
                line = json.loads(text)
                mac, key_id = line.pop("mac"), line["key_id"]
                expected = _sign_line(line, key_id)
                at = datetime.fromisoformat(line["at"])
                heads = {t: (int(s), str(h)) for t, s, h in line["heads"]}
                purged = {t: (int(s), str(h)) for t, s, h in line.get("purged", [])}
            except UnknownAuditKey as exc:
                result.problems.append(_file_problem(where, f"signé avec la clé « {exc.args[0]} », inconnue "
                                                            "(ajoutez-la à ASLL_AUDIT_RETIRED_KEYS)"))
                continue
            except (ValueError, KeyError, TypeError, AttributeError):
                result.problems.append(_file_problem(where, "ligne illisible (modifiée ?)"))
                continue
            if not hmac.compare_digest(mac, expected):
                result.problems.append(_file_problem(where, "signature invalide (ligne modifiée)"))
                continue
            if line.get("prev", "") != previous_mac:
                result.problems.append(_file_problem(
                    where, "ne suit pas le point de contrôle précédent (ligne ou fichier supprimé, ou déplacé)"))
            previous_mac = mac
            result.lines.append(CheckpointLine(at=at, heads=heads, where=where, mac=mac, purged=purged))
    return result


def chain_heads() -> dict[int | None, tuple[int, str]]:
    """The last entry (sequence, hash) of every chain that has one: the platform's and each tenant's."""
    heads = {}
    with unscoped():
        tenant_ids = [None, *db.session.scalars(sa.select(Tenant.id).order_by(Tenant.id))]
        for tenant_id in tenant_ids:
            last = db.session.execute(sa.select(AuditEvent.seq, AuditEvent.hash).where(_chain(tenant_id))
                                      .order_by(AuditEvent.seq.desc()).limit(1)).first()
            if last is not None:
                heads[tenant_id] = (last.seq, last.hash)
    return heads


@contextlib.contextmanager
def _folder_lock(folder: Path) -> Iterator[None]:
    """One checkpoint writer at a time (beat and the command line), so each line chains to the last."""
    descriptor = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if fcntl is not None:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


@dataclass(frozen=True)
class CheckpointResult:
    path: Path
    heads: dict[int | None, tuple[int, str]]
    problems: list[ChainProblem]  # the chain no longer holds what the previous checkpoint recorded


def checkpoint(purged: dict[int | None, tuple[int, str]] | None = None) -> CheckpointResult:
    """Append the head of every chain to the checkpoint folder (one signed line, 0600, folder 0700).

    ``purged``: the boundaries of the segments about to be purged, recorded in the same signed line.

    Also checks that the database still holds what the previous checkpoint recorded, so that
    a truncation or a rewrite is reported within the hour (the caller logs it as an error).
    """
    heads = chain_heads()
    folder = _private_folder(checkpoint_folder())
    with _folder_lock(folder):
        # The latest file is enough to chain to, and to compare with (the folder grows for ever).
        files = _line_files(folder)
        latest = read_checkpoints(files=files[-1:]).lines
        now = utcnow()
        key_id = current_key_id()
        line = {"at": now.astimezone(UTC).isoformat(timespec="microseconds"),
                "heads": [[t, s, h] for t, (s, h) in sorted(heads.items(), key=lambda i: (i[0] is not None, i[0] or 0))],
                "key_id": key_id, "prev": latest[-1].mac if latest else ""}
        if purged:
            line["purged"] = [[t, s, h] for t, (s, h) in sorted(purged.items(), key=lambda i: (i[0] is not None,
                                                                                              i[0] or 0))]
        line["mac"] = _sign_line(line, key_id)
        path = folder / f"{now.astimezone(UTC):%Y-%m}.log"
        descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(descriptor, (json.dumps(line, separators=(",", ":")) + "\n").encode())
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        path.chmod(0o600)
    return CheckpointResult(path=path, heads=heads, problems=_still_holds(latest[-1]) if latest else [])


def _still_holds(line: CheckpointLine) -> list[ChainProblem]:
    problems = []
    with unscoped():
        for tenant_id, (seq, digest) in line.heads.items():
            found = db.session.scalar(sa.select(AuditEvent.hash).where(_chain(tenant_id), AuditEvent.seq == seq))
            if found != digest:
                state = "manquante" if found is None else "différente"
                problems.append(ChainProblem(tenant_id, seq, None,
                                             f"entrée n° {seq} {state} depuis le point de contrôle du "
                                             f"{_local(line.at)}"))
    return problems


# -- verifying ------------------------------------------------------------------------------
@dataclass(frozen=True)
class ChainProblem:
    tenant_id: int | None
    seq: int
    event_id: int | None
    message: str
    checkpoint_file: bool = False  # a problem of the checkpoint folder, not of a chain


def _file_problem(where: str, message: str) -> ChainProblem:
    return ChainProblem(None, 0, None, f"point de contrôle {where} : {message}", checkpoint_file=True)


def verify_chain(tenant_id: int | None, checkpoints: Checkpoints | None = None) -> list[ChainProblem]:
    """Recompute the chain of one tenant and compare it with the checkpoints; return every break found."""
    problems: list[ChainProblem] = []
    known = checkpoints.known(tenant_id) if checkpoints is not None else {}
    boundaries = checkpoints.purge_boundaries(tenant_id) if checkpoints is not None else {}
    last_agreeing = 0  # the last entry a checkpoint recorded exactly as it is now
    with unscoped():
        # populate_existing: what the database holds now, never entries this session loaded earlier.
        events = db.session.scalars(sa.select(AuditEvent).where(_chain(tenant_id)).order_by(AuditEvent.seq)
                                    .execution_options(populate_existing=True))
        prev_hash, expected_seq, keyed = "", 1, False
        first = db.session.execute(sa.select(AuditEvent.seq, AuditEvent.prev_hash, AuditEvent.key_id)
                                   .where(_chain(tenant_id)).order_by(AuditEvent.seq).limit(1)).first()
        if first is not None and boundaries.get(first.seq - 1) == first.prev_hash:
            # A purged segment, recorded before the purge: the remaining chain is proven from its boundary.
            prev_hash, expected_seq, keyed = first.prev_hash, first.seq, bool(first.key_id)
            last_agreeing = first.seq - 1
        for event in events:
            name = f"entrée n° {event.seq} (id {event.id})"
            if event.seq != expected_seq:
                problems.append(ChainProblem(tenant_id, expected_seq, None,
                                             f"entrée n° {expected_seq} manquante (supprimée ?)"))
            if event.prev_hash != prev_hash:
                problems.append(ChainProblem(tenant_id, event.seq, event.id, f"{name} : chaînage rompu"))
            if keyed and not event.key_id:
                problems.append(ChainProblem(tenant_id, event.seq, event.id,
                                             f"{name} : sans signature après des entrées signées (réécrite)"))
            try:
                intact = hmac.compare_digest(_digest(event), event.hash)
            except UnknownAuditKey:
                problems.append(ChainProblem(tenant_id, event.seq, event.id,
                                             f"{name} : signée avec la clé « {event.key_id} », inconnue "
                                             "(réécrite, ou clé retirée absente d'ASLL_AUDIT_RETIRED_KEYS)"))
            else:
                if not intact:
                    problems.append(ChainProblem(tenant_id, event.seq, event.id, f"{name} : contenu modifié"))
            for digest, at in known.get(event.seq, []):
                if digest != event.hash:
                    problems.append(ChainProblem(
                        tenant_id, event.seq, event.id,
                        f"{name} : différente de celle du point de contrôle du {_local(at)} ; le journal a été "
                        f"réécrit à partir d'une entrée entre le n° {last_agreeing + 1} et le n° {event.seq}"))
            if event.seq in known and all(d == event.hash for d, _ in known[event.seq]):
                last_agreeing = event.seq
            keyed = keyed or bool(event.key_id)
            prev_hash, expected_seq = event.hash, event.seq + 1
    if known and max(known) >= expected_seq:
        newest = max(known)
        at = min(at for _, at in known[newest])
        problems.append(ChainProblem(
            tenant_id, expected_seq, None,
            f"entrée n° {expected_seq} manquante : le point de contrôle du {_local(at)} connaissait le journal "
            f"jusqu'au n° {newest} (entrées supprimées"
            + (f", ou renumérotées après le n° {last_agreeing})" if last_agreeing < expected_seq - 1 else ")")))
    return problems


@dataclass(frozen=True)
class Verification:
    checked: list[str]  # "plateforme", then the tenants' codes
    problems: list[ChainProblem]
    checkpoints: int
    last_checkpoint: datetime | None

    @property
    def last_checkpoint_label(self) -> str:
        return _local(self.last_checkpoint) if self.last_checkpoint else ""


def verify_all() -> Verification:
    """Every chain (the platform's, then each tenant's by code) against itself and the checkpoints."""
    checkpoints = read_checkpoints()
    problems = list(checkpoints.problems)
    problems += verify_chain(None, checkpoints)
    checked = ["plateforme"]
    with unscoped():
        tenants = db.session.execute(sa.select(Tenant.id, Tenant.code).order_by(Tenant.code)).all()
    for tenant in tenants:
        problems += verify_chain(tenant.id, checkpoints)
        checked.append(tenant.code)
    last = checkpoints.lines[-1].at if checkpoints.lines else None
    return Verification(checked=checked, problems=problems, checkpoints=len(checkpoints.lines), last_checkpoint=last)


def history(object_type: str, object_id: int, limit: int = 200) -> list[AuditEvent]:
    """The latest ``limit`` audit entries of one object in the current tenant, oldest first (a case's history)."""
    latest = list(db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.object_type == object_type, AuditEvent.object_id == object_id)
        .order_by(AuditEvent.seq.desc()).limit(limit)))
    return latest[::-1]
