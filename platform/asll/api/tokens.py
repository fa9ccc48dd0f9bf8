"""Personal API tokens of the authenticated user: list, create (secret shown once), revoke."""

from __future__ import annotations

from asll.api.blueprint import ID, bp
from asll.api.common import actor
from asll.api.schemas import TokenCreatedOut, TokenIn, TokenOut
from asll.rate_limits import token_creation_limit
from asll.services import api_tokens

TAGS = ["Authentification"]


@bp.route("/tokens", methods=["GET"], tags=TAGS)
@bp.response(200, TokenOut(many=True))
@bp.doc(summary="Lister mes jetons d'accès", description="Vos jetons dans ce département (jamais le secret).")
def list_tokens():
    """The user's own tokens."""
    return api_tokens.list_tokens(actor())


@bp.route("/tokens", methods=["POST"], tags=TAGS)
@token_creation_limit
@bp.arguments(TokenIn)
@bp.response(201, TokenCreatedOut)
@bp.doc(summary="Créer un jeton d'accès",
        description="Le jeton (champ « token ») n'est affiché qu'une fois : conservez-le. Il donne vos droits "
                    "dans ce département jusqu'à son expiration (champ « expires_at » : un an par défaut) ou sa "
                    "révocation.")
def create_token(data):
    """Create a token for the authenticated user."""
    token, secret = api_tokens.create_token(actor(), data)
    return {**{name: getattr(token, name) for name in TokenOut._declared_fields}, "token": secret}


@bp.route(f"/tokens/<{ID}:token_id>", methods=["DELETE"], tags=TAGS)
@bp.response(200, TokenOut)
@bp.doc(summary="Révoquer un de mes jetons", description="Le jeton cesse aussitôt de fonctionner.")
def revoke_token(token_id: int):
    """Revoke one of the user's tokens."""
    return api_tokens.revoke_token(actor(), token_id)
