"""The Loire's activity tables and export columns, as in the PDALD leaflet (seed 000).

Every figure is a SQL aggregate in the current tenant: the AML dwellings per mode and
year (plugin table), the follow-ups by nature and the reinforced follow-ups (the core's
measures, through the toolkit's read-only ``measures_table``).
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from asll.toolkit import ExportColumn, StatTable, db, measures_table, organisations_table, percent

from .models import AML_MODES, LoireAmlDwelling
from .plugin import MEASURE_TYPES
from .rules import INSTRUCTIONS, PREFIX, RECOMMENDERS


def _followed_in(table, year: int):
    """Measures followed during ``year``: started by its end, not ended before its start."""
    return sa.and_(table.c.measure_type.like(f"{PREFIX}%"), table.c.start_date.is_not(None),
                   table.c.start_date <= date(year, 12, 31),
                   sa.or_(table.c.end_date.is_(None), table.c.end_date >= date(year, 1, 1)))


BUDGET_YEARS = 5  # the leaflet shows 2002..2006


def statistics(year: int, budgets: dict[int, dict], aml_declared: list[dict]) -> list[StatTable]:
    """``budgets`` and ``aml_declared``: what the admin entered in the settings (settings.py)."""
    return [_followups(year), _reinforced(year), _aml(year, aml_declared), _aml_by_association(year, aml_declared),
            _budgets(year, budgets)]


def _budgets(year: int, budgets: dict[int, dict]) -> StatTable:
    """The declared years among the five up to ``year``."""
    first = year - BUDGET_YEARS + 1
    shown = sorted(y for y in budgets if first <= y <= year)
    rows = tuple((str(y), budgets[y]["asll_keur"],
                  "—" if budgets[y].get("aml_keur") is None else budgets[y]["aml_keur"]) for y in shown)
    if rows:
        note = ("Budgets annuels déclarés par le département (Administration → Paramètres), en milliers d'euros ; "
                "« — » : pas de budget AML cette année-là.")
    else:
        note = f"Aucun budget déclaré de {first} à {year} (Administration → Paramètres)."
    return StatTable(key="loire.budgets", title=f"Budgets ASLL et aide à la médiation locative (k€) – {year}",
                     columns=("Année", "ASLL (k€)", "AML (k€)"), rows=rows, chart="bar", note=note)


def _followups(year: int) -> StatTable:
    m = measures_table()
    counts = dict(db.session.execute(sa.select(m.c.measure_type, sa.func.count()).where(_followed_in(m, year))
                                     .group_by(m.c.measure_type)).all())
    total = sum(counts.values())
    rows = tuple((mt.label, counts.get(mt.code, 0), percent(counts.get(mt.code, 0), total))
                 for mt in MEASURE_TYPES)
    return StatTable(key="loire.suivis", title=f"Accompagnement social lié au logement {year}",
                     columns=("Nature de la mesure", "Suivis", "%"),
                     rows=rows + (("Total", total, 100 if total else 0),),
                     chart="bar", note="Mesures suivies dans l'année (démarrées, non terminées avant le 1er janvier).")


def _reinforced(year: int) -> StatTable:
    m, o = measures_table(), organisations_table()
    counts = db.session.execute(
        sa.select(o.c.name, sa.func.count(), o.c.reinforced_capacity)
        .select_from(m.outerjoin(o, o.c.id == m.c.operator_id))
        .where(_followed_in(m, year), m.c.reinforced.is_(True))
        .group_by(m.c.operator_id, o.c.name, o.c.reinforced_capacity)).all()
    rows = sorted((name or "Sans opérateur", count, capacity or 0) for name, count, capacity in counts)
    return StatTable(key="loire.suivis_renforces", title=f"Suivis renforcés {year}",
                     columns=("Association", "Suivis renforcés dans l'année", "Capacité mensuelle (suivis renforcés)"),
                     rows=tuple(rows) + (("Total", sum(r[1] for r in rows), sum(r[2] for r in rows)),), chart="bar")


def _aml(year: int, declared: list[dict]) -> StatTable:
    counts = {(mode, y): n for mode, y, n in db.session.execute(
        sa.select(LoireAmlDwelling.mode, LoireAmlDwelling.year, sa.func.count(LoireAmlDwelling.id))
        .where(LoireAmlDwelling.year.in_((year - 1, year))).group_by(LoireAmlDwelling.mode, LoireAmlDwelling.year))}
    for row in declared:
        for mode in AML_MODES:
            key = (mode, row["annee"])
            counts[key] = counts.get(key, 0) + (row.get(mode) or 0)
    rows = tuple((label, counts.get((mode, year - 1), 0), counts.get((mode, year), 0))
                 for mode, label in AML_MODES.items())
    total = ("Total aide à la médiation locative", sum(r[1] for r in rows), sum(r[2] for r in rows))
    return StatTable(key="loire.aml", title="Aide à la médiation locative : logements mobilisés",
                     # No chart: a chart draws the first value column, here the year before.
                     columns=("Logements mobilisés", str(year - 1), str(year)), rows=rows + (total,), chart=None,
                     note="Mandat de gestion : logements mobilisés auprès de bailleurs privés ; bail glissant : baux "
                          "ayant « glissé » dans l'année. Logements des mesures suivies ici, plus ceux que les "
                          "associations ont déclarés (Administration → Paramètres).")


ALL_ASSOCIATIONS = "Toutes associations (déclaré)"


def _aml_by_association(year: int, declared: list[dict]) -> StatTable:
    o = organisations_table()
    found = db.session.execute(
        sa.select(o.c.name, LoireAmlDwelling.mode, sa.func.count(LoireAmlDwelling.id))
        .join(o, o.c.id == LoireAmlDwelling.operator_id).where(LoireAmlDwelling.year == year)
        .group_by(o.c.name, LoireAmlDwelling.mode)).all()
    # By name, case aside: a declared line adds to the association's dwellings recorded on measures.
    names: dict[str, str] = {}
    counts: dict[str, dict[str, int]] = {}

    def add(name: str, mode: str, n: int) -> None:
        key = names.setdefault(name.casefold(), name)
        counts.setdefault(key, {}).setdefault(mode, 0)
        counts[key][mode] += n

    for name, mode, n in found:
        add(name, mode, n)
    for row in declared:
        if row["annee"] == year:
            for mode in AML_MODES:
                add(row["association"].strip() or ALL_ASSOCIATIONS, mode, row.get(mode) or 0)
    rows = tuple((name, modes.get("mandat_gestion", 0), modes.get("bail_glissant", 0))
                 for name, modes in sorted(counts.items()))
    return StatTable(key="loire.aml_associations", title=f"Aide à la médiation locative par association ({year})",
                     columns=("Association", "Mandat de gestion", "Bail glissant"), rows=rows)


def _request_extra(measure, key: str) -> str:
    request = getattr(measure, "request", None)
    return ((request.extra if request is not None else None) or {}).get(key) or ""


def export_columns() -> list[ExportColumn]:
    return [
        ExportColumn("loire_preconisee_par", "Préconisée par",
                     lambda m: RECOMMENDERS.get(_request_extra(m, "preconisee_par"), "")),
        ExportColumn("loire_instruction", "Instruction (bail glissant)",
                     lambda m: INSTRUCTIONS.get(_request_extra(m, "instruction"), "")),
        ExportColumn("loire_suivi_renforce", "Suivi renforcé", lambda m: "oui" if m.reinforced else "non"),
        ExportColumn("loire_reintervention", "Ré-intervention après",
                     lambda m: (m.extra or {}).get("reintervention_apres", "")),
        ExportColumn("loire_bailleur_informe_fin", "Bailleur informé de la fin le",
                     lambda m: (m.extra or {}).get("bailleur_informe_fin_le", "")),
    ]
