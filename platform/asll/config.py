"""The configuration: one table of settings, read from the environment, typed, documented in French.

Every setting is a row of :data:`SETTINGS`: its environment variable (``ASLL_<KEY>``, or an
established name such as ``DATABASE_URL``, ``REDIS_URL``, ``SECRET_KEY``, ``SMTP_*``), its
Flask config key, its type, its default and a French description (Indico's
``indico/core/config.py`` DEFAULTS, Flask's ``from_prefixed_env``). Nothing else reads
``os.environ``. The README's settings table is generated from it
(``python -m asll.config --markdown`` or ``flask asll settings --markdown``).

The embedded default needs no server: SQLite under the instance folder, Celery on kombu's
SQLAlchemy transport (a SQLite file), mail written to ``<instance>/mail/``. Production
(``ASLL_ENV=production``, the default) refuses to start on what only one host can use
(:func:`production_problems`).
"""

from __future__ import annotations

import difflib
import json
import logging
import os
import secrets
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("asll.config")

AUDIT_KEY_MIN_LENGTH = 32
PRODUCTION = "production"

# Environment variables with the ASLL_ prefix that are not settings of the app (no warning).
NOT_SETTINGS = frozenset({"ASLL_TEST_DATABASE_URL"})


class ConfigurationError(RuntimeError):
    """A setting has a value the platform cannot run with (French message naming the variable)."""


@dataclass(frozen=True)
class Setting:
    """One row of the table. ``default`` may be a function of the settings read before it."""

    key: str
    type: str  # str, int, float, bool, choice, json, list, path
    default: Any
    description: str
    env: str = ""  # default: "ASLL_" + key
    secret: bool = False
    choices: tuple[str, ...] = ()
    shown_default: str = ""  # what the README shows when the default is computed

    @property
    def variable(self) -> str:
        return self.env or f"ASLL_{self.key}"


def _instance(values: Mapping[str, Any]) -> Path:
    return Path(values["INSTANCE_PATH"])


def _in_instance(name: str) -> Callable[[Mapping[str, Any]], str]:
    return lambda values: str(_instance(values) / name)


def _production(values: Mapping[str, Any]) -> bool:
    return values["ASLL_ENV"] == PRODUCTION


