"""Configuration from environment variables, with an embedded default that needs no server.

Defaults: SQLite under ``instance/``, Celery on kombu's SQLAlchemy transport (a SQLite
file), mail written to ``instance/mail/`` when no SMTP server is configured. Set
``DATABASE_URL`` and ``REDIS_URL`` (or ``CELERY_BROKER_URL``) for PostgreSQL and Redis.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def _instance_path() -> Path:
    path = Path(os.environ.get("ASLL_INSTANCE_PATH", REPO_ROOT / "instance")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _secret_key(instance: Path) -> str:
    """Use ``SECRET_KEY`` if set, else a random key kept in ``instance/secret_key``."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    key_file = instance / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


AUDIT_KEY_MIN_LENGTH = 32


def _audit_key(instance: Path) -> str:
    """The audit trail's HMAC key: ``ASLL_AUDIT_KEY``, else one generated once in ``instance/audit_key``.

    Never stored in the database: whoever can write the database must not be able to sign
    a rewritten entry.
    """
    key = os.environ.get("ASLL_AUDIT_KEY", "").strip()
    if not key:
        key_file = instance / "audit_key"
        if not key_file.exists():
            # Written whole under a temporary name, then linked: a process starting at the same
            # time finds either no file or the complete key, and only one key is ever kept.
            draft = instance / f".audit_key.{os.getpid()}.{secrets.token_hex(4)}"
            descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                handle.write(secrets.token_hex(32))
            try:
                os.link(draft, key_file)
            except FileExistsError:
                pass
            finally:
                draft.unlink()
        key = key_file.read_text().strip()
    if len(key) < AUDIT_KEY_MIN_LENGTH:
        raise ValueError(f"ASLL_AUDIT_KEY doit compter au moins {AUDIT_KEY_MIN_LENGTH} caractères.")
    return key


def _key_list(value: str) -> tuple[str, ...]:
    """Retired audit keys: separated by commas or white space."""
    return tuple(part for part in value.replace(",", " ").split() if part)


def _choice(name: str, allowed: tuple[str, ...], default: str) -> str:
    value = os.environ.get(name, default).strip().lower()
    if value not in allowed:
        raise ValueError(f"{name} doit valoir {', '.join(allowed)} (reçu : « {value} »).")
    return value


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on", "oui"}


