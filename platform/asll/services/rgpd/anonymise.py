"""Anonymising, archiving and erasing one household's file.

**Anonymisation** (the retention task) removes what identifies the people — names, birth
dates, addresses, contact data, free texts and attachments — and keeps what the yearly
statistics count, so a past year's tables give the same figures afterwards:

==========================  =====================================================================
kept                        sector, housing status, nature of resources, origin, statuses, dates of
                            the case, decisions' outcomes and durations, amounts, plugins' codes
kept in another form        the reference person's birth date, as its age bracket for each year
                            the file can be counted (``rgpd_anonymised_household.age_brackets``)
removed                     names (replaced by « Anonymisé »), birth dates, address, postcode,
                            city, family situation, monthly resources, the diagnostic, consent
                            signatory, reasons, notes, hand-over, every free text of the JSON
                            (:mod:`asll.services.rgpd.scrub`), documents and their files (the
                            minutes of the sessions that examined the file too: they name it)
==========================  =====================================================================

Before that, when the policy says so, the granted decisions and the amounts the plugins
declare go to the **intermediate archive** with the identity they justify, until the legal
period ends. **Erasure** (the person's right, when no legal duty forbids it) deletes the
whole file. Both also delete the copies of the household's data outside its file — the API's
stored answers that mention it, the named exports that hold it (:mod:`.elsewhere`). Each of these
writes one audit entry, with counts and never the values removed.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from asll.domain.calendar import add_months
from asll.extensions import db
from asll.models import (
    AgendaItem,
    AnonymisedHousehold,
    ArchiveEntry,
    Decision,
    DecisionOutcome,
    Document,
    Household,
    Measure,
    MeasureEvent,
    MeasureStatus,
    Obligation,
    ObligationState,
    Organisation,
    Request,
    SupportMeasure,
)
from asll.models.base import utcnow
from asll.models.reminders import OutboxMessage, OutboxState, Reminder
from asll.services import audit
from asll.services import plugins as plugin_service
from asll.services.actor import Actor
from asll.services.errors import Conflict, NotFound
from asll.services.rgpd import data, elsewhere, scrub
from asll.services.rgpd.policy import Policy

ANONYMOUS = "Anonymisé"
# A measure in any other state is a support still running (or about to): the file is needed for it.
CLOSED_MEASURES = (MeasureStatus.ENDED, MeasureStatus.BILAN_RECEIVED, MeasureStatus.CLOSED)
AGE_LIMITS = ((25, 0), (40, 1), (60, 2))


def age_bracket(birth_year: int, year: int) -> str:
    """The bracket the yearly statistics count (``services/statistics.py``): by year of birth."""
    from asll.services.statistics import AGE_BRACKETS

    age = year - birth_year
    for limit, index in AGE_LIMITS:
        if age < limit:
            return AGE_BRACKETS[index]
    return AGE_BRACKETS[3]


def _reference_member(household: Household):
    return next((m for m in sorted(household.members, key=lambda m: m.id) if m.is_reference), None)


def _years_counted(file, on: date) -> range:
    """The years the statistics can count the household: from its first dated event to ``on``."""
    firsts = [db.session.scalar(sa.select(sa.func.min(Measure.start_date)).where(Measure.household_id == file.id)),
              db.session.scalar(sa.select(sa.func.min(Measure.decision_date)).where(Measure.household_id == file.id))]
    first = min([d for d in firsts if d is not None] or [on])
    return range(first.year, on.year + 1)


def _files_of(documents: list[Document]) -> list[str]:
    """The storage keys of the documents' files (area ``documents``)."""
    from asll.services.documents import storage_key

    keys = []
    for document in documents:
        try:
            keys.append(storage_key(document))
        except NotFound:
            continue
    return keys


def _documents(file) -> list[Document]:
    """The file's documents, and the minutes of the sessions that examined it (they name the household)."""
    session_ids = set(db.session.scalars(sa.select(AgendaItem.session_id).where(
        AgendaItem.request_id.in_(file.request_ids))))
    session_ids |= {s for s in db.session.scalars(sa.select(Decision.session_id).where(
        Decision.request_id.in_(file.request_ids))) if s is not None}
    return list(db.session.scalars(sa.select(Document).where(sa.or_(
        data.document_criteria(file),
        sa.and_(Document.session_id.in_(sorted(session_ids)), Document.kind == "minutes"))).order_by(Document.id)))


