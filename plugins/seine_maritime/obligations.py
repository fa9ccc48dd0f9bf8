"""Dated obligations of a measure under the référentiel (``asll_obligations``).

The core stores them after every transition and reminds the responsible role before each
due date; an obligation that is no longer listed (e.g. the start once the measure ended
without starting) is waived by the core.
"""

from __future__ import annotations

from asll.toolkit import ObligationDef, add_months

from . import periods
from .codes import DIAGNOSTIC_CCAPEX, OWN_TYPES

OPERATOR = "operator_worker"
SLS_AGENT = "dept_agent"
ACTIVE = {"started", "running", "prolongation_requested", "suspended"}


def obligations(measure) -> list[ObligationDef]:
    if measure.measure_type not in OWN_TYPES:
        return []
    diagnostic = measure.measure_type == DIAGNOSTIC_CCAPEX
    status = measure.status.value
    found: list[ObligationDef] = []
    if not diagnostic and measure.decision_date and (measure.start_date or measure.end_date is None):
        found.append(ObligationDef(
            "demarrage", "Débuter l'accompagnement (dans le mois suivant la commission locale ASLL)",
            periods.start_deadline(measure), OPERATOR, done=measure.start_date is not None))
    if measure.start_date is None:
        return found
    if not diagnostic:
        found.append(ObligationDef(
            "contrat", "Transmettre le contrat d'accompagnement au service logement et solidarités (un mois après "
            "sa signature)", add_months(measure.start_date, 1), OPERATOR, done=measure.contract_sent_date is not None))
        plan_due = add_months(measure.start_date, 3)
        if measure.action_plan_date or measure.end_date is None or measure.end_date > plan_due:
            found.append(ObligationDef("plan_action", "Établir le plan d'action (trois mois après le début)",
                                       plan_due, OPERATOR, done=measure.action_plan_date is not None))
    else:
        found.append(ObligationDef(
            "bilan_diagnostic", "Transmettre le bilan du diagnostic au service logement et solidarités (un mois "
            "après le diagnostic, au plus tard la veille du réexamen en CPEX)", periods.diagnostic_bilan_due(measure),
            OPERATOR, done=bool(measure.bilan_date or (measure.extra or {}).get("date_bilan_diagnostic"))))
    if status == "suspended":
        found.append(ObligationDef("reprise", "Reprendre la mesure suspendue (deux mois de suspension au plus)",
                                   periods.suspension_limit(measure), SLS_AGENT))
    next_start = periods.next_measure_start(measure)
    if next_start is not None and (status in ACTIVE or measure.end_date is not None):
        due = min(periods.hand_over_limit(next_start), periods.total_duration_cap(measure))
        found.append(ObligationDef(
            "fin_relais", "Mettre fin à l'ASLL au plus tard un mois après le début de la nouvelle mesure",
            due, OPERATOR, done=measure.end_date is not None))
    if measure.end_date is not None and (not diagnostic or measure.prolongation_count):
        found.append(ObligationDef(
            "bilan", "Transmettre le bilan individuel au service logement et solidarités (un mois après la fin)",
            add_months(measure.end_date, 1), OPERATOR, done=measure.bilan_date is not None))
    return found