def _normalise_db_url(url: str) -> str:
    # psycopg 3 is the driver we ship; accept the common "postgres://" spellings.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def load_config(overrides: dict | None = None) -> dict:
    instance = _instance_path()
    env = os.environ.get("ASLL_ENV", "production")
    database_url = _normalise_db_url(
        os.environ.get("DATABASE_URL", f"sqlite:///{instance / 'asll.sqlite'}")
    )
    redis_url = os.environ.get("REDIS_URL")
    broker_url = os.environ.get("CELERY_BROKER_URL") or redis_url or f"sqla+sqlite:///{instance / 'celery-broker.sqlite'}"
    result_backend = (
        os.environ.get("CELERY_RESULT_BACKEND")
        or redis_url
        or f"db+sqlite:///{instance / 'celery-results.sqlite'}"
    )
    # Redis gives an unacknowledged message back after this; longer than every countdown a
    # task uses (reminder retries: 300 s) and than the export lease, so that a redelivery
    # finds a dead run's lease expired (a live run's redelivered message does nothing).
    visibility_timeout = float(os.environ.get("ASLL_BROKER_VISIBILITY_TIMEOUT", "600"))
    # Connecting to the broker to send a task gives up after this: a request that enqueues
    # answers a French 503 within seconds when the broker is down, instead of hanging.
    broker_timeout = float(os.environ.get("ASLL_BROKER_TIMEOUT", "2"))
    session_hours = float(os.environ.get("ASLL_SESSION_LIFETIME_HOURS", "12"))
    config = {
        "ASLL_ENV": env,
        "INSTANCE_PATH": str(instance),
        "SECRET_KEY": _secret_key(instance),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _bool("ASLL_SECURE_COOKIES", env == "production"),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SECURE": _bool("ASLL_SECURE_COOKIES", env == "production"),
        # Sessions live server-side (services/sessions.py): they end at logout, on a password
        # change or a suspension, after SESSION_IDLE_MINUTES without a request, and in any case
        # SESSION_LIFETIME_HOURS after login (OWASP ASVS 4.0 3.3.2, level 2). The cookie is not
        # re-sent on every response.
        "SESSION_IDLE_MINUTES": float(os.environ.get("ASLL_SESSION_IDLE_MINUTES", "30")),
        "SESSION_LIFETIME_HOURS": session_hours,
        "PERMANENT_SESSION_LIFETIME": int(session_hours * 3600),
        "SESSION_REFRESH_EACH_REQUEST": False,
        "WTF_CSRF_TIME_LIMIT": int(session_hours * 3600),
        # Accounts: API tokens expire (days, at most this long), invitation and reset links too.
        "API_TOKEN_LIFETIME_DAYS": int(os.environ.get("ASLL_API_TOKEN_LIFETIME_DAYS", "365")),
        "INVITATION_LINK_HOURS": float(os.environ.get("ASLL_INVITATION_LINK_HOURS", "72")),
        "RESET_LINK_MINUTES": float(os.environ.get("ASLL_RESET_LINK_MINUTES", "60")),
        # A second factor (TOTP) is then required of département and platform administrators.
        "TOTP_REQUIRED_FOR_ADMINS": _bool("ASLL_TOTP_REQUIRED_FOR_ADMINS", False),
        "HSTS_SECONDS": int(os.environ.get("ASLL_HSTS_SECONDS", "31536000")) if env == "production" else 0,
        # Rate limits (Flask-Limiter, services/rate_limits.py): shared by every web process through
        # Redis when it is configured, per process in memory on the embedded default. Failed
        # logins count per account and per IP; several windows make the wait grow with the
        # failures instead of locking the account for good.
        "RATELIMIT_STORAGE_URI": os.environ.get("ASLL_RATELIMIT_STORAGE_URL") or redis_url or "memory://",
        "RATELIMIT_STRATEGY": "moving-window",
        "RATELIMIT_KEY_PREFIX": "asll",
        "RATELIMIT_HEADERS_ENABLED": False,
        "RATELIMIT_FAIL_ON_FIRST_BREACH": False,  # the 429 says the longest of the waits
        # Redis down: each process counts in memory meanwhile, rather than refusing every login.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_LOGIN_ACCOUNT": os.environ.get("ASLL_RATELIMIT_LOGIN_ACCOUNT",
                                                  "10 per 15 minutes;20 per hour;40 per day"),
        "RATELIMIT_LOGIN_IP": os.environ.get("ASLL_RATELIMIT_LOGIN_IP", "30 per 15 minutes;100 per day"),
        "RATELIMIT_RESET_ACCOUNT": os.environ.get("ASLL_RATELIMIT_RESET_ACCOUNT", "3 per hour;10 per day"),
        "RATELIMIT_RESET_IP": os.environ.get("ASLL_RATELIMIT_RESET_IP", "10 per hour;30 per day"),
        "RATELIMIT_TOKEN_CREATION": os.environ.get("ASLL_RATELIMIT_TOKEN_CREATION", "10 per hour"),
        "RATELIMIT_API": os.environ.get("ASLL_RATELIMIT_API", "300 per minute;10000 per hour"),
        "MAX_CONTENT_LENGTH": 20 * 1024 * 1024,
        "BABEL_DEFAULT_LOCALE": "fr",
        "BABEL_DEFAULT_TIMEZONE": "Europe/Paris",
        "UPLOAD_PATH": os.environ.get("ASLL_UPLOAD_PATH", str(instance / "uploads")),
        "EXPORT_PATH": os.environ.get("ASLL_EXPORT_PATH", str(instance / "exports")),
        # Files hold personal data: kept this long after they are produced, then deleted.
        "EXPORT_RETENTION_HOURS": float(os.environ.get("ASLL_EXPORT_RETENTION_HOURS", "72")),
        # Exports survive a dead worker; these four are set together (README, "exports"):
        # a run renews its lease at every progress write (every second while rows stream), so a
        # lease not renewed for EXPORT_LEASE_SECONDS means the worker died: the next message
        # for the job (the minute sweep's, or the broker's redelivery) starts it again from
        # zero, at most EXPORT_MAX_ATTEMPTS runs; a job no worker has started within
        # EXPORT_STALL_MINUTES is failed with a French message instead of waiting for ever.
        "EXPORT_LEASE_SECONDS": float(os.environ.get("ASLL_EXPORT_LEASE_SECONDS", "120")),
        "EXPORT_MAX_ATTEMPTS": int(os.environ.get("ASLL_EXPORT_MAX_ATTEMPTS", "3")),
        "EXPORT_STALL_MINUTES": float(os.environ.get("ASLL_EXPORT_STALL_MINUTES", "30")),
        # API Idempotency-Key: a key's first answer is replayed this long (then purged hourly);
        # a retry waits this long for a first request still running (then a French 409); a key
        # still claimed after this long lost its process (no request runs that long) and is taken over.
        "IDEMPOTENCY_KEY_HOURS": float(os.environ.get("ASLL_IDEMPOTENCY_KEY_HOURS", "24")),
        "IDEMPOTENCY_WAIT_SECONDS": float(os.environ.get("ASLL_IDEMPOTENCY_WAIT_SECONDS", "10")),
        "IDEMPOTENCY_PENDING_SECONDS": float(os.environ.get("ASLL_IDEMPOTENCY_PENDING_SECONDS", "300")),
        # Audit trail (services/audit.py, README "Journal d'audit ancré"): entries are signed with
        # AUDIT_KEY (HMAC-SHA256, its id stored on each entry); after a rotation the previous keys
        # stay in AUDIT_RETIRED_KEYS so that the entries and checkpoints they signed still verify.
        # The chain heads are checkpointed hourly (beat) into AUDIT_CHECKPOINT_PATH, outside the database.
        "AUDIT_KEY": _audit_key(instance),
        "AUDIT_RETIRED_KEYS": _key_list(os.environ.get("ASLL_AUDIT_RETIRED_KEYS", "")),
        "AUDIT_CHECKPOINT_PATH": os.environ.get("ASLL_AUDIT_CHECKPOINT_PATH", str(instance / "audit-checkpoints")),
        # PostgreSQL: the app must connect as a role subject to row-level security (not a superuser,
        # not the tables' owner, not asll_maintenance); otherwise start-up warns, and refuses in
        # production. "off" only for the migrations, which are run as the owner on purpose.
        "DATABASE_ROLE_CHECK": _choice("ASLL_DATABASE_ROLE_CHECK", ("refuse", "warn", "off"),
                                       "refuse" if env == "production" else "warn"),
        "MAIL_FOLDER": os.environ.get("ASLL_MAIL_FOLDER", str(instance / "mail")),
        "SMTP_HOST": os.environ.get("SMTP_HOST", ""),
        "SMTP_PORT": int(os.environ.get("SMTP_PORT", "25")),
        "SMTP_USER": os.environ.get("SMTP_USER", ""),
        "SMTP_PASSWORD": os.environ.get("SMTP_PASSWORD", ""),
        "SMTP_STARTTLS": _bool("SMTP_STARTTLS", False),
        "MAIL_FROM": os.environ.get("MAIL_FROM", "ASLL <no-reply@asll.localhost>"),
        "BASE_URL": os.environ.get("ASLL_BASE_URL", "http://127.0.0.1:5000"),
        "CELERY": {
            "broker_url": broker_url,
            "result_backend": result_backend,
            "task_serializer": "json",
            "result_serializer": "json",
            "accept_content": ["json"],
            "task_acks_late": True,
            "task_reject_on_worker_lost": True,
            "worker_prefetch_multiplier": 1,
            "task_always_eager": _bool("CELERY_TASK_ALWAYS_EAGER", False),
            "broker_connection_retry_on_startup": True,
            "broker_connection_timeout": broker_timeout,
            # Redis's options (the SQLAlchemy transport would hand them to create_engine).
            "broker_transport_options": {
                "visibility_timeout": visibility_timeout,
                "socket_connect_timeout": broker_timeout,
                # Look for messages to give back every tenth of the timeout (at most every 10 s).
                "unacked_restore_interval": max(1, min(10, int(visibility_timeout // 10))),
                "unacked_restore_throttle": 1,
            } if broker_url.startswith(("redis://", "rediss://")) else {},
            # One quick retry, not Celery's default of three, each bounded by the timeout above.
            "task_publish_retry_policy": {"max_retries": 1, "interval_start": 0, "interval_step": 0.5,
                                          "interval_max": 0.5},
            "redis_socket_connect_timeout": broker_timeout,
            "result_backend_transport_options": {"retry_policy": {"max_retries": 2, "interval_start": 0,
                                                                  "interval_step": 0.5, "interval_max": 0.5}},
            "timezone": "Europe/Paris",
            "beat_schedule_filename": str(instance / "celerybeat-schedule"),
        },
    }
    if overrides:
        celery_overrides = overrides.pop("CELERY", None)
        config.update(overrides)
        if celery_overrides:
            config["CELERY"] = {**config["CELERY"], **celery_overrides}
    return config
