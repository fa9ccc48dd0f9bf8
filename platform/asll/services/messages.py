"""French for marshmallow's and webargs's default English messages.

Schemas give their own French messages where they can; a field a plugin declares without
one (``Not a valid boolean.``), or a check of marshmallow's own, still yields English. Every
:class:`~asll.services.errors.ValidationFailed` goes through :func:`translate`, so the web
forms and the API show French whatever the schema.
"""

from __future__ import annotations

import re

_EXACT = {
    "Missing data for required field.": "Ce champ est obligatoire.",
    "Field may not be null.": "Ce champ ne peut pas être nul.",
    "Invalid value.": "Valeur invalide.",
    "Invalid type.": "Type invalide.",
    "Invalid input.": "Saisie invalide.",
    "Invalid input type.": "Type de donnée invalide : un objet JSON est attendu.",
    "Unknown field.": "Champ inconnu.",
    "Not a valid list.": "Une liste est attendue.",
    "Not a valid tuple.": "Une liste est attendue.",
    "Not a valid string.": "Un texte est attendu.",
    "Not a valid utf-8 string.": "Texte UTF-8 invalide.",
    "Not a valid number.": "Un nombre est attendu.",
    "Number too large.": "Nombre trop grand.",
    "Not a valid integer.": "Un nombre entier est attendu.",
    "Special numeric values (nan or infinity) are not permitted.":
        "Les valeurs numériques spéciales (NaN, infini) ne sont pas admises.",
    "Not a valid boolean.": "Un booléen (true ou false) est attendu.",
    "Not a valid date.": "Date invalide (format attendu : AAAA-MM-JJ).",
    "Not a valid datetime.": "Date et heure invalides (format ISO 8601 attendu).",
    "Not a valid mapping type.": "Un objet JSON est attendu.",
    "Not a valid email address.": "Adresse électronique invalide.",
    "Not a valid URL.": "Adresse web invalide.",
    "Not a valid UUID.": "Identifiant UUID invalide.",
    "String does not match expected pattern.": "Format invalide.",
    "Invalid JSON body.": "Le corps de la requête n'est pas un JSON valide.",
}
_PATTERNS = [
    (re.compile(r"^Must be one of: (.*)\.$"), r"Valeur attendue parmi : \1."),
    (re.compile(r"^Length must be between (\d+) and (\d+)\.$"), r"Entre \1 et \2 caractères ou éléments."),
    (re.compile(r"^Shorter than minimum length (\d+)\.$"), r"\1 caractères ou éléments au moins."),
    (re.compile(r"^Longer than maximum length (\d+)\.$"), r"\1 caractères ou éléments au plus."),
    (re.compile(r"^Length must be (\d+)\.$"), r"Exactement \1 caractères ou éléments."),
    (re.compile(r"^Must be greater than or equal to (.+) and less than or equal to (.+)\.$"),
     r"Valeur comprise entre \1 et \2 attendue."),
    (re.compile(r"^Must be greater than or equal to (.+)\.$"), r"Valeur supérieure ou égale à \1 attendue."),
    (re.compile(r"^Must be less than or equal to (.+)\.$"), r"Valeur inférieure ou égale à \1 attendue."),
    (re.compile(r"^Must be greater than (.+)\.$"), r"Valeur strictement supérieure à \1 attendue."),
    (re.compile(r"^Must be less than (.+)\.$"), r"Valeur strictement inférieure à \1 attendue."),
    (re.compile(r"^Not a valid .+\.$"), "Valeur invalide."),
]


def french(message) -> str:
    message = str(message)
    if message in _EXACT:
        return _EXACT[message]
    for pattern, replacement in _PATTERNS:
        if pattern.match(message):
            return pattern.sub(replacement, message)
    return message


def translate(messages):
    """``messages`` (marshmallow's nested dict/list of strings) with each string in French."""
    if isinstance(messages, dict):
        return {key: translate(value) for key, value in messages.items()}
    if isinstance(messages, list | tuple):
        return [translate(value) for value in messages]
    return french(messages) if isinstance(messages, str) else messages