def _delete_documents(documents: list[Document]) -> list[str]:
    paths = _files_of(documents)
    if documents:
        db.session.execute(sa.delete(Document).where(Document.id.in_([d.id for d in documents]))
                           .execution_options(synchronize_session=False))
    return paths


def _unlink(keys: list[str]) -> None:
    """Files go once the transaction that dropped their rows has committed (never before); a file
    the storage could not delete then is logged: no row names it any more, nobody can read it."""
    from flask import current_app

    from asll.services.documents import AREA
    from asll.storage import StorageUnavailable, current_storage

    for key in keys:
        try:
            current_storage().delete(AREA, key)
        except StorageUnavailable:
            current_app.logger.warning("fichier %s non supprimé : stockage indisponible", key)


# -- the intermediate archive --------------------------------------------------------------
def _identity(household: Household) -> str:
    person = _reference_member(household) or (household.members[0] if household.members else None)
    return f"{person.last_name.upper()} {person.first_name}".strip() if person else household.reference


def _archive(household: Household, file, sections: list[data.Section], policy: Policy, on: date) -> int:
    """Copy the granted decisions and the plugins' amounts to the archive; return the entries written."""
    if not policy.archive_enabled:
        return 0
    destroy_after = add_months(on, 12 * policy.archive_years)
    identity = _identity(household)
    types = plugin_service.measure_types(household.tenant_id)
    entries = []
    decisions = db.session.execute(
        sa.select(Decision, Request.reference, Organisation.name).join(Request, Request.id == Decision.request_id)
        .outerjoin(Organisation, Organisation.id == Decision.operator_id)
        .where(Decision.request_id.in_(file.request_ids), Decision.outcome == DecisionOutcome.GRANTED)
        .order_by(Decision.id)).all()
    for decision, request_reference, operator in decisions:
        measure_type = types[decision.measure_type].label if decision.measure_type in types else decision.measure_type
        entries.append(ArchiveEntry(
            household_id=household.id, household_reference=household.reference, identity=identity, source="decision",
            label=f"Décision d'attribution du {decision.decision_date.strftime('%d/%m/%Y')} – {request_reference}",
            content={"demande": request_reference, "décision": decision.outcome.label,
                     "date de la décision": decision.decision_date.strftime("%d/%m/%Y"),
                     "mesure": measure_type or "", "durée (mois)": decision.duration_months,
                     "opérateur": operator or ""},
            destroy_after=destroy_after))
    for section in sections:
        for row in section.archive:
            entries.append(ArchiveEntry(
                household_id=household.id, household_reference=household.reference, identity=identity,
                source=section.table, label=str(row.get("libellé") or section.label)[:200],
                content=audit._jsonable(dict(row)),
                destroy_after=destroy_after))
    db.session.add_all(entries)
    return len(entries)


def destroy_archive(actor: Actor, reference: str, on: date) -> int:
    """Delete a file's archive entries whose legal period is over; one audit entry. Returns the count."""
    ids = list(db.session.scalars(sa.select(ArchiveEntry.id).where(
        ArchiveEntry.household_reference == reference, ArchiveEntry.destroy_after < on)))
    if not ids:
        return 0
    household_id = db.session.scalar(sa.select(Household.id).where(Household.reference == reference))
    db.session.execute(sa.delete(ArchiveEntry).where(ArchiveEntry.id.in_(ids))
                       .execution_options(synchronize_session=False))
    audit.record(actor, "rgpd.archive_destroy", object_type="household", object_id=household_id,
                 changes={"reference": reference, "entries": len(ids)})
    db.session.commit()
    return len(ids)


# -- anonymisation ---------------------------------------------------------------------------
def claim_household(household_id: int, message: str) -> None:
    """Take the household's row for this transaction (a conditional UPDATE: PostgreSQL's row lock,
    SQLite's writer lock); if it is gone, roll back and raise a French 409."""
    from asll.services.errors import Conflict

    claimed = db.session.execute(sa.update(Household).where(Household.id == household_id)
                                 .values(updated_at=utcnow()).execution_options(synchronize_session=False)).rowcount
    if claimed != 1:
        db.session.rollback()
        raise Conflict(message)