S = Setting
SETTINGS: tuple[Setting, ...] = (
    # -- the instance ---------------------------------------------------------------------
    S("ASLL_ENV", "choice", PRODUCTION, "`production` : cookies sécurisés, HSTS, contrôles de démarrage ; "
      "`development` (`dev.py run`) ou `test` (la suite) : clés générées dans le dossier d'instance",
      env="ASLL_ENV", choices=("production", "development", "test")),
    S("INSTANCE_PATH", "path", lambda values: str(Path.cwd() / "instance"),
      "dossier des fichiers locaux (clés générées hors production, courriels écrits, planning de beat)",
      shown_default="`./instance` (dossier courant)"),
    S("SECRET_KEY", "str", "", "clé de signature des sessions et des formulaires, la même sur tous les processus "
      "web ; obligatoire en production, générée une fois dans `<instance>/secret_key` ailleurs",
      env="SECRET_KEY", secret=True, shown_default="(générée hors production)"),
    S("BASE_URL", "str", "http://127.0.0.1:5000", "adresse publique du site, dans les courriels"),
    S("TRUSTED_PROXIES", "int", 0, "nombre de mandataires inverses devant le serveur WSGI dont on croit les "
      "en-têtes `X-Forwarded-*` (adresse IP du client dans le journal d'audit et les limites de débit) ; "
      "0 : aucun"),
    S("LOG_FORMAT", "choice", "text", "`json` : une ligne JSON par message (web, worker, beat), avec "
      "l'identifiant de la requête", choices=("text", "json")),
    S("LOG_LEVEL", "choice", "INFO", "niveau de journalisation", choices=("DEBUG", "INFO", "WARNING", "ERROR")),
    # -- database -------------------------------------------------------------------------
    S("SQLALCHEMY_DATABASE_URI", "str", lambda values: f"sqlite:///{_instance(values) / 'asll.sqlite'}",
      "base de données, p. ex. `postgresql://asll_web@db/asll` (psycopg 3) ; SQLite refusé en production",
      env="DATABASE_URL", secret=True, shown_default="`sqlite:///<instance>/asll.sqlite`"),
    S("DATABASE_POOL_SIZE", "int", 5, "PostgreSQL : connexions gardées ouvertes par processus"),
    S("DATABASE_MAX_OVERFLOW", "int", 10, "PostgreSQL : connexions supplémentaires permises aux pointes"),
    S("DATABASE_POOL_RECYCLE", "int", 1800, "PostgreSQL : une connexion plus vieille (secondes) est rouverte"),
    S("DATABASE_CONNECT_TIMEOUT", "int", 10, "PostgreSQL : abandon d'une connexion après ce délai (secondes)"),
    S("DATABASE_PGBOUNCER", "bool", False, "`1` derrière pgbouncer en mode transaction : pas d'instructions "
      "préparées (`prepare_threshold=None`)"),
    S("DATABASE_ROLE_CHECK", "choice", lambda values: "refuse" if _production(values) else "warn",
      "rôle PostgreSQL soumis à la sécurité au niveau des lignes : `refuse`, `warn`, `off` (migrations "
      "lancées par le propriétaire)", choices=("refuse", "warn", "off"),
      shown_default="`refuse` en production, sinon `warn`"),
    # -- broker ---------------------------------------------------------------------------
    S("REDIS_URL", "str", "", "Redis : courtier et résultats de Celery, limites de débit partagées",
      env="REDIS_URL", secret=True),
    S("CELERY_BROKER_URL", "str", lambda values: values["REDIS_URL"]
      or f"sqla+sqlite:///{_instance(values) / 'celery-broker.sqlite'}",
      "courtier de Celery (`redis://`, `sentinel://…;sentinel://…` avec `master_name`)", env="CELERY_BROKER_URL",
      secret=True, shown_default="`REDIS_URL`, sinon `sqla+sqlite:///<instance>/celery-broker.sqlite`"),
    S("CELERY_RESULT_BACKEND", "str", lambda values: values["REDIS_URL"]
      or f"db+sqlite:///{_instance(values) / 'celery-results.sqlite'}",
      "résultats de Celery (seules quelques tâches en gardent)", env="CELERY_RESULT_BACKEND", secret=True,
      shown_default="`REDIS_URL`, sinon `db+sqlite:///<instance>/celery-results.sqlite`"),
    S("CELERY_BROKER_TRANSPORT_OPTIONS", "json", {}, "options du transport (objet JSON) fusionnées sur celles "
      "par défaut, p. ex. `{\"master_name\": \"asll\"}` pour Redis Sentinel", shown_default="`{}`"),
    S("CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS", "json", {}, "idem pour le stockage des résultats "
      "(Sentinel : `master_name`)", shown_default="`{}`"),
    S("BROKER_VISIBILITY_TIMEOUT", "float", 600, "Redis rend une tâche non acquittée après ce délai (secondes) ; "
      "au-dessus du bail des exports et des 300 s de relance des rappels"),
    S("BROKER_TIMEOUT", "float", 2, "envoyer une tâche abandonne après ce délai (secondes) : courtier arrêté, "
      "la demande d'export répond aussitôt une 503 en français"),
    S("CELERY_TASK_IGNORE_RESULT", "bool", True, "les tâches ne stockent pas de résultat (sauf `asll.ping` et "
      "les balayages des rappels, que lisent les tests et l'exploitation)"),
    S("CELERY_TASK_ALWAYS_EAGER", "bool", False, "exécuter les tâches dans le processus appelant (débogage)",
      env="CELERY_TASK_ALWAYS_EAGER"),
    # -- sessions and accounts ------------------------------------------------------------
    S("SECURE_COOKIES", "bool", lambda values: _production(values), "cookies envoyés en HTTPS seulement",
      shown_default="`1` en production"),
    S("SESSION_IDLE_MINUTES", "float", 30, "une session prend fin après ce délai sans activité (minutes)"),
    S("SESSION_LIFETIME_HOURS", "float", 12, "une session prend fin ce délai après la connexion (heures)"),
    S("API_TOKEN_LIFETIME_DAYS", "int", 365, "durée de vie maximale d'un jeton d'API (jours)"),
    S("INVITATION_LINK_HOURS", "float", 72, "validité d'un lien d'invitation (heures)"),
    S("RESET_LINK_MINUTES", "float", 60, "validité d'un lien « mot de passe oublié » (minutes)"),
    S("TOTP_REQUIRED_FOR_ADMINS", "bool", False, "double authentification obligatoire pour les administrateurs"),
    S("HSTS_SECONDS", "int", 31536000, "durée de l'en-tête HSTS (production seulement)"),
    # -- rate limits ----------------------------------------------------------------------
    S("RATELIMIT_STORAGE_URI", "str", lambda values: values["REDIS_URL"] or "memory://",
      "stockage des compteurs de Flask-Limiter", env="ASLL_RATELIMIT_STORAGE_URL", secret=True,
      shown_default="`REDIS_URL`, sinon `memory://`"),
    S("RATELIMIT_LOGIN_ACCOUNT", "str", "10 per 15 minutes;20 per hour;40 per day", "échecs de connexion par compte"),
    S("RATELIMIT_LOGIN_IP", "str", "30 per 15 minutes;100 per day", "échecs de connexion par adresse IP"),
    S("RATELIMIT_RESET_ACCOUNT", "str", "3 per hour;10 per day", "« mot de passe oublié » par compte"),
    S("RATELIMIT_RESET_IP", "str", "10 per hour;30 per day", "« mot de passe oublié » par adresse IP"),
    S("RATELIMIT_TOKEN_CREATION", "str", "10 per hour", "créations de jetons d'API"),
    S("RATELIMIT_API", "str", "300 per minute;10000 per hour", "appels de l'API par jeton"),
    # -- files ----------------------------------------------------------------------------
    S("STORAGE_BACKEND", "choice", "filesystem", "où vivent les fichiers (pièces jointes, documents, exports) : "
      "`filesystem` ou `s3` (stockage objet compatible S3)", choices=("filesystem", "s3")),
    S("STORAGE_PATH_SHARED", "bool", False, "`1` : les dossiers `ASLL_UPLOAD_PATH` et `ASLL_EXPORT_PATH` sont "
      "partagés par toutes les machines (montage NFS) ; exigé en production avec `filesystem`"),
    S("S3_BUCKET", "str", "", "`s3` : nom du bucket"),
    S("S3_ENDPOINT_URL", "str", "", "`s3` : adresse du service (Scaleway, OVH, Outscale, MinIO…)"),
    S("S3_REGION", "str", "", "`s3` : région"),
    S("S3_ACCESS_KEY_ID", "str", "", "`s3` : identifiant de la clé d'accès"),
    S("S3_SECRET_ACCESS_KEY", "str", "", "`s3` : clé d'accès secrète", secret=True),
    S("S3_PREFIX", "str", "", "`s3` : préfixe des objets dans le bucket"),
    S("S3_ADDRESSING_STYLE", "choice", "path", "`s3` : adressage `path` ou `virtual`", choices=("path", "virtual")),
    S("S3_PRESIGNED_SECONDS", "int", 60, "`s3` : validité d'une adresse de téléchargement présignée (secondes)"),
    S("S3_DOWNLOAD", "choice", "stream", "`s3` : téléchargement relayé par le web (`stream`) ou redirigé vers "
      "une adresse présignée (`redirect`)", choices=("stream", "redirect")),
    S("UPLOAD_PATH", "str", _in_instance("uploads"), "dossier local des pièces jointes (stockage `filesystem`)",
      shown_default="`<instance>/uploads`"),
    S("EXPORT_PATH", "str", _in_instance("exports"), "dossier local des exports (stockage `filesystem`)",
      shown_default="`<instance>/exports`"),
    S("EXPORT_RETENTION_HOURS", "float", 72, "un fichier d'export est supprimé ce délai après sa production (heures)"),
    S("EXPORT_LEASE_SECONDS", "float", 120, "bail d'un export en cours, renouvelé à chaque progression ; expiré, "
      "l'export est repris de zéro"),
    S("EXPORT_MAX_ATTEMPTS", "int", 3, "exécutions d'un export avant l'échec"),
    S("EXPORT_STALL_MINUTES", "float", 30, "un export qu'aucun worker n'a commencé est mis en échec après ce délai"),
    S("IDEMPOTENCY_KEY_HOURS", "float", 24, "API : durée de conservation d'une clé `Idempotency-Key` (heures)"),
    S("IDEMPOTENCY_WAIT_SECONDS", "float", 10, "API : attente d'une première requête encore en cours (secondes)"),
    S("IDEMPOTENCY_PENDING_SECONDS", "float", 300, "API : une clé réservée depuis ce délai est reprise (secondes)"),
    # -- audit ----------------------------------------------------------------------------
    S("AUDIT_KEY", "str", "", "clé HMAC du journal d'audit (32 caractères au moins), jamais dans la base ; "
      "obligatoire en production, générée une fois dans `<instance>/audit_key` ailleurs", secret=True,
      shown_default="(générée hors production)"),
    S("AUDIT_RETIRED_KEYS", "list", (), "anciennes clés d'audit, séparées par des virgules (rotation)", secret=True,
      shown_default="(aucune)"),
    S("AUDIT_CHECKPOINT_PATH", "str", _in_instance("audit-checkpoints"), "dossier des points de contrôle du journal "
      "d'audit, sur un support en ajout seul", shown_default="`<instance>/audit-checkpoints`"),
    # -- mail -----------------------------------------------------------------------------
    S("SMTP_HOST", "str", "", "serveur SMTP ; vide : les courriels sont écrits dans `MAIL_FOLDER` (refusé en "
      "production)", env="SMTP_HOST"),
    S("SMTP_PORT", "int", 25, "port SMTP", env="SMTP_PORT"),
    S("SMTP_USER", "str", "", "identifiant SMTP", env="SMTP_USER"),
    S("SMTP_PASSWORD", "str", "", "mot de passe SMTP", env="SMTP_PASSWORD", secret=True),
    S("SMTP_STARTTLS", "bool", False, "STARTTLS après la connexion", env="SMTP_STARTTLS"),
    S("SMTP_TIMEOUT", "float", 30, "délai d'attente du serveur SMTP (secondes)", env="SMTP_TIMEOUT"),
    S("MAIL_FROM", "str", "ASLL <no-reply@asll.localhost>", "expéditeur des courriels", env="MAIL_FROM"),
    S("MAIL_FOLDER", "str", _in_instance("mail"), "dossier des courriels écrits quand il n'y a pas de serveur SMTP",
      shown_default="`<instance>/mail`"),
    # -- reminders ------------------------------------------------------------------------
    S("REMINDER_LEASE_SECONDS", "int", 600, "rappels : un envoi réservé n'est repris qu'après ce délai (secondes)"),
    S("REMINDER_RETRY_BASE_SECONDS", "int", 60, "rappels : délai avant la 2e tentative, doublé à chaque tentative"),
    S("REMINDER_RETRY_MAX_SECONDS", "int", 3600, "rappels : délai maximal entre deux tentatives (secondes)"),
    S("REMINDER_MAX_ATTEMPTS", "int", 6, "rappels : tentatives avant l'échec"),
    S("REMINDER_SWEEP_LOCK_SECONDS", "int", 900, "rappels : verrou d'un balayage par département (secondes)"),
    S("REMINDER_CATCH_UP_DAYS", "int", 31, "rappels : une étape plus ancienne n'est plus envoyée (jours)"),
    S("REMINDER_BATCH_SIZE", "int", 1000, "rappels : messages remis en file par balayage"),
)
del S

