"""Errors of the JSON API: one shape, French messages, the right status.

Every error is ``{"code", "message", "errors": {field: [messages]}}`` (plus
``violations`` for refused business rules). Service errors keep their status
(NotFound 404, PermissionDenied 403, ValidationFailed 422, RuleViolation 409, other
refusals 400). Field messages nested in lists or objects are flattened to dotted paths
(``members.0.last_name``), and marshmallow's or webargs's default English messages,
where a schema did not give a French one, are translated.
"""

from __future__ import annotations

from flask import jsonify
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from asll.services.errors import ServiceError
from asll.services.messages import french

API_PREFIX = "/api/v1"

# Status → (stable code, French message) for errors that do not come from a service.
HTTP_ERRORS = {
    400: ("requete_invalide", "La requête est invalide."),
    401: ("authentification_requise", "Authentification requise : envoyez un jeton d'accès "
                                      "(en-tête « Authorization: Bearer <jeton> ») ou connectez-vous."),
    403: ("interdit", "Vous n'avez pas les droits pour cette action."),
    404: ("introuvable", "Ressource introuvable."),
    405: ("methode_non_autorisee", "Méthode HTTP non autorisée pour cette adresse."),
    406: ("non_acceptable", "Format de réponse non disponible : l'API répond en JSON."),
    409: ("conflit", "La demande est en conflit avec l'état de la ressource."),
    413: ("trop_volumineux", "La requête est trop volumineuse."),
    415: ("type_non_pris_en_charge", "Type de contenu non pris en charge : envoyez du JSON."),
    422: ("validation", "Les données envoyées contiennent des erreurs."),
    429: ("trop_de_requetes", "Trop de requêtes : réessayez plus tard."),
    500: ("erreur_interne", "Erreur interne du serveur."),
}
CSRF_MESSAGE = ("Jeton CSRF manquant ou invalide : avec une session, envoyez l'en-tête X-CSRFToken "
                "(valeur donnée par GET /api/v1/me).")
LOCATIONS = ("json", "query", "querystring", "view_args", "path", "headers", "cookies", "form", "files")

def flatten(messages, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested messages as ``{"a.0.b": [French messages]}``."""
    key = prefix or "_schema"
    if isinstance(messages, dict):
        flat: dict[str, list[str]] = {}
        for name, value in messages.items():
            for path, texts in flatten(value, f"{prefix}.{name}" if prefix else str(name)).items():
                flat.setdefault(path, []).extend(texts)
        return flat
    if isinstance(messages, list | tuple):
        flat = {}
        for index, value in enumerate(messages):
            if isinstance(value, dict | list | tuple):
                for path, texts in flatten(value, f"{prefix}.{index}" if prefix else str(index)).items():
                    flat.setdefault(path, []).extend(texts)
            else:
                flat.setdefault(key, []).append(french(value))
        return flat
    return {key: [french(messages)]}


def _strip_locations(messages):
    """webargs files errors under the location (``{"json": {...}}``): the client knows where it wrote."""
    if isinstance(messages, dict) and messages and set(messages) <= set(LOCATIONS):
        merged: dict = {}
        for value in messages.values():
            if isinstance(value, dict):
                merged.update(value)
            else:
                merged.setdefault("_schema", []).extend(value if isinstance(value, list) else [value])
        return merged
    return messages


def error_response(status: int, code: str, message: str, errors=None, violations=None, headers=None):
    body = {"code": code, "message": message, "errors": flatten(errors) if errors else {}}
    if violations:
        body["violations"] = [{"code": v.code, "message": v.message, "field": v.field, "blocking": v.blocking}
                              for v in violations]
    response = jsonify(body)
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def service_error(exc: ServiceError):
    return error_response(exc.status, exc.code, exc.message, getattr(exc, "fields", None), exc.violations)


def http_error(exc: HTTPException):
    if getattr(exc, "response", None) is not None:  # already answered (e.g. the rate limits' French 429)
        return exc.response
    status = exc.code or 500
    code, message = HTTP_ERRORS.get(status, (f"http_{status}", f"Erreur HTTP {status}."))
    headers = {}
    if isinstance(exc, CSRFError):
        code, message = "csrf", CSRF_MESSAGE
    data = getattr(exc, "data", None) or {}
    errors = _strip_locations(data.get("messages") or data.get("errors"))
    if status == 400 and errors:
        message = "Le corps de la requête n'est pas un JSON valide."
    for name, value in exc.get_headers():
        if name.lower() in ("allow", "www-authenticate", "retry-after"):
            headers[name] = value
    if status == 401:
        headers.setdefault("WWW-Authenticate", 'Bearer realm="asll"')
    for name, value in (data.get("headers") or {}).items():
        headers[name] = value
    return error_response(status, code, message, errors, headers=headers)


def is_api_path(path: str) -> bool:
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")
