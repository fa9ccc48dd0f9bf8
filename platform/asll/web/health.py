"""Operations endpoints for load balancers and monitoring: ``/healthz`` and ``/readyz``.

``/healthz``: the process answers (liveness; restart it if not). ``/readyz``: the services a
request needs answer (readiness; send it no traffic if not): the database (``SELECT 1``), the
broker (a connection, with a short timeout) and the file storage (``asll.storage``'s check).
Machine fields only, no personal data, no authentication; no tenant, no session, no CSRF and no
rate limit (the probes come every few seconds from the balancer's address). A failing service
is named in the body of the 503; the details go to the log, not to the answer.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify

from asll.extensions import db

bp = Blueprint("health", __name__)
log = logging.getLogger("asll.health")

ENDPOINTS = frozenset({"health.healthz", "health.readyz"})


@bp.get("/healthz")
def healthz():
    return _answer({"status": "ok"}, 200)


@bp.get("/readyz")
def readyz():
    checks = {"database": _check(_database, "database"), "broker": _check(_broker, "broker")}
    storage = _storage_check()
    if storage is not None:
        checks["storage"] = _check(storage, "storage")
    healthy = all(result == "ok" for result in checks.values())
    return _answer({"status": "ok" if healthy else "fail", "checks": checks}, 200 if healthy else 503)


def _answer(body: dict, status: int):
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def _check(probe, name: str) -> str:
    try:
        probe()
    except Exception as exc:  # any failure means "not ready": named, never raised
        log.warning("Service « %s » injoignable : %s", name, exc)
        return f"fail: {type(exc).__name__}"
    return "ok"


def _database() -> None:
    with db.engine.connect() as connection:
        connection.execute(sa.text("SELECT 1"))


def _broker() -> None:
    celery_app = current_app.extensions["celery"]
    timeout = float(current_app.config.get("BROKER_TIMEOUT") or 2)
    with celery_app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0.2, interval_max=0.2,
                                     timeout=timeout)
        if connection.transport.driver_type == "redis":
            connection.default_channel.client.ping()  # the transport connects lazily


def _storage_check():
    """``current_storage().check`` when the storage module is installed (None before it exists)."""
    try:
        from asll.storage import current_storage
    except ModuleNotFoundError as exc:
        if exc.name in ("asll.storage",):
            return None
        raise
    return lambda: current_storage().check()


def init_app(app) -> None:
    """Register the blueprint, exempt from CSRF and from the rate limits."""
    from asll.extensions import csrf
    from asll.rate_limits import limiter

    csrf.exempt(bp)
    limiter.exempt(bp)
    app.register_blueprint(bp)
