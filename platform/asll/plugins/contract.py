"""Value objects exchanged between the core and the département plugins.

Hooks return these frozen dataclasses rather than ORM objects so that a plugin
never depends on the core's tables, and the core can validate what it receives.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any


class MeasureKind(StrEnum):
    """Nature of a measure, used by statistics across départements."""

    ACCES = "acces"
    MAINTIEN = "maintien"
    DIAGNOSTIC = "diagnostic"
    BAIL_GLISSANT = "bail_glissant"
    SPECIFIQUE = "specifique"
    AUTRE = "autre"

    @property
    def label(self) -> str:
        return MEASURE_KIND_LABELS[self]


MEASURE_KIND_LABELS = {
    MeasureKind.ACCES: "Accès au logement",
    MeasureKind.MAINTIEN: "Maintien dans le logement",
    MeasureKind.DIAGNOSTIC: "Diagnostic",
    MeasureKind.BAIL_GLISSANT: "Bail glissant",
    MeasureKind.SPECIFIQUE: "Action spécifique",
    MeasureKind.AUTRE: "Autre",
}


class CommissionRole(StrEnum):
    """What a commission's outcome means for a request."""

    DECIDES = "decides"  # its decision is the grant (e.g. Loire CLU)
    BINDING_OPINION = "binding_opinion"  # avis conforme, the grant follows (Seine-Maritime)
    ADVISES = "advises"  # opinion only
    SINGLE_DECIDER = "single_decider"  # no commission: one person decides (Orne head of circonscription)


@dataclass(frozen=True)
class PluginInfo:
    """Identity of a département plugin, shown to the platform admin."""

    name: str
    label: str
    departement_code: str
    departement_name: str
    description: str = ""
    settings_schema: type | None = None
    # The name with its article and preposition, as French texts need it after "Département":
    # "de la Loire", "de l'Orne", "du Nord", "des Ardennes" (the core guesses when it is empty).
    name_with_article: str = ""


@dataclass(frozen=True)
class MeasureTypeDef:
    """A measure type a département offers.

    Durations are in calendar months. ``max_total_months`` bounds the measure
    including its prolongations; ``None`` means the département sets no bound.
    """

    code: str
    label: str
    kind: MeasureKind
    default_months: int
    max_months: int
    max_prolongations: int = 1
    prolongation_months: int | None = None
    max_total_months: int | None = None
    commission: str | None = None
    incompatible_with: tuple[str, ...] = ()
    requires_diagnostic: bool = True
    description: str = ""
    plugin: str = ""


@dataclass(frozen=True)
class CommissionDef:
    """A commission (or single decider) that examines requests of some measure types."""

    code: str
    label: str
    role: CommissionRole
    examines: tuple[str, ...]
    rhythm: str = ""
    description: str = ""
    plugin: str = ""


@dataclass(frozen=True)
class SupportMeasureDef:
    """Another support measure a household may already have (MASP, AEMO, ...)."""

    code: str
    label: str


@dataclass(frozen=True)
class OrganisationSpec:
    """An organisation a plugin knows from its seeds, used to create demo data."""

    name: str
    kind: str
    sectors: tuple[str, ...] = ()
    capacity: int | None = None
    capacity_unit: str = "month"
    reinforced_capacity: int | None = None
    address: str = ""
    phone: str = ""
    email: str = ""
    description: str = ""
    commissions: tuple[str, ...] = ()  # a secretariat: the commissions it serves (empty: all)


@dataclass(frozen=True)
class Violation:
    """A rule a transition would break; ``blocking=False`` is a warning shown to the user."""

    code: str
    message: str
    field: str | None = None
    blocking: bool = True


@dataclass(frozen=True)
class ObligationDef:
    """A dated obligation of a measure (contract due, bilan due, 6-month contact...)."""

    kind: str
    label: str
    due_date: date
    responsible_role: str
    done: bool = False


@dataclass(frozen=True)
class TenantInfo:
    """What a hook knows of the tenant it is called for."""

    id: int
    code: str
    name: str
    plugin_settings: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def settings_for(self, plugin: str) -> Mapping[str, Any]:
        return self.plugin_settings.get(plugin, {})


@dataclass(frozen=True)
class DemoStep:
    """One step of a demo case: ``action`` is "submit", "schedule" (put on a session agenda),
    "decide" (with ``data`` for the decision),
    a transition name of the measure, or "support_measure" (a household's other measure).
    ``on`` is the date the step happens (the demo moves its clock there)."""

    action: str
    on: date
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DemoCase:
    """A household and its case, played through the services to build the demo data."""

    last_name: str
    first_name: str
    measure_type: str
    household: Mapping[str, Any] = field(default_factory=dict)
    request: Mapping[str, Any] = field(default_factory=dict)
    steps: tuple[DemoStep, ...] = ()


@dataclass(frozen=True)
class StatTable:
    """An activity table (rows of values under French column headings), for the yearly report.

    ``chart`` is "bar", "pie" or None; the first column labels the rows, the others are values.
    Plugins return these from ``asll_statistics``; the core's own tables use them too.
    """

    key: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    chart: str | None = None
    note: str = ""


@dataclass(frozen=True)
class ExportColumn:
    """An export column a plugin adds: ``value(measure)`` reads the value from a measure row.

    ``personal`` columns (the default) are left out of pseudonymised exports; a column that
    says nothing about a person (an amount, a yes/no) may set it to False.
    """

    key: str
    label: str
    value: Any
    personal: bool = True


@dataclass(frozen=True)
class HouseholdFile:
    """The file of one household, as the RGPD hooks receive it (ids only: a plugin reads its own tables)."""

    id: int
    reference: str
    request_ids: tuple[int, ...] = ()
    measure_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class PersonalData:
    """What one plugin table holds about a household (``asll_personal_data``).

    ``rows`` are JSON-ready dicts (the person's access right shows them); ``last_contact`` counts in
    the file's last contact (retention); ``archive`` rows are what the FSL accounts must keep (an
    amount paid, say), moved to the intermediate archive when the file is anonymised.
    """

    table: str
    label: str
    rows: tuple[Mapping[str, Any], ...] = ()
    last_contact: date | None = None
    archive: tuple[Mapping[str, Any], ...] = ()
