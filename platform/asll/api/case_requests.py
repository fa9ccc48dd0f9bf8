"""Requests (demandes): list, read (audited), create and update a draft, submit."""

from __future__ import annotations

from asll.api.blueprint import ID, bp
from asll.api.common import actor, page
from asll.api.schemas import RequestDraftIn, RequestListArgs, RequestOut, RequestPage
from asll.services import api_queries, cases, requests

TAGS = ["Demandes"]


@bp.route("/requests", methods=["GET"], tags=TAGS)
@bp.arguments(RequestListArgs, location="query")
@bp.response(200, RequestPage)
@bp.doc(summary="Lister les demandes visibles", description="Filtres : statut, ménage. Du plus récent au plus ancien.")
def list_requests(args):
    """List requests (keyset pagination)."""
    rows = api_queries.list_requests(actor(), after_id=args["after"], limit=args["limit"] + 1,
                                     status=args["status"], household_id=args["household_id"])
    return page(rows, args["limit"])


@bp.route(f"/requests/<{ID}:request_id>", methods=["GET"], tags=TAGS)
@bp.response(200, RequestOut)
@bp.doc(summary="Lire une demande", description="La consultation est inscrite au journal d'audit.")
def get_request(request_id: int):
    """Read one request."""
    return cases.get_request(actor(), request_id)


@bp.route("/requests", methods=["POST"], tags=TAGS)
@bp.arguments(RequestDraftIn(partial=True))
@bp.response(201, RequestOut)
@bp.doc(summary="Créer un brouillon de demande",
        description="Un brouillon peut être incomplet (seul household_id est exigé) ; tout est vérifié au dépôt. "
                    "Les champs propres au département vont dans « extra ».")
def create_draft(data):
    """Create a draft request."""
    return requests.save_draft(actor(), data)


@bp.route(f"/requests/<{ID}:request_id>", methods=["PATCH"], tags=TAGS)
@bp.arguments(RequestDraftIn(partial=True))
@bp.response(200, RequestOut)
@bp.doc(summary="Modifier un brouillon de demande",
        description="Seuls les champs envoyés changent ; household_id est ignoré. Une demande déposée ne se "
                    "modifie plus.")
def update_draft(data, request_id: int):
    """Update a draft request."""
    return requests.save_draft(actor(), data, request_id)


@bp.route(f"/requests/<{ID}:request_id>/submit", methods=["POST"], tags=TAGS)
@bp.response(200, RequestOut)
@bp.doc(summary="Déposer une demande",
        description="Vérifie la demande complète (diagnostic, consentement, champs du département) et l'envoie "
                    "à la commission de son type de mesure.")
def submit_request(request_id: int):
    """Submit a draft request."""
    return requests.submit(actor(), request_id)
