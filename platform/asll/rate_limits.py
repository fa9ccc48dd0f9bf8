"""Rate limits (Flask-Limiter): logins, password resets, token creation and the API.

Storage is Redis when ``REDIS_URL`` (or ``ASLL_RATELIMIT_STORAGE_URL``) is set, so every web
process counts in the same place; memory on the embedded default (one process). The
strategy is a moving window and each limit has several windows (10 failures in 15 minutes,
20 in an hour, 40 in a day for an account): the wait grows with the failures, and always
ends, so that nobody can lock a real user out for good by typing wrong passwords. A
password set through a reset link clears the account's failures.

Failed logins count per account (the email typed, hashed: no address is stored in Redis)
and per IP; the right password is refused too while the account waits. A refused request
gets a French page (or JSON under /api/v1) saying how long to wait, and ``Retry-After``.
"""

from __future__ import annotations

import hashlib
import math
import time

from flask import Flask, current_app, g, render_template, request, session
from flask_limiter import Limiter, RateLimitExceeded
from limits import parse_many

KEY_PREFIX = "asll"
LOGIN_ACCOUNT_SCOPE = "login-account"
LOGIN_IP_SCOPE = "login-ip"
RESET_ACCOUNT_SCOPE = "reset-account"
RESET_IP_SCOPE = "reset-ip"
PENDING_LOGIN_EMAIL = "asll_pending_email"  # set by the login's first step, read by its second


def _ip() -> str:
    return request.remote_addr or "inconnue"


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:32]


def account_key_for(email: str) -> str:
    return "compte:" + _digest((email or "").strip().lower())


def _login_account_key() -> str:
    """The account a login attempt is for: the email typed, or the one awaiting its second factor."""
    email = request.form.get("email") or session.get(PENDING_LOGIN_EMAIL) or ""
    return account_key_for(email) if email.strip() else ""


def _ip_key() -> str:
    return "ip:" + _ip()


def _reset_account_key() -> str:
    email = request.form.get("email") or ""
    return account_key_for(email) if email.strip() else ""


def _api_key() -> str:
    """Per token (by its digest), or per user for the site's session, else per IP."""
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.strip().partition(" ")
    if scheme.lower() == "bearer" and secret.strip():
        return "jeton:" + _digest(secret.strip())
    from flask_login import current_user

    if current_user.is_authenticated:
        return f"utilisateur:{current_user.id}"
    return _ip_key()


def _user_key() -> str:
    actor = g.get("actor")
    if actor is not None and actor.user_id is not None:
        return f"utilisateur:{actor.user_id}"
    return _ip_key()


def _failed(response) -> bool:
    return response.status_code == 401


def _config(name: str):
    return lambda: current_app.config[name]


limiter = Limiter(key_func=_ip_key, key_prefix=KEY_PREFIX, on_breach=lambda request_limit: _too_many(request_limit))

login_limits = [
    limiter.shared_limit(_config("RATELIMIT_LOGIN_ACCOUNT"), scope=LOGIN_ACCOUNT_SCOPE, key_func=_login_account_key,
                         deduct_when=_failed, methods=["POST"]),
    limiter.shared_limit(_config("RATELIMIT_LOGIN_IP"), scope=LOGIN_IP_SCOPE, key_func=_ip_key,
                         deduct_when=_failed, methods=["POST"]),
]
reset_limits = [
    limiter.shared_limit(_config("RATELIMIT_RESET_ACCOUNT"), scope=RESET_ACCOUNT_SCOPE, key_func=_reset_account_key,
                         methods=["POST"]),
    limiter.shared_limit(_config("RATELIMIT_RESET_IP"), scope=RESET_IP_SCOPE, key_func=_ip_key, methods=["POST"]),
]
token_creation_limit = limiter.limit(_config("RATELIMIT_TOKEN_CREATION"), key_func=_user_key, methods=["POST"])


def login_limited(view):
    """A login step: failures count per account and per IP (see the module docstring)."""
    for decorator in reversed(login_limits):
        view = decorator(view)
    return view


def reset_limited(view):
    """« Mot de passe oublié » : every request counts, per account and per IP."""
    for decorator in reversed(reset_limits):
        view = decorator(view)
    return view


def forget_login_failures(email: str) -> None:
    """Clear an account's failed logins (its owner just set a new password through a link)."""
    if not limiter.initialized:
        return
    key = account_key_for(email)
    for item in parse_many(current_app.config["RATELIMIT_LOGIN_ACCOUNT"]):
        limiter.limiter.clear(item, KEY_PREFIX, key, LOGIN_ACCOUNT_SCOPE)


def french_duration(seconds: int) -> str:
    """« 14 minutes 30 secondes », « 1 heure », « 45 secondes »."""
    seconds = max(1, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = []
    if hours:
        parts.append(f"{hours} heure{'s' if hours > 1 else ''}")
    if minutes:
        parts.append(f"{minutes} minute{'s' if minutes > 1 else ''}")
    if secs and not hours:
        parts.append(f"{secs} seconde{'s' if secs > 1 else ''}")
    return " ".join(parts)


def _too_many(request_limit):
    """The response of a refused request: French, with the wait and ``Retry-After``."""
    from asll.api import errors as api_errors

    # Every limit is evaluated (RATELIMIT_FAIL_ON_FIRST_BREACH off): the wait is the longest one.
    resets = [request_limit.window[0]] + [rl.window[0] for rl in limiter.current_limits if rl.breached]
    wait = max(1, math.ceil(max(resets) - time.time()))
    duration = french_duration(wait)
    if api_errors.is_api_path(request.path):
        response = api_errors.error_response(
            429, "trop_de_requetes", f"Trop de requêtes : réessayez dans {duration}.",
            headers={"Retry-After": str(wait)})
    else:
        response = current_app.make_response((render_template(
            "error.html", title="Trop de tentatives",
            message=f"Trop de tentatives en peu de temps. Pour protéger les comptes, patientez {duration} "
                    "avant de réessayer."), 429))
        response.headers["Retry-After"] = str(wait)
    response.headers["Cache-Control"] = "no-store"
    return response


def _rate_limit_exceeded(exc: RateLimitExceeded):
    return exc.response if exc.response is not None else exc.get_response()


_api_limited = False


def init_app(app: Flask) -> None:
    """Bind the limiter to the app; the API blueprint gets its per-token limit once per process."""
    global _api_limited

    limiter.init_app(app)
    app.register_error_handler(RateLimitExceeded, _rate_limit_exceeded)
    if not _api_limited:
        from asll.api.blueprint import bp as api_bp

        limiter.limit(_config("RATELIMIT_API"), key_func=_api_key)(api_bp)
        _api_limited = True
