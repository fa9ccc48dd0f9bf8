"""The API blueprint: authentication, tenant context, CSRF and JSON errors for every endpoint.

Two ways in:

- a personal token, ``Authorization: Bearer asll_…``: the request acts as the token's
  user in the token's tenant (its own tenant context, reset at teardown). Such a request
  carries no cookie, so it needs no CSRF token;
- the browser session (Flask-Login), in the tenant chosen on the site: requests that
  change something must carry the ``X-CSRFToken`` header (its value is given by
  ``GET /api/v1/me``), as forms do.

The blueprint is exempt from Flask-WTF's global check; the check is made here, for
session requests only.
"""

from __future__ import annotations

import marshmallow as ma
from flask import current_app, g, request
from flask_login import current_user
from flask_smorest import Blueprint
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import default_exceptions

from asll.api import errors
from asll.extensions import csrf
from asll.services import api_tokens
from asll.services.errors import ServiceError
from asll.tenancy import reset_request_tenant, set_request_tenant

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ID = "int(min=1, max=2147483647)"  # URL converter for ids: out of range is a 404, never a database error
NUL_MESSAGE = "Caractère nul (U+0000) interdit."
MAX_DEPTH = 32  # nesting of a JSON body: ample for the API's documents, and no deep recursion downstream


def _body_problem(body) -> tuple[str, str] | None:
    """The first place of a JSON body the database or the services cannot take: (dotted path, message)."""
    stack = [(body, "", 0)]
    while stack:
        value, path, depth = stack.pop()
        if depth > MAX_DEPTH:
            return path or "_schema", f"Structure trop profonde ({MAX_DEPTH} niveaux au plus)."
        if isinstance(value, str):
            if "\x00" in value:
                return path or "_schema", NUL_MESSAGE
        elif isinstance(value, dict):
            for key, item in value.items():
                here = f"{path}.{key}" if path else str(key)
                if "\x00" in str(key):
                    return here, NUL_MESSAGE
                stack.append((item, here, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, f"{path}.{index}" if path else str(index), depth + 1)
                         for index, item in enumerate(value))
    return None


class ApiParser(FlaskParser):
    """webargs' Flask parser, refusing what the database cannot store before any schema sees it."""

    def _raw_load_json(self, req):
        try:
            return super()._raw_load_json(req)
        except RecursionError as exc:  # absurdly deep JSON: not a valid body for this API
            self._handle_invalid_json_error(ValueError(str(exc)), req)

    def pre_load(self, location_data, *, schema, req, location):
        problem = None
        if location in ("query", "querystring"):
            key = next((key for key, value in req.args.items(multi=True) if "\x00" in key + value), None)
            problem = (key, NUL_MESSAGE) if key is not None else None
        elif location == "json":
            problem = _body_problem(location_data)
        if problem:
            raise ma.ValidationError({problem[0]: [problem[1]]})
        return super().pre_load(location_data, schema=schema, req=req, location=location)


class ApiBlueprint(Blueprint):
    ARGUMENTS_PARSER = ApiParser()


bp = ApiBlueprint("api", __name__, url_prefix=errors.API_PREFIX,
                  description="API JSON de la plateforme ASLL (version 1).")


def _unauthorised(code: str, message: str, error: str | None = None):
    challenge = 'Bearer realm="asll"' + (f', error="{error}"' if error else "")
    return errors.error_response(401, code, message, headers={"WWW-Authenticate": challenge})


@bp.before_request
def _authenticate():
    """Token first (it says who and which tenant), else the session's user and chosen tenant."""
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, secret = header.strip().partition(" ")
        secret = secret.strip()
        identity = api_tokens.authenticate(secret, request.remote_addr or "") \
            if scheme.lower() == "bearer" and secret else None
        if identity is None:
            return _unauthorised("jeton_invalide", "Jeton d'accès invalide, révoqué ou dont le compte "
                                                   "n'a plus accès à ce département.", "invalid_token")
        g.actor = identity.actor
        g.api_authentication = "jeton"
        g.api_tenant_tokens = set_request_tenant(identity.tenant_id)
        return None
    if not current_user.is_authenticated:
        return _unauthorised(*errors.HTTP_ERRORS[401])
    if getattr(g, "actor", None) is None or g.actor.tenant_id is None:
        return errors.error_response(403, "departement_requis",
                                     "Choisissez d'abord un département sur le site, ou utilisez un jeton d'accès.")
    g.api_authentication = "session"
    if request.method not in SAFE_METHODS and current_app.config.get("WTF_CSRF_ENABLED", True):
        csrf.protect()  # raises CSRFError (400) without a valid X-CSRFToken header
    return None


@bp.teardown_request
def _reset_token_tenant(_exc=None) -> None:
    tokens = g.pop("api_tenant_tokens", None)
    if tokens is not None:
        reset_request_tenant(tokens)


bp.register_error_handler(ServiceError, errors.service_error)
for _code in default_exceptions:
    # By status code, so that they win over the site's HTML handlers for 403/404/CSRF.
    bp.register_error_handler(_code, errors.http_error)
