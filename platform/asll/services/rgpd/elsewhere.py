"""Copies of a household's data outside its file: the API's stored answers and the named exports.

When the retention anonymises a file, or its erasure is done, the same transaction

* deletes the stored API answers (``services/idempotency.py``: replayed for 24 h) that mention the
  household: its id under ``household_id``, one of its requests or measures under ``request_id`` or
  ``measure_id``, one of its references, or a member's name, address or birth date in any text of
  the answer (read as JSON, so that escaped accents do not hide a name); the other answers of the
  tenant are kept, so that their keys still protect the clients' retries;
* marks expired, now, every named (not pseudonymised) export already produced that has, or may
  have, a row of the household (its query run again for that household alone, whoever asked), so
  that it can no longer be downloaded; once committed, the exports' own expiry
  (:func:`asll.services.exports.cleanup_expired`) deletes the files and audits it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import sqlalchemy as sa

from asll.extensions import db
from asll.models import Household
from asll.models.base import utcnow
from asll.models.exports import ExportJob, ExportKind, ExportStatus
from asll.services import idempotency


@dataclass(frozen=True)
class Mentions:
    """What identifies a household in a stored answer; ``mentions(body)`` says whether the body does."""

    household_id: int
    request_ids: frozenset[int]
    measure_ids: frozenset[int]
    texts: tuple[str, ...]  # references, address: found anywhere in a text (case aside)
    names: re.Pattern | None  # members' names, as whole words

    @classmethod
    def of(cls, household: Household, file) -> Mentions:
        from asll.models import Measure, Request

        references = {household.reference}
        references |= set(db.session.scalars(sa.select(Request.reference).where(Request.id.in_(file.request_ids))))
        references |= set(db.session.scalars(sa.select(Measure.reference).where(Measure.id.in_(file.measure_ids))))
        texts = {r.lower() for r in references if r}
        if len(household.address or "") >= 6:
            texts.add(household.address.lower())
        names = {part for m in household.members for part in (m.last_name, m.first_name)
                 if part and len(part) >= 2 and part != "Anonymisé"}
        for member in household.members:
            if member.birth_date:
                texts.add(member.birth_date.isoformat())
        pattern = (re.compile(r"(?<!\w)(" + "|".join(sorted(map(re.escape, names), key=len, reverse=True))
                              + r")(?!\w)", re.IGNORECASE) if names else None)
        return cls(household.id, frozenset(file.request_ids), frozenset(file.measure_ids), tuple(sorted(texts)),
                   pattern)

    def _text(self, value: str) -> bool:
        low = value.lower()
        return any(t in low for t in self.texts) or bool(self.names and self.names.search(value))

    def _walk(self, value) -> bool:
        if isinstance(value, dict):
            if value.get("household_id") == self.household_id or value.get("request_id") in self.request_ids \
                    or value.get("measure_id") in self.measure_ids:
                return True
            return any(self._text(str(k)) or self._walk(v) for k, v in value.items())
        if isinstance(value, list):
            return any(self._walk(v) for v in value)
        if isinstance(value, str):
            return self._text(value)
        return False

    def __call__(self, body: str) -> bool:
        try:
            return self._walk(json.loads(body))
        except ValueError:
            return self._text(body)


def named_exports_with(household_id: int) -> list[int]:
    """The produced, still downloadable named exports of the tenant that may hold the household."""
    from asll.services.exports.query import has_household

    jobs = db.session.execute(sa.select(ExportJob.id, ExportJob.tenant_id, ExportJob.dataset, ExportJob.filters).where(
        ExportJob.kind == ExportKind.EXPORT, ExportJob.status == ExportStatus.DONE,
        ExportJob.pseudonymised.is_(False)).order_by(ExportJob.id)).all()
    return [job.id for job in jobs if has_household(job.tenant_id, job.dataset, job.filters or {}, household_id)]


def forget_copies(household: Household, file) -> dict:
    """In the caller's transaction: the answers deleted, the exports marked expired (see the module)."""
    answers = idempotency.scrub(Mentions.of(household, file), household.tenant_id)
    exports = named_exports_with(household.id)
    if exports:
        db.session.execute(sa.update(ExportJob).where(ExportJob.id.in_(exports)).values(expires_at=utcnow())
                           .execution_options(synchronize_session=False))
    return {"api_answers_deleted": answers, "exports_expired": exports}


def delete_expired_files(tenant_id: int, copies: dict) -> None:
    """After the commit: the exports' own expiry deletes the files (and audits it)."""
    if copies.get("exports_expired"):
        from asll.services.exports import cleanup_expired

        cleanup_expired(tenant_id, utcnow())
