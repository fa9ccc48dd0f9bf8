"""Measures: list with filters, read with timeline and obligations, apply a transition.

Each transition of the state machine has its own address,
``POST /measures/<id>/transitions/<name>``, and its own documented body (the service's
schema for that transition, plus ``extra`` for the département's fields).
"""

from __future__ import annotations

from asll.api.blueprint import ID, bp
from asll.api.common import actor, page
from asll.api.schemas import TRANSITION_INPUTS, MeasureDetailOut, MeasureListArgs, MeasurePage, TransitionResultOut
from asll.domain.machine import TRANSITIONS
from asll.services import api_queries, measures

TAGS = ["Mesures"]


@bp.route("/measures", methods=["GET"], tags=TAGS)
@bp.arguments(MeasureListArgs, location="query")
@bp.response(200, MeasurePage)
@bp.doc(summary="Lister les mesures visibles",
        description="Filtres : statut (status), type de mesure (type), opérateur (operator), ménage.")
def list_measures(args):
    """List measures (keyset pagination)."""
    rows = api_queries.list_measures(actor(), after_id=args["after"], limit=args["limit"] + 1,
                                     status=args["status"], measure_type=args["measure_type"],
                                     operator_id=args["operator_id"], household_id=args["household_id"])
    return page(rows, args["limit"])


@bp.route(f"/measures/<{ID}:measure_id>", methods=["GET"], tags=TAGS)
@bp.response(200, MeasureDetailOut)
@bp.doc(summary="Lire une mesure", description="Avec son historique, ses échéances, sa décision et les actions "
                                                 "possibles. La consultation est inscrite au journal d'audit.")
def get_measure(measure_id: int):
    """Read one measure with its timeline and obligations."""
    detail = api_queries.measure_detail(actor(), measure_id)
    return {"measure": detail.measure, "timeline": detail.timeline, "obligations": detail.obligations,
            "transitions": detail.transitions, "decision": detail.decision}


def _transition_view(name: str):
    def apply(data, measure_id: int):
        measure, warnings = measures.transition(actor(), measure_id, name, data)
        return {"measure": measure, "warnings": warnings}

    apply.__name__ = f"transition_{name}"
    apply.__doc__ = f"Apply the '{name}' transition."
    return apply


for _name, _transition in TRANSITIONS.items():
    bp.route(f"/measures/<{ID}:measure_id>/transitions/{_name}", methods=["POST"], tags=TAGS,
             endpoint=f"transition_{_name}")(
        bp.arguments(TRANSITION_INPUTS[_name])(
            bp.response(200, TransitionResultOut)(
                bp.doc(summary=_transition.label,
                       description=f"Transition « {_name} » de la mesure. Refusée (409) si une règle du "
                                   "département ou du socle l'interdit, (400) si l'état de la mesure ne la "
                                   "permet pas, (403) si votre rôle ne le permet pas.")(
                    _transition_view(_name)))))
