"""Where a household's personal data lives: the core's tables, and each plugin's through its hooks.

:func:`core_sections` reads every core table that holds rows about one household;
:func:`plugin_sections` asks the enabled plugins (``asll_personal_data``) and checks they
declared each of their tables with a foreign key to a household or a measure
(:func:`plugin_tables_to_cover`), so that a plugin forgetting one is refused loudly rather
than leaving data behind an access request or an anonymisation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from asll.extensions import db
from asll.models import (
    AgendaItem,
    AnonymisedHousehold,
    ArchiveEntry,
    Decision,
    Document,
    Household,
    HouseholdMember,
    Measure,
    MeasureEvent,
    Obligation,
    Request,
    SupportMeasure,
)
from asll.models.base import Base
from asll.models.reminders import Reminder
from asll.plugins.contract import HouseholdFile, PersonalData
from asll.services import plugins as plugin_service
from asll.services.audit import _jsonable
from asll.services.errors import ServiceError

# The tables whose rows point at a household's file (directly or through its requests and measures).
FILE_TABLES = ("household", "request", "measure", "decision", "document", "obligation")


@dataclass(frozen=True)
class Section:
    """The rows one table holds about the household, with the French name of what they are."""

    table: str
    label: str
    rows: tuple[dict, ...]
    plugin: str = ""
    last_contact: date | None = None
    archive: tuple[dict, ...] = ()


def household_file(household: Household) -> HouseholdFile:
    request_ids = tuple(db.session.scalars(sa.select(Request.id).where(Request.household_id == household.id)
                                           .order_by(Request.id)))
    measure_ids = tuple(db.session.scalars(sa.select(Measure.id).where(Measure.household_id == household.id)
                                           .order_by(Measure.id)))
    return HouseholdFile(id=household.id, reference=household.reference, request_ids=request_ids,
                         measure_ids=measure_ids)


def _rows(model, *criteria) -> tuple[dict, ...]:
    columns = list(model.__table__.columns)
    found = db.session.execute(sa.select(*columns).where(*criteria).order_by(model.id)).all()
    return tuple({c.name: _jsonable(v) for c, v in zip(columns, row, strict=True)} for row in found)


def decision_ids(file: HouseholdFile) -> list[int]:
    return list(db.session.scalars(sa.select(Decision.id).where(Decision.request_id.in_(file.request_ids))))


def document_criteria(file: HouseholdFile):
    """The documents of the file: attached to its requests, measures or decisions."""
    return sa.or_(Document.request_id.in_(file.request_ids), Document.measure_id.in_(file.measure_ids),
                  Document.decision_id.in_(decision_ids(file)))


# (table, French label, criterion on the file): every core table about a household.
def _core_specs(file: HouseholdFile):
    requests, measures = list(file.request_ids), list(file.measure_ids)
    return (
        (Household, "Ménage", Household.id == file.id),
        (HouseholdMember, "Membres du ménage", HouseholdMember.household_id == file.id),
        (SupportMeasure, "Autres mesures d'accompagnement", SupportMeasure.household_id == file.id),
        (Request, "Demandes", Request.household_id == file.id),
        (AgendaItem, "Inscriptions à l'ordre du jour d'une commission", AgendaItem.request_id.in_(requests)),
        (Decision, "Décisions", Decision.request_id.in_(requests)),
        (Measure, "Mesures", Measure.household_id == file.id),
        (MeasureEvent, "Historique des mesures", MeasureEvent.measure_id.in_(measures)),
        (Obligation, "Échéances des mesures", Obligation.measure_id.in_(measures)),
        (Reminder, "Rappels d'échéance envoyés aux professionnels", Reminder.measure_id.in_(measures)),
        (Document, "Documents (courriers et pièces jointes)", document_criteria(file)),
        (AnonymisedHousehold, "Anonymisation du dossier", AnonymisedHousehold.household_id == file.id),
        (ArchiveEntry, "Archive intermédiaire (obligations comptables du FSL)", ArchiveEntry.household_id == file.id),
    )


CORE_TABLES = frozenset({"household", "household_member", "support_measure", "request", "agenda_item", "decision",
                         "measure", "measure_event", "obligation", "reminder", "document",
                         "rgpd_anonymised_household", "rgpd_archive_entry"})


def core_sections(file: HouseholdFile) -> list[Section]:
    return [Section(model.__tablename__, label, _rows(model, criterion))
            for model, label, criterion in _core_specs(file)]


# -- the plugins' tables ------------------------------------------------------------------
def _plugin_package(plugin_object) -> str:
    return getattr(plugin_object, "__name__", type(plugin_object).__module__).split(".")[0]


def plugin_tables_to_cover(plugins: Iterable[str]) -> dict[str, set[str]]:
    """For each named plugin, its tables with a foreign key to a household or a measure.

    A table belongs to the plugin whose package defines its model (``asll_moselle.models``).
    """
    registry = plugin_service.registry()
    packages = {_plugin_package(registry.pm.get_plugin(name)): name for name in plugins}
    found: dict[str, set[str]] = {name: set() for name in plugins}
    for mapper in Base.registry.mappers:
        table = mapper.local_table
        owner = packages.get(mapper.class_.__module__.split(".")[0])
        if owner is None or table is None:
            continue
        if any(fk.column.table.name in ("household", "measure") for fk in table.foreign_keys):
            found[owner].add(table.name)
    return found


class UncoveredPluginData(ServiceError):
    """A plugin holds household data that its RGPD hooks do not declare: nothing is exported nor changed."""

    status = 500

    def __init__(self, plugin: str, tables: Iterable[str], hook: str):
        names = ", ".join(sorted(tables))
        super().__init__(f"Le plugin « {plugin} » ne déclare pas, par son crochet {hook}, les données personnelles "
                         f"de ses tables : {names}. Rien n'a été fait ; signalez-le à l'équipe de la plateforme.",
                         "donnees_non_couvertes")


def plugin_sections(tenant_id: int, file: HouseholdFile) -> list[Section]:
    """What every enabled plugin declares about the file; refuses if a plugin forgot one of its tables."""
    answers: dict[str, list[PersonalData]] = {}
    for plugin, item in plugin_service.collect(tenant_id, "asll_personal_data", household=file):
        if not isinstance(item, PersonalData):
            raise TypeError(f"Le plugin « {plugin} » a renvoyé autre chose qu'un PersonalData.")
        if item.last_contact is not None and not isinstance(item.last_contact, date):
            raise TypeError(f"Le plugin « {plugin} » : last_contact de {item.table} doit être une date.")
        answers.setdefault(plugin, []).append(item)
    enabled = plugin_service.enabled_plugins(tenant_id)
    for plugin, tables in plugin_tables_to_cover(enabled).items():
        missing = tables - {item.table for item in answers.get(plugin, [])}
        if missing:
            raise UncoveredPluginData(plugin, missing, "asll_personal_data")
    return [Section(item.table, item.label, tuple(dict(r) for r in item.rows), plugin=plugin,
                    last_contact=item.last_contact, archive=tuple(dict(a) for a in item.archive))
            for plugin, items in answers.items() for item in items]


def forget_in_plugins(tenant_id: int, file: HouseholdFile, *, erase: bool) -> None:
    """Let every enabled plugin anonymise (or delete) its rows; refuses if one leaves a declared table out."""
    handled: dict[str, set[str]] = {}
    for plugin, table in plugin_service.collect(tenant_id, "asll_anonymise_personal_data", household=file,
                                                erase=erase):
        handled.setdefault(plugin, set()).add(table)
    enabled = plugin_service.enabled_plugins(tenant_id)
    for plugin, tables in plugin_tables_to_cover(enabled).items():
        missing = tables - handled.get(plugin, set())
        if missing:
            raise UncoveredPluginData(plugin, missing, "asll_anonymise_personal_data")