class MeasureStillOpen(Conflict):
    """A measure runs until its planned end: its file is needed for the support, never anonymised."""

    def __init__(self, reference: str, measure: Measure):
        super().__init__(f"Le dossier {reference} n'est pas anonymisé : la mesure {measure.reference} est en cours "
                         f"({measure.status.label.lower()}) jusqu'au {measure.planned_end_date.strftime('%d/%m/%Y')}.",
                         "mesure_en_cours")


def close_left_open(measures: list[Measure]) -> list[str]:
    """Measures nobody ended, 2 years after their planned end without a contact: closed (their version
    claimed, so that a form left open gets the usual 409), their dates kept as the statistics count them."""
    closed = []
    for measure in measures:
        won = db.session.execute(
            sa.update(Measure).where(Measure.id == measure.id, Measure.version == measure.version)
            .values(status=MeasureStatus.CLOSED, version=measure.version + 1)
            .execution_options(synchronize_session=False)).rowcount == 1
        if not won:
            raise Conflict("Une mesure du dossier vient d'être modifiée : l'anonymisation attendra le passage suivant.")
        closed.append(measure.reference)
    return closed


def close_deadlines(file, on: date) -> tuple[int, int]:
    """The file's open deadlines of this year and later become « sans objet », and the reminder mails
    waiting for its deadlines are cancelled: nobody is reminded about a person the platform no longer
    knows. A daily digest that also carries other files' reminders is kept; its delivery drops the
    waived ones (``reminders._is_live``).

    Deadlines of past years stay as they are: the yearly table counts them as missed (a waived one is
    not counted), and their reminder steps are long past (no reminder is planned for them again)."""
    if not file.measure_ids:
        return 0, 0
    measure_ids = list(file.measure_ids)
    waived = db.session.execute(
        sa.update(Obligation).where(Obligation.measure_id.in_(measure_ids), Obligation.due_date >= date(on.year, 1, 1),
                                    Obligation.state.in_((ObligationState.OPEN, ObligationState.OVERDUE)))
        .values(state=ObligationState.WAIVED, closed_at=utcnow()).execution_options(synchronize_session=False)).rowcount
    mine = sa.select(Reminder.outbox_id).where(Reminder.measure_id.in_(measure_ids))
    shared = sa.select(Reminder.outbox_id).where(Reminder.outbox_id.in_(mine), Reminder.measure_id.not_in(measure_ids))
    cancelled = db.session.execute(
        sa.update(OutboxMessage).where(OutboxMessage.id.in_(mine), OutboxMessage.id.not_in(shared),
                                       OutboxMessage.state == OutboxState.PENDING)
        .values(state=OutboxState.CANCELLED, last_error="Dossier anonymisé : rappel sans objet.")
        .execution_options(synchronize_session=False)).rowcount
    return waived, cancelled


