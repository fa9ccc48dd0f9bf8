"""Export columns: what each dataset offers, the core's and the plugins'."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from asll.domain.calendar import today
from asll.domain.machine import END_REASONS
from asll.plugins.contract import MEASURE_KIND_LABELS
from asll.services import statistics
from asll.services import plugins as plugin_service
from asll.services.errors import ValidationFailed
from asll.services.rgpd.kanonymity import household_size, resources_band


# -- columns --------------------------------------------------------------------------
@dataclass(frozen=True)
class ColumnDef:
    """An export column: ``value(row)`` reads a streamed row.

    ``personal`` columns (an identity, or a free text: it may name someone) are left out of
    pseudonymised exports; ``pseudonym`` names the object whose id (``row.<pseudonym>_id``)
    replaces the value there. Dates are cut to the month there (``query.ExportPlan``).
    ``quasi`` names the quasi-identifier a column is there (``services/rgpd/kanonymity.py``:
    its combinations shared by fewer than k rows are generalised, then masked), and
    ``banded`` what it shows there instead of the value (a band of resources, say).
    """

    key: str
    label: str
    value: Callable[[Any], Any]
    personal: bool = False
    pseudonym: str | None = None
    pseudonym_id: str = ""
    pseudonym_label: str = ""
    plugin: str = ""
    default: bool = True
    quasi: str = ""
    banded: Callable[[Any], Any] | None = None
    banded_label: str = ""


def _attr(name: str) -> Callable[[Any], Any]:
    return lambda row: getattr(row, name)


def _label(name: str, labels: dict) -> Callable[[Any], Any]:
    def read(row):
        value = getattr(row, name)
        if value is None or value == "":
            return None
        return labels.get(value, value.label if hasattr(value, "label") else value)
    return read


def age_bracket(birth_date: date | None, on: date | None = None) -> str | None:
    """The reference person's age bracket (as the statistics count it), never the birth date."""
    if birth_date is None:
        return None
    age = (on or today()).year - birth_date.year
    for limit, label in zip((25, 40, 60), statistics.AGE_BRACKETS, strict=False):
        if age < limit:
            return label
    return statistics.AGE_BRACKETS[3]


def _household_columns() -> list[ColumnDef]:
    return [
        ColumnDef("household_reference", "Référence du ménage", _attr("household_reference"),
                  pseudonym="household", pseudonym_id="household_id", pseudonym_label="Pseudonyme du ménage"),
        ColumnDef("last_name", "Nom", _attr("last_name"), personal=True),
        ColumnDef("first_name", "Prénom", _attr("first_name"), personal=True),
        ColumnDef("birth_date", "Date de naissance", _attr("birth_date"), personal=True, default=False),
        ColumnDef("age_bracket", "Tranche d'âge", lambda row: age_bracket(row.birth_date), quasi="age"),
        ColumnDef("address", "Adresse", _attr("address"), personal=True, default=False),
        ColumnDef("postcode", "Code postal", _attr("postcode"), personal=True, default=False),
        ColumnDef("city", "Commune", _attr("city"), personal=True),
        ColumnDef("sector", "Secteur", _attr("sector"), quasi="sector"),
        ColumnDef("housing_status", "Statut d'occupation", _label("housing_status", {}), quasi="housing"),
        ColumnDef("resources_kind", "Nature des ressources", _attr("resources_kind"), quasi="resources_kind"),
        ColumnDef("monthly_resources", "Ressources mensuelles (€)", _attr("monthly_resources"), default=False,
                  quasi="resources", banded=lambda row: resources_band(row.monthly_resources),
                  banded_label="Ressources mensuelles (tranche)"),
        ColumnDef("family_situation", "Situation familiale", _attr("family_situation"), personal=True, default=False),
    ]


def _measure_columns(types: dict) -> list[ColumnDef]:
    return [
        ColumnDef("reference", "Référence de la mesure", _attr("reference"), pseudonym="measure",
                  pseudonym_id="id", pseudonym_label="Pseudonyme de la mesure"),
        *_household_columns(),
        ColumnDef("measure_type", "Type de mesure", lambda r: types[r.measure_type].label
                  if r.measure_type in types else r.measure_type, quasi="measure_type"),
        ColumnDef("kind", "Nature", _label("kind", MEASURE_KIND_LABELS), quasi="measure_type"),
        ColumnDef("status", "État", _label("status", {})),
        ColumnDef("operator", "Opérateur", _attr("operator_name")),
        ColumnDef("decision_date", "Date de décision", _attr("decision_date")),
        ColumnDef("granted_months", "Durée accordée (mois)", _attr("granted_months")),
        ColumnDef("start_date", "Date de début", _attr("start_date")),
        ColumnDef("planned_end_date", "Fin prévue", _attr("planned_end_date")),
        ColumnDef("end_date", "Date de fin", _attr("end_date")),
        ColumnDef("end_reason", "Motif de fin", _label("end_reason", END_REASONS)),
        ColumnDef("prolongation_count", "Nombre de prolongations", _attr("prolongation_count")),
        ColumnDef("prolonged_months", "Mois de prolongation", _attr("prolonged_months"), default=False),
        ColumnDef("reinforced", "Suivi renforcé", _attr("reinforced"), default=False),
        ColumnDef("bilan_date", "Date du bilan", _attr("bilan_date"), default=False),
        ColumnDef("request_reference", "Référence de la demande", _attr("request_reference"), pseudonym="request",
                  pseudonym_id="request_id", pseudonym_label="Pseudonyme de la demande", default=False),
        ColumnDef("origin", "Origine de la demande", _attr("origin")),
        ColumnDef("prescriber", "Service instructeur", _attr("prescriber_name")),
    ]


