"""What the tenant offers: its organisations, measure types and commissions; and who is asking."""

from __future__ import annotations

from flask import g
from flask_wtf.csrf import generate_csrf

from asll.api.blueprint import bp
from asll.api.common import actor
from asll.api.schemas import CommissionOut, MeasureTypeOut, MeOut, OrganisationArgs, OrganisationOut
from asll.models import Role
from asll.services import api_queries, plugins, tenants

TAGS = ["Référentiels"]


@bp.route("/me", methods=["GET"], tags=["Authentification"])
@bp.response(200, MeOut)
@bp.doc(summary="Qui suis-je ?",
        description="L'utilisateur, le département et les rôles de la requête ; avec une session, le jeton CSRF "
                    "à renvoyer dans l'en-tête X-CSRFToken.")
def me():
    """The authenticated user, tenant and roles."""
    current = actor()
    session_auth = g.api_authentication == "session"
    return {
        "user": api_queries.user_of(current),
        "tenant": plugins.tenant_info(current.tenant_id),
        "roles": sorted(current.roles, key=list(Role).index),
        "organisation_ids": sorted(current.organisation_ids),
        "authentication": g.api_authentication,
        "csrf_token": generate_csrf() if session_auth else None,
    }


@bp.route("/organisations", methods=["GET"], tags=TAGS)
@bp.arguments(OrganisationArgs, location="query")
@bp.response(200, OrganisationOut(many=True))
@bp.doc(summary="Lister les organismes du département", description="Filtre facultatif : type d'organisme (kind).")
def list_organisations(args):
    """Organisations of the tenant."""
    return tenants.organisations(actor(), args["kind"])


@bp.route("/measure-types", methods=["GET"], tags=TAGS)
@bp.response(200, MeasureTypeOut(many=True))
@bp.doc(summary="Lister les types de mesure du département", description="Déclarés par les plugins activés.")
def list_measure_types():
    """Measure types of the tenant."""
    return list(plugins.measure_types(actor().tenant_id).values())


@bp.route("/commissions", methods=["GET"], tags=TAGS)
@bp.response(200, CommissionOut(many=True))
@bp.doc(summary="Lister les commissions du département", description="Déclarées par les plugins activés.")
def list_commissions():
    """Commissions of the tenant."""
    return list(plugins.commissions(actor().tenant_id).values())
