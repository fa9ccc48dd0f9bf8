"""The Orne's activity tables (seed 001, "Les mesures" 2008) and export columns.

Every figure is a SQL aggregate in the current tenant over the core's measures (the
toolkit's read-only ``measures_table``) joined to the plugin's evaluation tables.

The 2008 report sums up domains under five headings; the seed's six domains map to them
as follows: *maintien dans le logement* = administrative and budget organisation, housing
debt or rental mediation; *appropriation* and *insertion* are their own domain; the
domain "accès à un logement adapté" is *relogement* for a household that already had a
dwelling at entry (tenant, sub-tenant, owner) and *accès au logement* for one that had
none (hosted, in accommodation, homeless).
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from asll.toolkit import ExportColumn, StatTable, db, measures_table, percent

from .models import OrneMeasureDomain, OrneMeasureRecord
from .rules import DOMAINS, HOUSING_RESULTS, ORIGINS, PREFIX, RESOURCES, SITUATIONS, agreement_use, settings_of

HOUSED_AT_ENTRY = ("public_tenant", "private_tenant", "subtenant", "owner")
HOUSING_LABELS = {
    "public_tenant": "Locataire du parc public",
    "private_tenant": "Locataire du parc privé",
    "subtenant": "Sous-locataire",
    "owner": "Propriétaire",
    "hosted": "Hébergé par des tiers",
    "accommodation": "En structure d'hébergement",
    "homeless": "Sans logement",
    "": "Non renseigné",
}
# (key, heading of the 2008 report, domains, condition on the housing at entry)
HEADINGS = (
    ("maintien", "Maintien dans le logement", ("organisation_budgetaire", "endettement", "mediation"), None),
    ("relogement", "Relogement", ("acces",), True),
    ("appropriation", "Appropriation du logement", ("appropriation",), None),
    ("acces", "Accès au logement", ("acces",), False),
    ("insertion", "Insertion dans le logement et dans le quartier", ("insertion",), None),
)


def _followed(m, year: int):
    return sa.and_(m.c.measure_type.like(f"{PREFIX}%"), m.c.start_date.is_not(None),
                   m.c.start_date <= date(year, 12, 31),
                   sa.or_(m.c.end_date.is_(None), m.c.end_date >= date(year, 1, 1)))


def statistics(tenant, year: int) -> list[StatTable]:
    total = followed_count(year)
    return [domain_headings(year, total), _raw_domains(year, total), _agreement(tenant, year), _situation(year),
            _origins(year)]


def followed_count(year: int) -> int:
    m = measures_table()
    return db.session.scalar(sa.select(sa.func.count(m.c.id)).where(_followed(m, year)))


def domain_headings(year: int, total: int) -> StatTable:
    """The 2008 report's cumulative percentages of the ``total`` households followed, from the domains worked on."""
    m = measures_table()
    rows = []
    for _key, label, domains, housed in HEADINGS:
        query = (sa.select(sa.func.count(sa.distinct(m.c.id)))
                 .select_from(m.join(OrneMeasureDomain, OrneMeasureDomain.measure_id == m.c.id)
                              .outerjoin(OrneMeasureRecord, OrneMeasureRecord.measure_id == m.c.id))
                 .where(_followed(m, year), OrneMeasureDomain.domain.in_(domains)))
        if housed is True:
            query = query.where(OrneMeasureRecord.entry_housing.in_(HOUSED_AT_ENTRY))
        elif housed is False:
            query = query.where(sa.or_(OrneMeasureRecord.entry_housing.is_(None),
                                       OrneMeasureRecord.entry_housing.not_in(HOUSED_AT_ENTRY)))
        count = db.session.scalar(query)
        rows.append((label, count, percent(count, total)))
    return StatTable(key="orne.domaines", title=f"Domaines d'intervention {year} (cumulables)",
                     columns=("Domaine", "Mesures", "% des ménages accompagnés"), rows=tuple(rows), chart="bar",
                     note=f"{total} ménage(s) accompagné(s) dans l'année ; un ménage peut relever de plusieurs "
                          "domaines.")


