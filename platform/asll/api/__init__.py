"""The JSON API under /api/v1 (flask-smorest), a thin adapter over the services.

Layout: :mod:`asll.api.blueprint` (authentication, tenant context, CSRF, errors),
:mod:`asll.api.schemas` (marshmallow schemas, from which the OpenAPI document at
``/api/v1/openapi.json`` is generated), one module of views per resource. Views call
services only; reads the API needs and no other adapter had live in
:mod:`asll.services.api_queries`.
"""

from __future__ import annotations

from flask import Flask, request
from flask_smorest import Api

from asll.api import errors
from asll.api.schemas import ErrorSchema

OPENAPI_VERSION = "3.0.3"
DESCRIPTION = """API JSON de la plateforme ASLL (accompagnement social lié au logement).

Authentification : un jeton d'accès personnel dans l'en-tête `Authorization: Bearer <jeton>`
(créé par `POST /api/v1/tokens` depuis une session, ou par `flask asll api-token create`),
ou la session du site ; avec une session, les requêtes qui modifient portent l'en-tête
`X-CSRFToken` (valeur donnée par `GET /api/v1/me`). Un jeton ne donne accès qu'à son
département.

Erreurs : `{"code", "message", "errors": {champ: [messages]}}`, messages en français ;
401 sans authentification, 403 rôle insuffisant, 404 introuvable (ou pas visible), 409
règle métier non respectée (détail dans `violations`), 422 données invalides.

Listes : pagination par identifiant, `?limit=` et `?after=<next_after de la page précédente>`.
"""


class AsllApi(Api):
    """flask-smorest's Api, without its app-wide JSON error handler (the site's pages keep theirs)."""

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self):
        """Errors are handled by the API blueprint and, for unrouted /api/v1 URLs, by a before_request."""


def _api_routing_error():
    """A URL under /api/v1 that matches no route (or not this method) gets a JSON error, not the site's page."""
    exc = request.routing_exception
    if exc is not None and getattr(exc, "code", 0) >= 400 and errors.is_api_path(request.path):
        return errors.http_error(exc)
    return None


def init_app(app: Flask) -> None:
    """Register the API on the app; called by :func:`asll.app.create_app`."""
    from asll import cli_api  # noqa: F401  (adds `flask asll api-token ...` to the asll group)
    from asll.api import (  # noqa: F401  (each module adds its routes to the blueprint)
        blueprint,
        case_requests,
        commission,
        documents,
        exports,
        households,
        measures,
        references,
        tokens,
    )
    from asll.extensions import csrf
    from asll.models import api as api_models  # noqa: F401  (api_token joins the metadata)

    app.config.setdefault("OPENAPI_URL_PREFIX", errors.API_PREFIX)
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    api = AsllApi(app, spec_kwargs={
        "title": "API de la plateforme ASLL",
        "version": "1.0",
        "openapi_version": OPENAPI_VERSION,
        "info": {"description": DESCRIPTION},
        "security": [{"jeton": []}, {"session": []}],
    })
    api.spec.components.security_scheme("jeton", {
        "type": "http", "scheme": "bearer",
        "description": "Jeton d'accès personnel (asll_…), lié à un utilisateur et à un département."})
    api.spec.components.security_scheme("session", {
        "type": "apiKey", "in": "cookie", "name": app.config.get("SESSION_COOKIE_NAME", "session"),
        "description": "Session du site (département choisi sur le site) ; en-tête X-CSRFToken pour modifier."})
    api.register_blueprint(blueprint.bp)
    csrf.exempt(blueprint.bp)  # checked in the blueprint, for session requests only
    app.before_request(_api_routing_error)
    app.extensions["asll_api"] = api
