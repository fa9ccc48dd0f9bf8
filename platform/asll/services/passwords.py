"""The password policy for what people type (CNIL deliberation 2022-100), and password changes.

A password is at least 12 characters and must resist guessing: zxcvbn estimates the number
of guesses an attacker needs (dictionaries of common passwords, names, keyboard patterns,
dates, repetitions) and we ask for its top score (at least 10^10 guesses). The person's own
names and email, and the platform's obvious words, are refused outright. Messages are French.

This applies to passwords people choose (invitation, reset, change); accounts created by
the platform itself (demo data, test fixtures) are not checked.
"""

from __future__ import annotations

import re
import unicodedata

from zxcvbn import zxcvbn

from asll.extensions import db
from asll.models import User
from asll.models.base import utcnow
from asll.security import MIN_PASSWORD_LENGTH, hash_password, verify_password
from asll.services import audit, sessions
from asll.services.actor import Actor
from asll.services.errors import ValidationFailed

MAX_PASSWORD_LENGTH = 128
MIN_SCORE = 4  # zxcvbn's "very unguessable": at least 10^10 guesses
# Words anyone would try first against this platform.
OBVIOUS = ["asll", "plateforme", "departement", "logement", "accompagnement", "social", "motdepasse",
           "azerty", "bonjour", "soleil", "loire", "orne", "moselle", "seine", "maritime", "demo"]

_WARNINGS = {
    "Straight rows of keys are easy to guess.": "Une rangée de touches du clavier se devine facilement.",
    "Short keyboard patterns are easy to guess.": "Un court motif de clavier se devine facilement.",
    'Repeats like "aaa" are easy to guess.': "Les répétitions comme « aaa » se devinent facilement.",
    'Repeats like "abcabcabc" are only slightly harder to guess than "abc".':
        "Les répétitions comme « abcabcabc » ne sont guère plus difficiles à deviner que « abc ».",
    'Sequences like "abc" or "6543" are easy to guess.':
        "Les suites comme « abc » ou « 6543 » se devinent facilement.",
    "Recent years are easy to guess.": "Les années récentes se devinent facilement.",
    "Dates are often easy to guess.": "Les dates se devinent souvent facilement.",
    "This is a top-10 common password.": "C'est l'un des 10 mots de passe les plus courants.",
    "This is a top-100 common password.": "C'est l'un des 100 mots de passe les plus courants.",
    "This is a very common password.": "C'est un mot de passe très courant.",
    "This is similar to a commonly used password.": "Il ressemble à un mot de passe très courant.",
    "A word by itself is easy to guess.": "Un mot seul se devine facilement.",
    "Names and surnames by themselves are easy to guess.": "Un nom ou un prénom seul se devine facilement.",
    "Common names and surnames are easy to guess.": "Les noms et prénoms courants se devinent facilement.",
}
ADVICE = ("Choisissez par exemple une phrase de passe de plusieurs mots sans lien entre eux, "
          "avec des chiffres ou des signes (ex. : « Girafe-lundi-47-parapluie »).")


def _plain(value: str) -> str:
    """Lower case without accents, to compare words as a guesser would."""
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _personal_words(email: str, full_name: str) -> list[str]:
    local = (email or "").partition("@")[0]
    words = re.split(r"[^\w]+|_", _plain(f"{full_name} {local}"))
    return sorted({w for w in words if len(w) >= 4} | ({_plain(local)} if len(local) >= 4 else set()))


def problems(password: str, *, email: str = "", full_name: str = "") -> list[str]:
    """What is wrong with a password someone chose, in French; empty when it is acceptable."""
    password = password or ""
    if len(password) < MIN_PASSWORD_LENGTH:
        return [f"Le mot de passe doit faire au moins {MIN_PASSWORD_LENGTH} caractères."]
    if len(password) > MAX_PASSWORD_LENGTH:
        return [f"Le mot de passe doit faire au plus {MAX_PASSWORD_LENGTH} caractères."]
    if "\x00" in password:
        return ["Le mot de passe contient un caractère interdit."]
    plain = _plain(password)
    personal = _personal_words(email, full_name)
    if any(word in plain for word in personal):
        return ["Le mot de passe ne doit contenir ni votre nom, ni votre prénom, ni votre adresse électronique."]
    result = zxcvbn(password, user_inputs=personal + OBVIOUS)
    if result["score"] >= MIN_SCORE:
        return []
    messages = ["Ce mot de passe est trop facile à deviner."]
    warning = _WARNINGS.get(result["feedback"].get("warning") or "")
    if warning:
        messages.append(warning)
    messages.append(ADVICE)
    return messages


def require_acceptable(password: str, confirmation: str | None, *, email: str, full_name: str,
                       field: str = "password") -> None:
    """Raise a French ValidationFailed unless the password is acceptable and confirmed."""
    errors: dict[str, list[str]] = {}
    found = problems(password, email=email, full_name=full_name)
    if found:
        errors[field] = found
    if confirmation is not None and password != confirmation:
        errors["confirmation"] = ["Les deux mots de passe saisis sont différents."]
    if errors:
        raise ValidationFailed(errors)


def set_password(actor: Actor, user: User, password: str, *, action: str) -> None:
    """Store a new password (hashed) and end every session of the account. The caller commits."""
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    audit.record(actor, action, object_type="user", object_id=user.id, changes={"password": "modifié"})


def change_password(actor: Actor, current: str, new: str, confirmation: str, *,
                    keep_session_id: int | None) -> User:
    """The user changes their own password; their other sessions end at once, on every device."""
    user = db.session.get(User, actor.user_id) if actor.user_id is not None else None
    if user is None:
        raise ValidationFailed({"current": ["Compte introuvable."]})
    errors: dict[str, list[str]] = {}
    if not verify_password(user.password_hash, current or ""):
        errors["current"] = ["Le mot de passe actuel est incorrect."]
    try:
        require_acceptable(new, confirmation, email=user.email, full_name=user.full_name)
    except ValidationFailed as exc:
        errors.update(exc.fields)
    if not errors and verify_password(user.password_hash, new):
        errors["password"] = ["Le nouveau mot de passe doit être différent de l'actuel."]
    if errors:
        raise ValidationFailed(errors)
    set_password(actor, user, new, action="user.password_change")
    sessions.revoke_all(user.id, sessions.Reason.PASSWORD, except_session_id=keep_session_id)
    db.session.commit()
    return user