SETTINGS_BY_KEY = {setting.key: setting for setting in SETTINGS}
SETTINGS_BY_VARIABLE = {setting.variable: setting for setting in SETTINGS}

# Tasks whose results are read (tests, operators' ``celery call``): they keep storing them.
TASKS_WITH_RESULTS = ("asll.ping", "asll.reminders.sweep_all", "asll.reminders.sweep_tenant")

_TRUE = {"1", "true", "yes", "on", "oui"}
_FALSE = {"0", "false", "no", "off", "non", ""}


# -- parsing ------------------------------------------------------------------------------
def _shown(setting: Setting, raw: str) -> str:
    return "valeur masquée" if setting.secret else f"« {raw} »"


def parse(setting: Setting, raw: str) -> Any:
    """The typed value of an environment string, or a French error naming the variable."""
    kind, name = setting.type, setting.variable
    text = raw.strip()
    try:
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
    except ValueError:
        noun = "un nombre entier" if kind == "int" else "un nombre"
        raise ConfigurationError(f"{name} doit être {noun} (reçu : {_shown(setting, raw)}).") from None
    if kind == "bool":
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ConfigurationError(f"{name} doit valoir 1 ou 0 (reçu : {_shown(setting, raw)}).")
    if kind == "choice":
        wanted = {choice.lower(): choice for choice in setting.choices}
        if text.lower() not in wanted:
            raise ConfigurationError(f"{name} doit valoir {', '.join(setting.choices)} (reçu : « {text} »).")
        return wanted[text.lower()]
    if kind == "json":
        try:
            value = json.loads(text or "{}")
        except ValueError:
            value = None
        if not isinstance(value, dict):
            raise ConfigurationError(f"{name} doit être un objet JSON, p. ex. {{\"master_name\": \"asll\"}} "
                                     f"(reçu : {_shown(setting, raw)}).")
        return value
    if kind == "list":
        return tuple(part for part in text.replace(",", " ").split() if part)
    if kind == "path":
        return str(Path(text).expanduser().resolve())
    return raw if setting.secret else text


