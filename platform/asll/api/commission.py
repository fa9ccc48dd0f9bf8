"""Commission sessions: list, read, create, build the agenda, record a batch of decisions."""

from __future__ import annotations

from asll.api.blueprint import ID, bp
from asll.api.common import actor, page
from asll.api.schemas import AgendaIn, DecideBatchIn, DecisionOut, SessionIn, SessionListArgs, SessionOut, SessionPage
from asll.services import api_queries, decisions

TAGS = ["Séances de commission"]


@bp.route("/sessions", methods=["GET"], tags=TAGS)
@bp.arguments(SessionListArgs, location="query")
@bp.response(200, SessionPage)
@bp.doc(summary="Lister les séances", description="Pour le secrétariat, les membres de commission, le service "
                                                    "du Département et l'audit.")
def list_sessions(args):
    """List commission sessions."""
    rows = api_queries.list_sessions(actor(), after_id=args["after"], limit=args["limit"] + 1,
                                     commission_code=args["commission"], status=args["status"])
    return page(rows, args["limit"])


@bp.route(f"/sessions/<{ID}:session_id>", methods=["GET"], tags=TAGS)
@bp.response(200, SessionOut)
@bp.doc(summary="Lire une séance et son ordre du jour")
def get_session(session_id: int):
    """Read one session."""
    return api_queries.get_session(actor(), session_id)


@bp.route("/sessions", methods=["POST"], tags=TAGS)
@bp.arguments(SessionIn)
@bp.response(201, SessionOut)
@bp.doc(summary="Programmer une séance", description="Réservé au secrétariat de commission.")
def create_session(data):
    """Create a session."""
    return decisions.create_session(actor(), data)


@bp.route(f"/sessions/<{ID}:session_id>/agenda", methods=["POST"], tags=TAGS)
@bp.arguments(AgendaIn)
@bp.response(200, SessionOut)
@bp.doc(summary="Établir l'ordre du jour",
        description="Inscrit les demandes déposées en attente de cette commission (toutes si request_ids est "
                    "absent ou null).")
def build_agenda(data, session_id: int):
    """Put pending requests on the agenda."""
    return decisions.build_agenda(actor(), session_id, data["request_ids"])


@bp.route(f"/sessions/<{ID}:session_id>/decisions", methods=["GET"], tags=TAGS)
@bp.response(200, DecisionOut(many=True))
@bp.doc(summary="Lire les décisions d'une séance")
def list_decisions(session_id: int):
    """Decisions recorded in a session."""
    return api_queries.session_decisions(actor(), session_id)


@bp.route(f"/sessions/<{ID}:session_id>/decisions", methods=["POST"], tags=TAGS)
@bp.arguments(DecideBatchIn)
@bp.response(201, DecisionOut(many=True))
@bp.doc(summary="Enregistrer les décisions de la séance",
        description="Tout ou rien : si une décision est refusée, aucune n'est enregistrée et les erreurs sont "
                    "données par référence de demande. La séance est alors tenue.")
def decide(data, session_id: int):
    """Record a batch of decisions."""
    batch = {item["request_id"]: {k: v for k, v in item.items() if k != "request_id"} for item in data["decisions"]}
    return decisions.decide_in_session(actor(), session_id, batch)
