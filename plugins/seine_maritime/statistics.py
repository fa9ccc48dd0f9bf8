"""Seine-Maritime's activity tables (``asll_statistics``): SQL aggregations, SQLite and PostgreSQL alike.

- the CCAPEX diagnostics of the year (§3);
- the figures the SLS and each operator review at their quarterly follow-up committees (§4.1.3);
- prolongations (1st / 2nd), suspensions, transfers and derogations (§2.2.1, §2.4).
Queries run in the current tenant: the core's tenant scoping applies to them.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from asll.toolkit import (
    StatTable,
    db,
    decisions_table,
    measure_events_table,
    measure_extras_table,
    measures_table,
    organisation_ids_by_name,
    requests_table,
)

from .codes import ASLL_TYPES, DIAGNOSTIC_CCAPEX, OWN_TYPES

QUARTER_MONTHS = ((1, 3, 31), (4, 6, 30), (7, 9, 30), (10, 12, 31))
QUARTER_COLUMNS = ("Organisme", "Trimestre", "Mesures démarrées", "Mesures en cours", "Prolongations accordées",
                   "Suspensions", "Mesures terminées", "Bilans reçus")


def quarter_bounds(year: int, quarter: int) -> tuple[date, date]:
    first, last, last_day = QUARTER_MONTHS[quarter - 1]
    return date(year, first, 1), date(year, last, last_day)


def _count(query) -> int:
    return int(db.session.scalar(query) or 0)


def _event_count(types, transition: str, start: date, end: date, *criteria) -> int:
    """Events ``transition`` of measures of ``types`` that took effect in [start, end]."""
    events, measures = measure_events_table(), measures_table()
    return _count(sa.select(sa.func.count(events.c.id))
                  .select_from(events.join(measures, measures.c.id == events.c.measure_id))
                  .where(events.c.transition == transition, measures.c.measure_type.in_(types),
                         events.c.effective_date.between(start, end), *[c(events) for c in criteria]))


def diagnostics(year: int) -> StatTable:
    start, end = date(year, 1, 1), date(year, 12, 31)
    measures, decisions, requests = measures_table(), decisions_table(), requests_table()
    ordered = (measures.c.measure_type == DIAGNOSTIC_CCAPEX, measures.c.decision_date.between(start, end))
    rows = [("Diagnostics ordonnés par le Département", _count(sa.select(sa.func.count(measures.c.id))
                                                                .where(*ordered)))]
    with_request = (measures.join(decisions, decisions.c.measure_id == measures.c.id)
                    .join(requests, requests.c.id == decisions.c.request_id))
    for reason, label in (("vulnerabilite", "dont indices de vulnérabilité relevés en CPEX"),
                          ("sans_reponse", "dont ménages ne répondant ni aux travailleurs sociaux ni au bailleur")):
        rows.append((label, _count(sa.select(sa.func.count(measures.c.id)).select_from(with_request)
                                   .where(*ordered, requests.c.extra["motif_ccapex"].as_string() == reason))))
    rows.append(("Diagnostics démarrés (courrier à l'association)", _count(
        sa.select(sa.func.count(measures.c.id)).where(measures.c.measure_type == DIAGNOSTIC_CCAPEX,
                                                       measures.c.start_date.between(start, end)))))
    diagnostic = (DIAGNOSTIC_CCAPEX,)

    def met(events):
        """Whether the operator met the household (asked at the end of a diagnostic not continued)."""
        return events.c.data[("extra", "menage_rencontre")].as_boolean()

    rows += [
        ("Poursuites de quatre mois validées par le SLS (commission locale informée)",
         _event_count(diagnostic, "grant_prolongation", start, end)),
        ("Diagnostics terminés sans poursuite", _event_count(
            diagnostic, "end", start, end, lambda e: met(e).is_not(None))),
        ("dont ménages rencontrés", _event_count(diagnostic, "end", start, end, lambda e: met(e).is_(True))),
        ("dont ménages orientés vers une autre mesure", _event_count(
            diagnostic, "end", start, end, lambda e: met(e).is_not(None),
            lambda e: e.c.data["reason"].as_string() == "hand_over")),
    ]
    return StatTable(key="seine_maritime_diagnostics", title=f"Diagnostics ASLL à l'initiative de la CCAPEX – {year}",
                     columns=("Indicateur", "Nombre"), rows=tuple(rows), chart="bar",
                     note="Référentiel ASLL de la Seine-Maritime (2021), §3 : deux mois à compter du courrier à "
                          "l'association, poursuite de quatre mois si le ménage le souhaite.")


def _per_operator(query) -> dict[int, int]:
    return {operator_id: int(n) for operator_id, n in db.session.execute(query).all() if operator_id is not None}


def quarterly_committees(year: int) -> StatTable:
    """§4.1.3: what the SLS and each operator review at least every quarter."""
    names = {org_id: name for name, org_id in organisation_ids_by_name().items()}
    measures, events = measures_table(), measure_events_table()
    own = measures.c.measure_type.in_(OWN_TYPES)
    by_operator = (measures.c.operator_id, sa.func.count(measures.c.id))
    rows, operators = [], set()
    figures = {}
    for quarter in range(1, 5):
        start, end = quarter_bounds(year, quarter)

        def measure_figure(*criteria):
            return _per_operator(sa.select(*by_operator).where(own, *criteria).group_by(measures.c.operator_id))

        def event_figure(transition):
            return _per_operator(
                sa.select(measures.c.operator_id, sa.func.count(events.c.id))
                .select_from(events.join(measures, measures.c.id == events.c.measure_id))
                .where(own, events.c.transition == transition, events.c.effective_date.between(start, end))
                .group_by(measures.c.operator_id))

        figures[quarter] = (
            measure_figure(measures.c.start_date.between(start, end)),
            measure_figure(measures.c.start_date <= end,
                           sa.or_(measures.c.end_date.is_(None), measures.c.end_date >= start)),
            event_figure("grant_prolongation"),
            event_figure("suspend"),
            measure_figure(measures.c.end_date.between(start, end)),
            event_figure("record_bilan"),
        )
        for figure in figures[quarter]:
            operators.update(figure)
    for operator_id in sorted(operators, key=lambda o: names.get(o, "")):
        for quarter in range(1, 5):
            rows.append((names.get(operator_id, f"Organisme {operator_id}"), f"T{quarter} {year}",
                         *(figure.get(operator_id, 0) for figure in figures[quarter])))
    return StatTable(key="seine_maritime_comites_trimestriels",
                     title=f"Comités de suivi trimestriels : activité par organisme – {year}",
                     columns=QUARTER_COLUMNS, rows=tuple(rows),
                     note="Comités de suivi organisés par le service logement et solidarités au moins tous les "
                          "trimestres avec chaque organisme (référentiel §4.1.3).")


def prolongations_and_special_cases(year: int) -> StatTable:
    start, end = date(year, 1, 1), date(year, 12, 31)

    def rank(events):
        """1 + the measure's prolongations granted before this event: 1st or 2nd prolongation."""
        earlier = measure_events_table().alias("earlier_events")
        return 1 + sa.select(sa.func.count(earlier.c.id)).where(
            earlier.c.measure_id == events.c.measure_id, earlier.c.transition == "grant_prolongation",
            earlier.c.id < events.c.id).scalar_subquery()

    def ranked(transition, wanted):
        return _event_count(ASLL_TYPES, transition, start, end, lambda e: rank(e) == wanted)

    def favourable(events):
        """A derogation the commission locale allowed (§2.4.4), recorded with the transition's input."""
        return events.c.data[("extra", "derogation", "avis_commission")].as_string() == "favorable"

    measures, extras = measures_table(), measure_extras_table()
    at_decision = _count(sa.select(sa.func.count(measures.c.id))
                         .select_from(measures.join(extras, extras.c.id == measures.c.id))
                         .where(measures.c.measure_type.in_(OWN_TYPES), measures.c.decision_date.between(start, end),
                                extras.c.extra[("derogation_decision", "avis_commission")].as_string() == "favorable"))
    rows = (
        ("Premières prolongations accordées", ranked("grant_prolongation", 1)),
        ("Premières prolongations refusées", ranked("refuse_prolongation", 1)),
        ("Deuxièmes prolongations accordées (après synthèse et avis de la commission locale)",
         ranked("grant_prolongation", 2)),
        ("Deuxièmes prolongations refusées", ranked("refuse_prolongation", 2)),
        ("Suspensions (indisponibilité du ménage)", _event_count(OWN_TYPES, "suspend", start, end)),
        ("Relais pour déménagement hors secteur", _event_count(
            OWN_TYPES, "transfer", start, end, lambda e: e.c.data["reason"].as_string() == "move")),
        ("Transferts après séparation du couple", _event_count(
            OWN_TYPES, "transfer", start, end, lambda e: e.c.data["reason"].as_string() == "separation")),
        ("Dérogations accordées par la commission locale ASLL", at_decision + sum(
            _event_count(OWN_TYPES, transition, start, end, favourable)
            for transition in ("start", "request_prolongation", "resume", "transfer", "end"))),
    )
    return StatTable(key="seine_maritime_prolongations",
                     title=f"Prolongations, cas particuliers et dérogations – {year}",
                     columns=("Indicateur", "Nombre"), rows=rows, chart="bar")


def tables(year: int) -> list[StatTable]:
    return [diagnostics(year), quarterly_committees(year), prolongations_and_special_cases(year)]