def unknown_variables(environ: Mapping[str, str]) -> list[tuple[str, str | None]]:
    """``ASLL_*`` variables no setting reads, each with the closest known name (a typo, most often)."""
    known = [name for name in SETTINGS_BY_VARIABLE if name.startswith("ASLL_")]
    found = []
    for name in sorted(environ):
        if name.startswith("ASLL_") and name not in SETTINGS_BY_VARIABLE and name not in NOT_SETTINGS:
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
            found.append((name, close[0] if close else None))
    return found


def _warn_unknown(environ: Mapping[str, str]) -> None:
    for name, suggestion in unknown_variables(environ):
        hint = f" ; vouliez-vous dire {suggestion} ?" if suggestion else ""
        log.warning("Variable d'environnement inconnue, ignorée : %s%s", name, hint)


# -- generated keys (outside production) ------------------------------------------------------
def _generated_key(instance: Path, name: str) -> str:
    """A random key kept in ``instance/<name>`` (0600), created once even when processes start together."""
    key_file = instance / name
    if not key_file.exists():
        # Written whole under a temporary name, then linked: a process starting at the same
        # time finds either no file or the complete key, and only one key is ever kept.
        draft = instance / f".{name}.{os.getpid()}.{secrets.token_hex(4)}"
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(32))
        try:
            os.link(draft, key_file)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return key_file.read_text().strip()


