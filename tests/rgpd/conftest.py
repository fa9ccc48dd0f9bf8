"""Fixtures of the RGPD tests: the core's fake département on the fixed clock (``env``), and helpers
that build files, run the retention task as beat would, and read every text of the database."""

from __future__ import annotations

import io
from datetime import date

import pytest
import sqlalchemy as sa

from asll.extensions import db
from asll.models import AuditEvent, Household, HouseholdMember
from asll.services import documents, requests
from asll.tenancy import unscoped
from tests.core.workflow_support import env, wf  # noqa: F401  (fixtures)
from tests.factories import MINIMAL_PDF


def household(env, last_name: str, *, birth: str = "1958-07-14", **data) -> int:
    """A household filed by the prescriber, with a second member, an address and a free text."""
    created = requests.create_household(env.prescriber, {
        "address": f"12 rue des Lilas {last_name}", "postcode": "42000", "city": "Saint-Étienne", "sector": "Centre",
        "housing_status": "hosted", "resources_kind": "RSA", "monthly_resources": "612.50",
        "family_situation": f"Vit avec son frère Paul {last_name.upper()} né le 03/04/1990",
        "members": [{"last_name": last_name, "first_name": "Ana", "birth_date": birth, "is_reference": True},
                    {"last_name": last_name, "first_name": "Théo", "birth_date": "2012-09-30",
                     "relationship_to_reference": "fils"}],
        **data})
    return created.id


def attach(env, request_id: int, filename: str) -> int:
    return documents.attach(env.prescriber, request_id=request_id, filename=filename,
                            stream=io.BytesIO(MINIMAL_PDF), content_type="application/pdf").id


def run_retention_task(app, on: date | None = None) -> dict:
    """The beat's daily entry, run in-process (eager): it fans out one run per tenant.

    The task runs in its own app context (its own session): the caller's transaction is ended
    before and after and its objects expired, so that it then reads what the task committed.
    """
    db.session.commit()
    conf = app.extensions["celery"].conf
    saved = conf.task_always_eager, conf.task_eager_propagates
    conf.task_always_eager, conf.task_eager_propagates = True, True
    try:
        task = app.extensions["celery"].tasks["asll.retention.apply"]
        return task.apply(kwargs={"on_date": on.isoformat() if on else None}).get()
    finally:
        conf.task_always_eager, conf.task_eager_propagates = saved
        db.session.commit()
        db.session.expire_all()  # the session keeps objects readable after commit: read them again


def reference_names(household_ids) -> list[str]:
    with unscoped():
        return list(db.session.scalars(sa.select(HouseholdMember.last_name)
                                       .where(HouseholdMember.household_id.in_(list(household_ids)))
                                       .order_by(HouseholdMember.id)))


def anonymise_entries(tenant_id: int) -> list[int]:
    """The households that got a ``household.anonymise`` audit entry, in order."""
    with unscoped():
        return list(db.session.scalars(sa.select(AuditEvent.object_id).where(
            AuditEvent.tenant_id == tenant_id, AuditEvent.action == "household.anonymise").order_by(AuditEvent.seq)))


def references(household_ids) -> list[str]:
    with unscoped():
        return sorted(db.session.scalars(sa.select(Household.reference).where(Household.id.in_(list(household_ids)))))


# -- every text the database holds ---------------------------------------------------------
TEXT_TYPES = (sa.String, sa.Text, sa.JSON)


def _strings(value):
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, str):
        yield value


def every_text(exclude_tables=()) -> dict[str, list[str]]:
    """Every string of every text and JSON column (JSON walked through), by ``table.column``."""
    found: dict[str, list[str]] = {}
    with unscoped():
        for table in db.metadata.sorted_tables:
            if table.name in exclude_tables:
                continue
            columns = [c for c in table.columns if isinstance(c.type, TEXT_TYPES)]
            if not columns:
                continue
            for row in db.session.execute(sa.select(*columns)):
                for column, value in zip(columns, row, strict=True):
                    found.setdefault(f"{table.name}.{column.name}", []).extend(_strings(value))
    return found


def every_date(exclude_tables=()) -> dict[str, list[date]]:
    found: dict[str, list[date]] = {}
    with unscoped():
        for table in db.metadata.sorted_tables:
            if table.name in exclude_tables:
                continue
            columns = [c for c in table.columns if isinstance(c.type, sa.Date) and not isinstance(c.type, sa.DateTime)]
            for row in db.session.execute(sa.select(*columns)) if columns else ():
                for column, value in zip(columns, row, strict=True):
                    if value is not None:
                        found.setdefault(f"{table.name}.{column.name}", []).append(value)
    return found


def where_found(needles, texts: dict[str, list[str]]) -> list[tuple[str, str]]:
    """(needle, table.column) for every needle that occurs, case aside, in a text."""
    hits = []
    for needle in needles:
        low = needle.lower()
        for place, values in texts.items():
            if any(low in value.lower() for value in values):
                hits.append((needle, place))
    return sorted(set(hits))


@pytest.fixture
def uploads(app, tmp_path):
    """Uploaded files of this test in its own folder (so the test sees which files remain)."""
    saved = app.config["UPLOAD_PATH"]
    app.config["UPLOAD_PATH"] = str(tmp_path / "uploads")
    yield tmp_path / "uploads"
    app.config["UPLOAD_PATH"] = saved


@pytest.fixture
def checkpoints(app, tmp_path, monkeypatch):
    """The audit checkpoints of this test in its own folder (tests move the clock back and forth)."""
    folder = tmp_path / "audit-checkpoints"
    monkeypatch.setitem(app.config, "AUDIT_CHECKPOINT_PATH", str(folder))
    return folder