def _request_columns(types: dict, commissions: dict) -> list[ColumnDef]:
    return [
        ColumnDef("reference", "Référence de la demande", _attr("reference"), pseudonym="request",
                  pseudonym_id="id", pseudonym_label="Pseudonyme de la demande"),
        *_household_columns(),
        ColumnDef("measure_type", "Type de mesure demandé", lambda r: types[r.measure_type].label
                  if r.measure_type in types else r.measure_type, quasi="measure_type"),
        ColumnDef("status", "État", _label("status", {})),
        ColumnDef("origin", "Origine de la demande", _attr("origin")),
        ColumnDef("prescriber", "Service instructeur", _attr("prescriber_name")),
        ColumnDef("commission", "Instance", lambda r: commissions[r.commission_code].label
                  if r.commission_code in commissions else r.commission_code),
        ColumnDef("created_on", "Date de création", lambda r: _as_date(r.created_at)),
        ColumnDef("submitted_on", "Date de dépôt", lambda r: _as_date(r.submitted_at)),
        ColumnDef("consent_date", "Date du consentement", _attr("consent_date"), default=False),
    ]


def _decision_columns(types: dict, commissions: dict) -> list[ColumnDef]:
    return [
        ColumnDef("request_reference", "Référence de la demande", _attr("request_reference"), pseudonym="request",
                  pseudonym_id="request_id", pseudonym_label="Pseudonyme de la demande"),
        ColumnDef("household_reference", "Référence du ménage", _attr("household_reference"),
                  pseudonym="household", pseudonym_id="household_id", pseudonym_label="Pseudonyme du ménage"),
        ColumnDef("last_name", "Nom", _attr("last_name"), personal=True),
        ColumnDef("first_name", "Prénom", _attr("first_name"), personal=True),
        ColumnDef("sector", "Secteur", _attr("sector"), quasi="sector"),
        ColumnDef("commission", "Instance", lambda r: commissions[r.commission_code].label
                  if r.commission_code in commissions else r.commission_code),
        ColumnDef("session_date", "Date de séance", _attr("session_date")),
        ColumnDef("decision_date", "Date de décision", _attr("decision_date")),
        ColumnDef("outcome", "Décision", _label("outcome", {})),
        ColumnDef("measure_type", "Type de mesure", lambda r: types[r.measure_type].label
                  if r.measure_type in types else r.measure_type, quasi="measure_type"),
        ColumnDef("duration_months", "Durée accordée (mois)", _attr("duration_months")),
        ColumnDef("operator", "Opérateur désigné", _attr("operator_name")),
        ColumnDef("reason", "Motif", _attr("reason"), personal=True),
        ColumnDef("redirected_to", "Réorientation", _attr("redirected_to"), personal=True),
    ]


def _household_dataset_columns() -> list[ColumnDef]:
    return [
        *_household_columns(),
        ColumnDef("members", "Nombre de personnes", _attr("members_count"), quasi="size",
                  banded=lambda row: household_size(row.members_count), banded_label="Nombre de personnes"),
        ColumnDef("created_on", "Date de création", lambda r: _as_date(r.created_at)),
    ]


def _plugin_columns(tenant_id: int) -> list[ColumnDef]:
    columns = []
    for plugin, column in plugin_service.collect(tenant_id, "asll_export_columns"):
        value = column.value

        def read(row, value=value):
            return value(row.Measure)

        key = column.key if column.key.startswith(f"{plugin}.") else f"{plugin}.{column.key}"
        columns.append(ColumnDef(key, column.label, read, personal=getattr(column, "personal", True),
                                 plugin=plugin))
    return columns


DATASETS = {
    "measures": "Mesures",
    "requests": "Demandes",
    "households": "Ménages",
    "decisions": "Décisions de commission",
}


def columns_for(tenant_id: int, dataset: str, *, types: dict | None = None,
                commissions: dict | None = None) -> list[ColumnDef]:
    """Every column the dataset offers in the tenant (core first, then the plugins').

    ``types`` and ``commissions``: the tenant's, when the caller already asked the plugins."""
    types = plugin_service.measure_types(tenant_id) if types is None else types
    commissions = plugin_service.commissions(tenant_id) if commissions is None else commissions
    if dataset == "measures":
        return _measure_columns(types) + _plugin_columns(tenant_id)
    if dataset == "requests":
        return _request_columns(types, commissions)
    if dataset == "households":
        return _household_dataset_columns()
    if dataset == "decisions":
        return _decision_columns(types, commissions)
    raise ValidationFailed({"dataset": ["Jeu de données inconnu."]})


def _as_date(value) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    return value