def _normalise_db_url(url: str) -> str:
    # psycopg 3 is the driver we ship; accept the common "postgres://" spellings.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


# -- loading ------------------------------------------------------------------------------
def read_settings(environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None) -> dict:
    """Every setting of the table: an override, else the environment variable, else the default."""
    environ = os.environ if environ is None else environ
    overrides = overrides or {}
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        if setting.key in overrides:
            values[setting.key] = overrides[setting.key]
        elif (environ.get(setting.variable) or "").strip():  # an empty variable means the default
            values[setting.key] = parse(setting, environ[setting.variable])
        else:
            default = setting.default
            values[setting.key] = default(values) if callable(default) else default
    return values


def _engine_options(values: Mapping[str, Any]) -> dict:
    options: dict[str, Any] = {"pool_pre_ping": True}
    if values["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        options.update(pool_size=values["DATABASE_POOL_SIZE"], max_overflow=values["DATABASE_MAX_OVERFLOW"],
                       pool_recycle=values["DATABASE_POOL_RECYCLE"])
        connect_args: dict[str, Any] = {"connect_timeout": values["DATABASE_CONNECT_TIMEOUT"]}
        if values["DATABASE_PGBOUNCER"]:
            # pgbouncer in transaction mode hands each transaction to any server connection: a
            # statement psycopg prepared on one is unknown on the next. Row security is per
            # transaction (set_config(..., true)), so nothing else outlives a transaction.
            connect_args["prepare_threshold"] = None
        options["connect_args"] = connect_args
    return options