def _raw_domains(year: int, total: int) -> StatTable:
    m = measures_table()
    counts = dict(db.session.execute(
        sa.select(OrneMeasureDomain.domain, sa.func.count(sa.distinct(m.c.id)))
        .select_from(m.join(OrneMeasureDomain, OrneMeasureDomain.measure_id == m.c.id))
        .where(_followed(m, year)).group_by(OrneMeasureDomain.domain)).all())
    return StatTable(key="orne.contenu", title=f"Contenu des mesures {year}",
                     columns=("Domaine d'intervention", "Mesures", "%"),
                     rows=tuple((label, counts.get(code, 0), percent(counts.get(code, 0), total))
                                for code, label in DOMAINS.items()))


def _agreement(tenant, year: int) -> StatTable:
    settings = settings_of(tenant)
    count, months = agreement_use(year)
    rows = (
        ("Mesures externes", settings["agreement_measures"], count, percent(count, settings["agreement_measures"])),
        ("Mois-mesures", settings["agreement_month_measures"], months,
         percent(months, settings["agreement_month_measures"])),
    )
    return StatTable(key="orne.convention", title=f"Consommation de la convention des mesures externes ({year})",
                     columns=("Unité", "Conventionné", "Accordé dans l'année", "Consommation (%)"), rows=rows,
                     chart="bar", note="Mesures AOLTJ et CHRS décidées dans l'année ; mois-mesures : durées "
                                       "accordées, prolongations comprises.")


def _situation(year: int) -> StatTable:
    m = measures_table()
    base = sa.select(OrneMeasureRecord).join(m, OrneMeasureRecord.measure_id == m.c.id).where(_followed(m, year))
    records = base.subquery()

    def counts(column: str) -> dict[str, int]:
        col = records.c[column]
        return dict(db.session.execute(sa.select(col, sa.func.count()).group_by(col)).all())

    rows = []
    for title, entry, exit_, labels in (("Ressources", "entry_resources", "exit_resources", RESOURCES),
                                        ("Situation socioprofessionnelle", "entry_situation", "exit_situation",
                                         SITUATIONS)):
        at_entry, at_exit = counts(entry), counts(exit_)
        rows += [(f"{title} : {label}", at_entry.get(code, 0), at_exit.get(code, 0)) for code, label in labels.items()]
    housing = counts("entry_housing")
    rows += [(f"Logement à l'entrée : {HOUSING_LABELS[code]}", housing.get(code, 0), "")
             for code in HOUSING_LABELS if housing.get(code)]
    results = counts("housing_result")
    rows += [(f"Résultat au regard du logement : {label}", "", results.get(code, 0))
             for code, label in HOUSING_RESULTS.items()]
    return StatTable(key="orne.situation", title=f"Situation des ménages à l'entrée et à la sortie ({year})",
                     columns=("Indicateur", "À l'entrée", "À la sortie"), rows=tuple(rows))


def _origins(year: int) -> StatTable:
    m = measures_table()
    counts = dict(db.session.execute(
        sa.select(OrneMeasureRecord.origin, sa.func.count()).join(m, OrneMeasureRecord.measure_id == m.c.id)
        .where(_followed(m, year)).group_by(OrneMeasureRecord.origin)).all())
    total = sum(counts.values())
    return StatTable(key="orne.origines", title=f"Origine des demandes ({year})", columns=("Origine", "Mesures", "%"),
                     rows=tuple((label, counts.get(code, 0), percent(counts.get(code, 0), total))
                                for code, label in ORIGINS.items()), chart="pie")


def export_columns() -> list[ExportColumn]:
    def origin(measure) -> str:
        request = getattr(measure, "request", None)
        return ORIGINS.get(((request.extra if request is not None else None) or {}).get("origine") or "", "")

    return [
        ExportColumn("orne_circonscription", "Circonscription", lambda m: m.household.sector if m.household else ""),
        ExportColumn("orne_origine", "Origine de la demande", origin),
        ExportColumn("orne_domaines", "Domaines d'intervention",
                     lambda m: " ; ".join(DOMAINS.get(d, d) for d in (m.extra or {}).get("domaines", []))),
        ExportColumn("orne_contact_6_mois", "Contact à 6 mois le",
                     lambda m: (m.extra or {}).get("contact_6_mois_le", "")),
    ]