def anonymise_household(actor: Actor, household_id: int, policy: Policy, on: date, last_contact: date) -> int:
    """Anonymise one file in one transaction (see the module docstring); return the archive entries written."""
    claim_household(household_id, "Ménage effacé entre-temps : rien à anonymiser.")
    household = db.session.scalar(sa.select(Household).where(Household.id == household_id))
    file = data.household_file(household)
    sections = data.plugin_sections(actor.tenant_id, file)  # refuses a plugin that forgot a table
    measures = list(db.session.scalars(sa.select(Measure).where(Measure.household_id == household.id)
                                       .order_by(Measure.id)))
    left_open = [m for m in measures if m.status not in CLOSED_MEASURES]
    running = [m for m in left_open if m.planned_end_date is not None and m.planned_end_date >= on]
    if running:  # never through the plan (a planned end is a contact); a direct caller is refused
        db.session.rollback()
        raise MeasureStillOpen(household.reference, running[0])
    copies = elsewhere.forget_copies(household, file)  # before its names go: they are what is searched for
    rule = scrub.rule_for(actor.tenant_id, measures)
    person = _reference_member(household)
    brackets = {}
    if person is not None and person.birth_date is not None:
        brackets = {str(year): age_bracket(person.birth_date.year, year) for year in _years_counted(file, on)}
    archived = _archive(household, file, sections, policy, on)

    data.forget_in_plugins(actor.tenant_id, file, erase=False)
    for member in household.members:
        member.last_name, member.first_name, member.birth_date = ANONYMOUS, "", None
        member.relationship_to_reference, member.socio_professional_status = "", ""
    household.address = household.postcode = household.city = household.family_situation = ""
    household.monthly_resources = None
    household.extra = rule.scrub(household.extra or {})
    for support in db.session.scalars(sa.select(SupportMeasure).where(SupportMeasure.household_id == household.id)):
        support.notes = ""
    for request in db.session.scalars(sa.select(Request).where(Request.household_id == household.id)):
        request.diagnostic, request.consent_given_by = {}, ""
        request.extra = rule.scrub(request.extra or {})
    for decision in db.session.scalars(sa.select(Decision).where(Decision.request_id.in_(file.request_ids))):
        decision.reason, decision.redirected_to = "", ""
    for measure in measures:
        measure.hand_over_to = ""
        measure.extra = rule.scrub(measure.extra or {})
    for event in db.session.scalars(sa.select(MeasureEvent).where(MeasureEvent.measure_id.in_(file.measure_ids))):
        event.data = rule.scrub(event.data or {})
    documents = _documents(file)
    paths = _delete_documents(documents)
    measures_closed = close_left_open(left_open)
    waived, cancelled = close_deadlines(file, on)

    marker = db.session.scalar(sa.select(AnonymisedHousehold).where(AnonymisedHousehold.household_id == household.id))
    if marker is None:
        marker = AnonymisedHousehold(household_id=household.id, tenant_id=household.tenant_id)
        db.session.add(marker)
    marker.last_contact, marker.age_brackets = last_contact, {**(marker.age_brackets or {}), **brackets}
    marker.anonymised_at = utcnow()
    db.session.flush()
    audit.record(actor, "household.anonymise", object_type="household", object_id=household.id,
                 changes={"last_contact": last_contact, "active_months": policy.active_months,
                          "members": len(household.members), "documents_deleted": len(documents),
                          "archive_entries": archived, "measures_closed": measures_closed, "obligations_waived": waived,
                          "reminders_cancelled": cancelled, **copies,
                          "plugin_tables": sorted({s.table for s in sections})})
    db.session.commit()
    _unlink(paths)
    elsewhere.delete_expired_files(actor.tenant_id, copies)
    return archived


# -- erasure ------------------------------------------------------------------------------
def erase_household(actor: Actor, household: Household) -> dict:
    """Delete the whole file (the rights service checked that no legal duty forbids it); one audit entry."""
    file = data.household_file(household)
    decisions = data.decision_ids(file)
    documents = _documents(file)
    copies = elsewhere.forget_copies(household, file)
    data.forget_in_plugins(actor.tenant_id, file, erase=True)
    paths = _delete_documents(documents)
    counts = {"requests": len(file.request_ids), "measures": len(file.measure_ids), "decisions": len(decisions),
              "documents": len(documents), "members": len(household.members)}
    requests, measures = list(file.request_ids), list(file.measure_ids)
    statements = [
        sa.delete(Decision).where(Decision.id.in_(decisions)),
        sa.delete(AgendaItem).where(AgendaItem.request_id.in_(requests)),
        sa.update(Measure).where(Measure.transferred_from_id.in_(measures)).values(transferred_from_id=None),
        sa.delete(Measure).where(Measure.id.in_(measures)),
        sa.delete(Request).where(Request.id.in_(requests)),
        sa.delete(ArchiveEntry).where(ArchiveEntry.household_id == household.id),
        sa.delete(Household).where(Household.id == household.id),
    ]
    reference, household_id = household.reference, household.id
    db.session.expunge(household)
    for statement in statements:
        db.session.execute(statement.execution_options(synchronize_session=False))
    audit.record(actor, "household.erase", object_type="household", object_id=household_id,
                 changes={"reference": reference, **counts, **copies})
    db.session.commit()
    _unlink(paths)
    elsewhere.delete_expired_files(actor.tenant_id, copies)
    return counts
