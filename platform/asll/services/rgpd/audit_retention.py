"""Audit retention: the access logs are kept ``audit_months`` (6 to 12, the référentiel's traces),
then purged by segments without breaking what ``audit-verify`` proves.

For each chain (the platform's and each département's), the segment is every entry older than
the cut-off (its département's policy; 12 months for the platform's own), up to the last such
entry, never the chain's newest entry. The boundary (sequence and hash of the segment's last
entry) is first written, signed and chained, in a checkpoint line outside the database
(:func:`asll.services.audit.checkpoint`); only then are the entries deleted. The verification
accepts a chain that starts right after a recorded boundary, and still names any other missing
beginning. Each purge leaves an entry in its chain (how many, up to which number).

The audit table is append-only for the application's role on PostgreSQL: the purge runs as a
maintenance command (``flask asll audit-purge``, connected as a member of ``asll_maintenance``),
with the connection it is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

import sqlalchemy as sa

from asll.domain.calendar import add_months, today
from asll.extensions import db
from asll.models import AuditEvent, Tenant
from asll.models.rgpd import DEFAULT_AUDIT_MONTHS
from asll.services import audit
from asll.services.actor import Actor
from asll.services.rgpd.policy import policy_for
from asll.services.rgpd.retention import PARIS
from asll.tenancy import tenant_context, unscoped


@dataclass(frozen=True)
class Segment:
    tenant_id: int | None
    label: str
    months: int
    cutoff: date
    first_seq: int
    last_seq: int
    last_hash: str

    @property
    def entries(self) -> int:
        return self.last_seq - self.first_seq + 1


def _chains() -> list[tuple[int | None, str, int]]:
    """(tenant id, French label, months kept) of every chain: the platform's, then each département's."""
    chains: list[tuple[int | None, str, int]] = [(None, "plateforme", DEFAULT_AUDIT_MONTHS)]
    with unscoped():
        tenants = db.session.execute(sa.select(Tenant.id, Tenant.code, Tenant.name).order_by(Tenant.code)).all()
    for tenant in tenants:
        with tenant_context(tenant.id):
            months = policy_for(tenant.id).audit_months
        chains.append((tenant.id, f"{tenant.name} ({tenant.code})", months))
    return chains


def plan(on: date | None = None) -> list[Segment]:
    """The segments a purge of day ``on`` deletes (nothing is written)."""
    on = on or today()
    segments = []
    for tenant_id, label, months in _chains():
        cutoff = add_months(on, -months)
        before = datetime.combine(cutoff, time(0), tzinfo=PARIS)
        with unscoped():
            chain = audit._chain(tenant_id)
            head = db.session.scalar(sa.select(sa.func.max(AuditEvent.seq)).where(chain))
            first = db.session.scalar(sa.select(sa.func.min(AuditEvent.seq)).where(chain))
            last = db.session.execute(sa.select(AuditEvent.seq, AuditEvent.hash).where(
                chain, AuditEvent.at < before, AuditEvent.seq < (head or 0)).order_by(AuditEvent.seq.desc())
                .limit(1)).first()
        if last is not None:
            segments.append(Segment(tenant_id, label, months, cutoff, first, last.seq, last.hash))
    return segments


def purge(connection, on: date | None = None) -> list[Segment]:
    """Record the boundaries in a checkpoint line, then delete the segments with ``connection``
    (a maintenance connection: the caller commits); each chain gets an entry saying what went."""
    segments = plan(on)
    if not segments:
        return []
    audit.checkpoint(purged={s.tenant_id: (s.last_seq, s.last_hash) for s in segments})
    table = AuditEvent.__table__
    for segment in segments:
        chain = table.c.tenant_id.is_(None) if segment.tenant_id is None else table.c.tenant_id == segment.tenant_id
        connection.execute(table.delete().where(chain, table.c.seq <= segment.last_seq))
    return segments


def record_purges(segments: list[Segment]) -> None:
    """One entry per purged chain, in that chain (after the deletion has committed)."""
    for segment in segments:
        actor = Actor.system(segment.tenant_id, label="conservation du journal (RGPD)")
        audit.record(actor, "audit.purge", object_type="audit_event", tenant_id=segment.tenant_id,
                     changes={"entries": segment.entries, "up_to_seq": segment.last_seq,
                              "before": segment.cutoff, "months": segment.months})
    db.session.commit()


def describe(segments: list[Segment], on: date) -> list[str]:
    if not segments:
        return [f"Journal d'audit – {on:%d/%m/%Y} : aucune entrée à purger."]
    return [f"Journal d'audit – {s.label} : {s.entries} entrée(s) antérieure(s) au {s.cutoff:%d/%m/%Y} "
            f"(conservation {s.months} mois), n° {s.first_seq} à {s.last_seq}" for s in segments]
