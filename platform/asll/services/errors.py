"""Errors a service raises; adapters turn them into French messages and HTTP codes."""

from __future__ import annotations

from collections.abc import Sequence

from asll.services.messages import translate


class ServiceError(Exception):
    """A refused use case: nothing was changed. ``code`` is stable, ``message`` is French."""

    status = 400

    def __init__(self, message: str, code: str = "invalide", violations: Sequence = ()):
        super().__init__(message)
        self.message = message
        self.code = code
        self.violations = list(violations)


class NotFound(ServiceError):
    """The object does not exist *or* the actor may not know it exists."""

    status = 404

    def __init__(self, message: str = "Élément introuvable.", code: str = "introuvable"):
        super().__init__(message, code)


class PermissionDenied(ServiceError):
    status = 403

    def __init__(self, message: str = "Vous n'avez pas les droits pour cette action.", code: str = "interdit"):
        super().__init__(message, code)


class Conflict(ServiceError):
    """Someone else changed the same thing first (a double click, two colleagues, a retry).

    Nothing of the loser's attempt is stored; reloading the page shows the winner's change.
    """

    status = 409

    def __init__(self, message: str = "Cet élément vient d'être modifié par quelqu'un d'autre ; rechargez la page.",
                 code: str = "conflit"):
        super().__init__(message, code)


class ServiceUnavailable(ServiceError):
    """A service the platform relies on (the task broker) did not answer; try again later."""

    status = 503

    def __init__(self, message: str, code: str = "indisponible"):
        super().__init__(message, code)


class ValidationFailed(ServiceError):
    """Input did not pass its schema; ``fields`` maps a field to its French messages."""

    status = 422

    def __init__(self, fields: dict, message: str = "Le formulaire contient des erreurs."):
        super().__init__(message, "validation")
        self.fields = translate(fields)  # marshmallow's English defaults, in French