def _celery(values: Mapping[str, Any]) -> dict:
    broker_url = values["CELERY_BROKER_URL"]
    visibility_timeout = float(values["BROKER_VISIBILITY_TIMEOUT"])
    broker_timeout = float(values["BROKER_TIMEOUT"])
    redis_like = broker_url.startswith(("redis://", "rediss://", "sentinel://", "sentinels://"))
    # Redis's options (the SQLAlchemy transport would hand them to create_engine, which refuses them).
    transport_options = {
        # Redis gives an unacknowledged message back after this; longer than every countdown a
        # task uses (reminder retries: 300 s) and than the export lease, so that a redelivery
        # finds a dead run's lease expired (a live run's redelivered message does nothing).
        "visibility_timeout": visibility_timeout,
        "socket_connect_timeout": broker_timeout,
        # Look for messages to give back every tenth of the timeout (at most every 10 s).
        "unacked_restore_interval": max(1, min(10, int(visibility_timeout // 10))),
        "unacked_restore_throttle": 1,
    } if redis_like else {}
    transport_options.update(values["CELERY_BROKER_TRANSPORT_OPTIONS"])
    result_options = {"retry_policy": {"max_retries": 2, "interval_start": 0, "interval_step": 0.5,
                                       "interval_max": 0.5}}
    result_options.update(values["CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS"])
    return {
        "broker_url": broker_url,
        "result_backend": values["CELERY_RESULT_BACKEND"],
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_always_eager": values["CELERY_TASK_ALWAYS_EAGER"],
        # Nobody reads the results of most tasks (an export's result is its job row): not stored.
        "task_ignore_result": values["CELERY_TASK_IGNORE_RESULT"],
        "task_annotations": {name: {"ignore_result": False} for name in TASKS_WITH_RESULTS},
        "broker_connection_retry_on_startup": True,
        # Connecting to the broker to send a task gives up after this: a request that enqueues
        # answers a French 503 within seconds when the broker is down, instead of hanging.
        "broker_connection_timeout": broker_timeout,
        "broker_transport_options": transport_options,
        # One quick retry, not Celery's default of three, each bounded by the timeout above.
        "task_publish_retry_policy": {"max_retries": 1, "interval_start": 0, "interval_step": 0.5,
                                      "interval_max": 0.5},
        "redis_socket_connect_timeout": broker_timeout,
        "result_backend_transport_options": result_options,
        "timezone": "Europe/Paris",
        "beat_schedule_filename": str(_instance(values) / "celerybeat-schedule"),
        "worker_hijack_root_logger": values["LOG_FORMAT"] != "json",
    }


def load_config(overrides: dict | None = None, environ: Mapping[str, str] | None = None) -> dict:
    """The Flask config: the table's settings, then what derives from them, then ``overrides``."""
    environ = os.environ if environ is None else environ
    overrides = dict(overrides or {})
    celery_overrides = overrides.pop("CELERY", None)
    _warn_unknown(environ)
    values = read_settings(environ, overrides)
    instance = Path(values["INSTANCE_PATH"]).expanduser().resolve()
    values["INSTANCE_PATH"] = str(instance)
    instance.mkdir(parents=True, exist_ok=True)
    production = values["ASLL_ENV"] == PRODUCTION
    values["SQLALCHEMY_DATABASE_URI"] = _normalise_db_url(values["SQLALCHEMY_DATABASE_URI"])
    # Generated keys are for one machine: production takes them from the environment only, so
    # that every host signs sessions and audit entries alike (refused at start-up otherwise).
    if not values["SECRET_KEY"] and not production:
        values["SECRET_KEY"] = _generated_key(instance, "secret_key")
    values["AUDIT_KEY"] = (values["AUDIT_KEY"] or "").strip()
    if not values["AUDIT_KEY"] and not production:
        values["AUDIT_KEY"] = _generated_key(instance, "audit_key")
    if values["AUDIT_KEY"] and len(values["AUDIT_KEY"]) < AUDIT_KEY_MIN_LENGTH:
        raise ValueError(f"ASLL_AUDIT_KEY doit compter au moins {AUDIT_KEY_MIN_LENGTH} caractères.")
    if not production:
        values["HSTS_SECONDS"] = 0
    session_seconds = int(float(values["SESSION_LIFETIME_HOURS"]) * 3600)
    config = {
        **values,
        "SQLALCHEMY_ENGINE_OPTIONS": _engine_options(values),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": values["SECURE_COOKIES"],
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SECURE": values["SECURE_COOKIES"],
        # Sessions live server-side (services/sessions.py): they end at logout, on a password
        # change or a suspension, after SESSION_IDLE_MINUTES without a request, and in any case
        # SESSION_LIFETIME_HOURS after login (OWASP ASVS 4.0 3.3.2, level 2). The cookie is not
        # re-sent on every response.
        "PERMANENT_SESSION_LIFETIME": session_seconds,
        "SESSION_REFRESH_EACH_REQUEST": False,
        "WTF_CSRF_TIME_LIMIT": session_seconds,
        # Rate limits (Flask-Limiter, rate_limits.py): several windows make the wait grow with the
        # failures instead of locking the account for good.
        "RATELIMIT_STRATEGY": "moving-window",
        "RATELIMIT_KEY_PREFIX": "asll",
        "RATELIMIT_HEADERS_ENABLED": False,
        "RATELIMIT_FAIL_ON_FIRST_BREACH": False,  # the 429 says the longest of the waits
        # Redis down: each process counts in memory meanwhile, rather than refusing every login.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "MAX_CONTENT_LENGTH": 20 * 1024 * 1024,
        "BABEL_DEFAULT_LOCALE": "fr",
        "BABEL_DEFAULT_TIMEZONE": "Europe/Paris",
        "CELERY": _celery(values),
    }
    config.update(overrides)
    if celery_overrides:
        config["CELERY"] = {**config["CELERY"], **celery_overrides}
    return config


# -- production ---------------------------------------------------------------------------
def production_problems(config: Mapping[str, Any]) -> list[str]:
    """Why this configuration cannot serve several hosts in production (French, naming each variable)."""
    problems = []
    if str(config.get("SQLALCHEMY_DATABASE_URI", "")).startswith("sqlite"):
        problems.append("DATABASE_URL : la base SQLite embarquée ne sert qu'une machine ; indiquez une base "
                        "PostgreSQL (postgresql://…)")
    if not config.get("SECRET_KEY"):
        problems.append("SECRET_KEY manquante : donnez la même clé secrète à tous les processus web (aucune clé "
                        "n'est générée en production)")
    if not config.get("SMTP_HOST"):
        problems.append("SMTP_HOST manquant : sans serveur SMTP, les courriels sont écrits dans un dossier et ne "
                        "partent pas")
    if not config.get("AUDIT_KEY"):
        problems.append(f"ASLL_AUDIT_KEY manquante : donnez la clé du journal d'audit ({AUDIT_KEY_MIN_LENGTH} "
                        "caractères au moins) à tous les processus (aucune clé n'est générée en production)")
    backend = config.get("STORAGE_BACKEND", "filesystem")
    if backend == "filesystem" and not config.get("STORAGE_PATH_SHARED"):
        problems.append("ASLL_STORAGE_BACKEND=filesystem : les fichiers resteraient sur le disque d'une seule "
                        "machine ; choisissez ASLL_STORAGE_BACKEND=s3, ou déclarez un dossier partagé par toutes "
                        "les machines (montage NFS) avec ASLL_STORAGE_PATH_SHARED=1")
    if backend == "s3" and not config.get("S3_BUCKET"):
        problems.append("ASLL_S3_BUCKET manquant : le stockage s3 demande un bucket")
    return problems


def check_production(config: Mapping[str, Any]) -> None:
    """Refuse to start in production on a setting only one host can use (French, naming the setting)."""
    if config.get("ASLL_ENV") != PRODUCTION:
        return
    problems = production_problems(config)
    if problems:
        raise ConfigurationError("Démarrage refusé en production (ASLL_ENV=production) : " + " ; ".join(problems)
                                 + ". Voir docs/deploiement.md (sur un poste de développement : "
                                   "ASLL_ENV=development).")


# -- the documentation --------------------------------------------------------------------
def _default_text(setting: Setting) -> str:
    if setting.shown_default:
        return setting.shown_default
    default = setting.default
    if isinstance(default, bool):
        return "`1`" if default else "`0`"
    if default in ("", None, ()):
        return "(vide)"
    if isinstance(default, float) and default.is_integer():
        default = int(default)
    return f"`{default}`"


_TYPES = {"str": "texte", "int": "entier", "float": "nombre", "bool": "booléen", "choice": "choix",
          "json": "JSON", "list": "liste", "path": "chemin"}


def settings_markdown() -> str:
    """The README's settings table, generated from :data:`SETTINGS`."""
    lines = ["| variable | type | défaut | description |", "|---|---|---|---|"]
    for setting in SETTINGS:
        kind = _TYPES[setting.type] + (" (secret)" if setting.secret else "")
        if setting.choices:
            kind += " : " + ", ".join(f"`{choice}`" for choice in setting.choices)
        description = setting.description.replace("|", "\\|")
        lines.append(f"| `{setting.variable}` | {kind} | {_default_text(setting)} | {description} |")
    return "\n".join(lines) + "\n"


def _masked(value) -> str:
    """A URL with its password hidden (its host is worth seeing), anything else hidden whole."""
    if isinstance(value, str) and "://" in value and ";" not in value:
        try:
            import sqlalchemy as sa

            return sa.engine.make_url(value).render_as_string(hide_password=True)
        except Exception:  # not a URL after all
            pass
    return "********"


def describe(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Each variable and its value in ``config``, secrets masked (for ``flask asll settings``)."""
    rows = []
    for setting in SETTINGS:
        value = config.get(setting.key)
        if setting.secret and value:
            shown = _masked(value)
        elif isinstance(value, tuple | list):
            shown = ", ".join(map(str, value))
        elif isinstance(value, dict):
            shown = json.dumps(value)
        else:
            shown = str(value)
        rows.append((setting.variable, shown))
    return rows


def settings_command():
    """``flask asll settings [--markdown]`` (joined to the ``asll`` group by create_app)."""
    import click
    from flask.cli import ScriptInfo

    @click.command("settings", help="Réglages de la plateforme (valeurs actuelles, secrets masqués).")
    @click.option("--markdown", is_flag=True, help="La table du README (variables, types, défauts).")
    def settings(markdown: bool) -> None:
        if markdown:
            click.echo(settings_markdown(), nl=False)
            return
        app = click.get_current_context().ensure_object(ScriptInfo).load_app()
        for variable, shown in describe(app.config):
            click.echo(f"{variable}={shown}")

    return settings


def main(argv: list[str] | None = None) -> int:
    """``python -m asll.config --markdown``: the table, with no app and no environment needed."""
    argv = sys.argv[1:] if argv is None else argv
    if argv != ["--markdown"]:
        print("usage : python -m asll.config --markdown", file=sys.stderr)
        return 2
    sys.stdout.write(settings_markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main())
