"""Households (ménages): list, read (audited), create."""

from __future__ import annotations

from asll.api.blueprint import ID, bp
from asll.api.common import actor, page
from asll.api.schemas import HouseholdIn, HouseholdOut, HouseholdPage, PageArgs
from asll.services import households, requests
from asll.services.schemas import MAX_MEMBERS

TAGS = ["Ménages"]


@bp.route("/households", methods=["GET"], tags=TAGS)
@bp.arguments(PageArgs, location="query")
@bp.response(200, HouseholdPage)
@bp.doc(summary="Lister les ménages visibles",
        description="Ménages que vos rôles vous donnent à voir, du plus récent au plus ancien, par pages.")
def list_households(args):
    """List households (keyset pagination)."""
    rows = households.list_households(actor(), after_id=args["after"], limit=args["limit"] + 1)
    return page(rows, args["limit"])


@bp.route(f"/households/<{ID}:household_id>", methods=["GET"], tags=TAGS)
@bp.response(200, HouseholdOut)
@bp.doc(summary="Lire un ménage", description="La consultation est inscrite au journal d'audit.")
def get_household(household_id: int):
    """Read one household."""
    return households.get_household(actor(), household_id)


@bp.route("/households", methods=["POST"], tags=TAGS)
@bp.arguments(HouseholdIn)
@bp.response(201, HouseholdOut)
@bp.doc(summary="Créer un ménage",
        description=f"De 1 à {MAX_MEMBERS} membres, dont une seule personne de référence (is_reference) ; le premier "
                    "l'est si aucun membre ne porte is_reference.")
def create_household(data):
    """Create a household."""
    return requests.create_household(actor(), data)
