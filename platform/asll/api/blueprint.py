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

Every state-changing call accepts an ``Idempotency-Key`` header, handled here once for the
whole API (before the view: claim the key or replay its answer; after: store the answer);
see :mod:`asll.services.idempotency`.
"""

from __future__ import annotations

import logging

import marshmallow as ma
import sqlalchemy as sa
from flask import current_app, g, request
from flask_login import current_user
from flask_smorest import Blueprint
from webargs.flaskparser import FlaskParser
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import default_exceptions

from asll.api import errors
from asll.extensions import csrf
from asll.services import api_tokens, idempotency
from asll.services.concurrency import as_conflict
from asll.services.errors import ServiceError
from asll.tenancy import reset_request_tenant, set_request_tenant

log = logging.getLogger(__name__)

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


IDEMPOTENCY_PARAMETER = {
    "description": "Clé choisie par le client (un UUID, par exemple) pour pouvoir réessayer sans risque : une "
                   "nouvelle requête avec la même clé et le même contenu ne change rien et reçoit la première "
                   "réponse (même code, même corps, en-tête « Idempotent-Replayed: true ») ; la même clé pour "
                   "une autre requête est refusée (422), et (409) tant que la première est en cours. Clés propres "
                   "à chaque jeton (ou à l'utilisateur et au département avec la session), gardées 24 heures ; "
                   "les réponses d'erreur 5xx ne sont pas gardées.",
    "schema": {"type": "string", "pattern": idempotency.KEY_PATTERN},
    "required": False,
}


# Views whose answer must not be stored, hence cannot be replayed: a key there is refused.
NOT_REPLAYABLE = {
    # The answer holds the new token's secret, of which the database keeps only a hash.
    "create_token": "La création d'un jeton n'accepte pas d'en-tête Idempotency-Key : sa réponse contient le "
                    "secret du jeton, qui n'est conservé nulle part. Si une création a échoué, listez vos jetons "
                    "(GET /api/v1/tokens) et révoquez celui en trop.",
}


class ApiBlueprint(Blueprint):
    ARGUMENTS_PARSER = ApiParser()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._prepare_doc_cbks.append(self._prepare_idempotency_doc)

    def _store_endpoint_docs(self, endpoint, obj, parameters, tags, **options):
        super()._store_endpoint_docs(endpoint, obj, parameters, tags, **options)
        for method, info in self._docs[endpoint].items():
            if method != "parameters":
                info["replayable"] = endpoint not in NOT_REPLAYABLE

    @staticmethod
    def _prepare_idempotency_doc(doc, doc_info, *, spec, method, **_kwargs):
        """Every state-changing operation documents the Idempotency-Key header (one shared parameter)."""
        if method.upper() not in SAFE_METHODS and doc_info.get("replayable", True):
            if "IdempotencyKey" not in spec.components.parameters:
                spec.components.parameter("IdempotencyKey", "header",
                                          {**IDEMPOTENCY_PARAMETER, "name": idempotency.KEY_HEADER})
            doc.setdefault("parameters", []).append("IdempotencyKey")
        return doc


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
        g.api_token_id = identity.token_id
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


@bp.before_request
def _claim_idempotency_key():
    """A state-changing call with an Idempotency-Key: claim the key, or answer as the first request did."""
    if request.method in SAFE_METHODS:
        return None
    try:
        key = idempotency.parse_key(request.headers.get(idempotency.KEY_HEADER))
        if key is None:
            return None
        refusal = NOT_REPLAYABLE.get((request.endpoint or "").removeprefix(f"{bp.name}."))
        if refusal is not None:
            return errors.error_response(400, "cle_idempotence_non_acceptee", refusal,
                                         {idempotency.KEY_HEADER: [refusal]})
        owner = f"token:{g.api_token_id}" if g.api_authentication == "jeton" else f"user:{g.actor.user_id}"
        digest = idempotency.fingerprint(request.method, request.path, request.query_string,
                                         request.get_data(cache=True))
        outcome = idempotency.begin(g.actor.tenant_id, owner, key, digest)
    except idempotency.KeyInUse as exc:
        return errors.error_response(exc.status, exc.code, exc.message, headers={"Retry-After": "1"})
    if isinstance(outcome, idempotency.Replay):
        response = current_app.response_class(outcome.body, status=outcome.status, mimetype="application/json")
        response.headers[idempotency.REPLAYED_HEADER] = "true"
        return response
    g.idempotency_claim = outcome
    return None


@bp.after_request
def _store_idempotent_answer(response):
    """The winner's answer is kept for its retries; a 5xx (or a non-JSON answer) is not."""
    claim = g.pop("idempotency_claim", None)
    if claim is not None:
        try:
            if response.status_code < 500 and response.mimetype == "application/json" \
                    and not response.direct_passthrough:
                idempotency.finish(claim, response.status_code, response.get_data(as_text=True))
            else:
                idempotency.forget(claim)
        except sa.exc.SQLAlchemyError:  # the answer stands; its key is taken over after the pending lease
            log.exception("Idempotency-Key: answer of %s %s not stored", request.method, request.path)
    return response


@bp.teardown_request
def _release_idempotency_key(_exc=None) -> None:
    """The view raised (no after_request ran): forget the claim, so that a retry runs the call again."""
    claim = g.pop("idempotency_claim", None)
    if claim is not None:
        try:
            idempotency.forget(claim)
        except sa.exc.SQLAlchemyError:
            log.exception("Idempotency-Key: claim of %s %s not released", request.method, request.path)


@bp.teardown_request
def _reset_token_tenant(_exc=None) -> None:
    tokens = g.pop("api_tenant_tokens", None)
    if tokens is not None:
        reset_request_tenant(tokens)


bp.register_error_handler(ServiceError, errors.service_error)


def _database_race(exc):
    """A concurrent writer won at the database: the French 409 of ``concurrency.as_conflict``, never a 500."""
    conflict = as_conflict(exc)
    if conflict is None:
        raise exc
    return errors.service_error(conflict)


bp.register_error_handler(sa.exc.DBAPIError, _database_race)
bp.register_error_handler(StaleDataError, _database_race)
for _code in default_exceptions:
    # By status code, so that they win over the site's HTML handlers for 403/404/CSRF.
    bp.register_error_handler(_code, errors.http_error)
