"""Moselle's yearly activity report (``asll_statistics``): SQL aggregations, SQLite and PostgreSQL alike.

- priority publics P1-P4 of the households that obtained a measure (action 9), with their criteria;
- FSL aids by kind and nature, with their amounts (action 11);
- indicators per PDALPD action (8, 9, 11, 12, 14, 15), as the plan's evaluation asks;
- the ASLL activity by measure type (requests, grants, starts, ends, running at 31 December).
Queries run in the current tenant: the core's tenant scoping applies to them and to the plugin's tables.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import sqlalchemy as sa

from asll.toolkit import (
    StatTable,
    db,
    decisions_table,
    households_table,
    measure_extras_table,
    measures_table,
    requests_table,
)

from .codes import (
    ACCES,
    AIDE_RECHERCHE,
    BAIL_GLISSANT,
    MAINTIEN,
    OWN_TYPES,
    PREVENTION_IMPAYES,
    SITUATION_ATYPIQUE,
    SITUATIONS_ATYPIQUES,
)
from .fields import CRITERIA, FSL_AIDS, FSL_KIND_LABELS, ORIENTATIONS, PRIORITY_PUBLICS
from .models import FslAid, RentArrearsFollowUp

TYPE_LABELS = {
    ACCES: "ASLL accès au logement",
    MAINTIEN: "ASLL maintien dans le logement",
    AIDE_RECHERCHE: "Aide à la recherche du FSL",
    BAIL_GLISSANT: "Sous-location avec bail glissant",
    SITUATION_ATYPIQUE: "Plan d'actions – situation atypique",
    PREVENTION_IMPAYES: "Suivi de prévention des impayés",
}


def _year(year: int) -> tuple[date, date]:
    return date(year, 1, 1), date(year, 12, 31)


def _scalar(query):
    return db.session.scalar(query)


def _count(query) -> int:
    return int(_scalar(query) or 0)


def _money(value) -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def _granted_in(year: int, measures):
    start, end = _year(year)
    return measures.c.measure_type.in_(OWN_TYPES), measures.c.decision_date.between(start, end)


def priority_publics(year: int) -> list[StatTable]:
    measures, households = measures_table(), households_table()
    code = households.c.extra[("public_prioritaire", "code")].as_string()
    criterion = households.c.extra[("public_prioritaire", "critere")].as_string()
    orientation = households.c.extra[("public_prioritaire", "orientation")].as_string()
    joined = measures.join(households, households.c.id == measures.c.household_id)
    figures = {row[0]: (int(row[1]), int(row[2])) for row in db.session.execute(
        sa.select(code, sa.func.count(sa.distinct(households.c.id)), sa.func.count(measures.c.id))
        .select_from(joined).where(*_granted_in(year, measures)).group_by(code)).all()}
    rows = [(label, *figures.get(key, (0, 0))) for key, label in PRIORITY_PUBLICS.items()]
    rows.append(("Sans priorité du contingent préfectoral", *figures.get(None, (0, 0))))
    summary = StatTable(
        key="moselle_publics_prioritaires", title=f"Publics prioritaires du PDALPD (P1 à P4) – {year}",
        columns=("Public prioritaire", "Ménages", "Mesures accordées"), rows=tuple(rows), chart="bar",
        note="Ménages ayant obtenu une mesure dans l'année, selon le public prioritaire enregistré sur leur fiche.")
    detail_rows = []
    for key, group in (("critere", criterion), ("orientation", orientation)):
        counts = {(c, g): int(n) for c, g, n in db.session.execute(
            sa.select(code, group, sa.func.count(sa.distinct(households.c.id))).select_from(joined)
            .where(*_granted_in(year, measures), code.is_not(None)).group_by(code, group)).all()}
        for (priority, value), n in sorted(counts.items(), key=lambda item: (item[0][0] or "", item[0][1] or "")):
            if key == "critere" and priority in CRITERIA and value:
                detail_rows.append((priority, CRITERIA[priority].get(value, value), n))
            if key == "orientation" and priority == "P2" and value:
                detail_rows.append((priority, ORIENTATIONS.get(value, value), n))
    detail = StatTable(key="moselle_publics_prioritaires_criteres",
                       title=f"Publics prioritaires : critères et orientations – {year}",
                       columns=("Priorité", "Critère", "Ménages"), rows=tuple(detail_rows))
    return [summary, detail]


def fsl_aids(year: int) -> StatTable:
    start, end = _year(year)
    figures = {(kind, nature): (int(n), _money(total)) for kind, nature, n, total in db.session.execute(
        sa.select(FslAid.kind, FslAid.nature, sa.func.count(FslAid.id), sa.func.sum(FslAid.amount))
        .where(FslAid.granted_on.between(start, end)).group_by(FslAid.kind, FslAid.nature)).all()}
    rows = []
    for kind, natures in FSL_AIDS.items():
        count_total, amount_total = 0, Decimal("0.00")
        for nature, label in natures.items():
            n, total = figures.get((kind, nature), (0, Decimal("0.00")))
            rows.append((FSL_KIND_LABELS[kind], label, n, total))
            count_total, amount_total = count_total + n, amount_total + total
        rows.append((FSL_KIND_LABELS[kind], "Total", count_total, amount_total))
    return StatTable(key="moselle_aides_fsl", title=f"Aides du FSL accordées avec les mesures – {year}",
                     columns=("Aide", "Nature", "Nombre", "Montant (€)"), rows=tuple(rows),
                     note="Action 11 du PDALPD : FSL Accès et FSL Maintien.")


def indicators(year: int) -> StatTable:
    start, end = _year(year)
    measures, households, extras = measures_table(), households_table(), measure_extras_table()
    decisions, requests = decisions_table(), requests_table()
    granted = dict(db.session.execute(
        sa.select(measures.c.measure_type, sa.func.count(measures.c.id)).where(*_granted_in(year, measures))
        .group_by(measures.c.measure_type)).all())
    priority = households.c.extra[("public_prioritaire", "code")].as_string()
    prioritised = _count(sa.select(sa.func.count(sa.distinct(households.c.id)))
                         .select_from(measures.join(households, households.c.id == measures.c.household_id))
                         .where(*_granted_in(year, measures), priority.in_(list(PRIORITY_PUBLICS))))
    aids = {kind: (int(n), _money(total)) for kind, n, total in db.session.execute(
        sa.select(FslAid.kind, sa.func.count(FslAid.id), sa.func.sum(FslAid.amount))
        .where(FslAid.granted_on.between(start, end)).group_by(FslAid.kind)).all()}
    follow_ups, mean_first_unpaid = db.session.execute(
        sa.select(sa.func.count(RentArrearsFollowUp.id), sa.func.avg(RentArrearsFollowUp.first_unpaid_amount))
        .where(RentArrearsFollowUp.opened_on.between(start, end))).one()
    examined = _count(sa.select(sa.func.count(decisions.c.id))
                      .select_from(decisions.join(requests, requests.c.id == decisions.c.request_id))
                      .where(requests.c.commission_code == SITUATIONS_ATYPIQUES,
                             decisions.c.decision_date.between(start, end)))
    rehousing = _count(sa.select(sa.func.count(measures.c.id))
                       .select_from(measures.join(extras, extras.c.id == measures.c.id))
                       .where(measures.c.measure_type == SITUATION_ATYPIQUE,
                              measures.c.decision_date.between(start, end),
                              extras.c.extra["relogement_decide"].as_boolean().is_(True)))
    running = _count(sa.select(sa.func.count(measures.c.id)).where(
        measures.c.measure_type.in_((ACCES, MAINTIEN)), measures.c.start_date <= end,
        sa.or_(measures.c.end_date.is_(None), measures.c.end_date > end)))
    rows = (
        ("Action 8 – Intermédiation locative", "Sous-locations avec bail glissant accordées par la commission "
         "unique de sous-location", granted.get(BAIL_GLISSANT, 0)),
        ("Action 9 – Publics prioritaires", "Ménages prioritaires (P1 à P4) ayant obtenu une mesure", prioritised),
        ("Action 11 – FSL", "Aides à l'accès accordées", aids.get("acces", (0, 0))[0]),
        ("Action 11 – FSL", "Montant des aides à l'accès (€)", aids.get("acces", (0, Decimal("0.00")))[1]),
        ("Action 11 – FSL", "Aides au maintien accordées", aids.get("maintien", (0, 0))[0]),
        ("Action 11 – FSL", "Montant des aides au maintien (€)", aids.get("maintien", (0, Decimal("0.00")))[1]),
        ("Action 11 – FSL", "Aides à la recherche accordées", granted.get(AIDE_RECHERCHE, 0)),
        ("Action 12 – Prévention des impayés", "Suivis ouverts dès le premier impayé de loyer", int(follow_ups or 0)),
        ("Action 12 – Prévention des impayés", "Montant moyen du premier impayé (€)", _money(mean_first_unpaid)),
        ("Action 14 – ASLL", "Mesures d'accès au logement accordées", granted.get(ACCES, 0)),
        ("Action 14 – ASLL", "Mesures de maintien dans le logement accordées", granted.get(MAINTIEN, 0)),
        ("Action 14 – ASLL", "Mesures d'accès et de maintien en cours au 31 décembre", running),
        ("Action 15 – Publics atypiques", "Situations examinées en commission des situations atypiques", examined),
        ("Action 15 – Publics atypiques", "Plans d'actions élaborés", granted.get(SITUATION_ATYPIQUE, 0)),
        ("Action 15 – Publics atypiques", "dont relogements décidés", rehousing),
    )
    return StatTable(key="moselle_indicateurs_actions", title=f"Indicateurs par action du 7e PDALPD – {year}",
                     columns=("Action du PDALPD", "Indicateur", "Valeur"), rows=rows,
                     note="Indicateurs recensés par action pour le rapport d'activité annuel (axe C : observer, "
                          "évaluer).")


def activity(year: int) -> StatTable:
    start, end = _year(year)
    measures, requests = measures_table(), requests_table()
    first, after = (datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC))
    count = sa.func.count(measures.c.id)
    queries = {
        "submitted": sa.select(requests.c.measure_type, sa.func.count(requests.c.id))
        .where(requests.c.submitted_at >= first, requests.c.submitted_at < after).group_by(requests.c.measure_type),
        "granted": sa.select(measures.c.measure_type, count).where(measures.c.decision_date.between(start, end)),
        "started": sa.select(measures.c.measure_type, count).where(measures.c.start_date.between(start, end)),
        "ended": sa.select(measures.c.measure_type, count).where(measures.c.end_date.between(start, end)),
        "running": sa.select(measures.c.measure_type, count).where(
            measures.c.start_date <= end, sa.or_(measures.c.end_date.is_(None), measures.c.end_date > end)),
    }
    by_type = {}
    for key, query in queries.items():
        if key != "submitted":
            query = query.group_by(measures.c.measure_type)
        by_type[key] = {t: int(n) for t, n in db.session.execute(query).all()}
    rows = tuple((TYPE_LABELS[code], *(by_type[key].get(code, 0) for key in
                                       ("submitted", "granted", "started", "ended", "running")))
                 for code in OWN_TYPES)
    return StatTable(key="moselle_activite", title=f"Rapport d'activité annuel : mesures par type – {year}",
                     columns=("Type de mesure", "Demandes déposées", "Accordées", "Démarrées",
                              "Terminées", "En cours au 31 décembre"), rows=rows, chart="bar")


def tables(year: int) -> list[StatTable]:
    return [*priority_publics(year), fsl_aids(year), indicators(year), activity(year)]


# -- export columns -------------------------------------------------------------------------------
def priority_of(measure) -> str:
    """The household's priority public, as exported (P1..P4 and the criterion, or empty)."""
    chosen = ((measure.household.extra or {}) if measure.household is not None else {}).get("public_prioritaire")
    if not chosen:
        return ""
    criterion = CRITERIA.get(chosen.get("code"), {}).get(chosen.get("critere") or "", "")
    return f"{chosen['code']} – {criterion}" if criterion else chosen["code"]


def fsl_total_of(measure) -> Decimal:
    """Sum of the FSL aids granted with the measure, read from its ``extra`` (the grant's input, from which
    ``after_transition`` wrote the ``FslAid`` rows): no query per exported row."""
    aids = (measure.extra or {}).get("aides_fsl") or ()
    return _money(sum((Decimal(str(aid["montant"])) for aid in aids), Decimal(0)))
