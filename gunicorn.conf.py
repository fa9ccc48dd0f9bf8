"""gunicorn's configuration for the web process: ``gunicorn -c gunicorn.conf.py`` (docs/deploiement.md).

Read from the environment: ``GUNICORN_BIND`` (``0.0.0.0:8000``), ``GUNICORN_WORKERS`` (2 per CPU + 1, at
most 8), ``GUNICORN_THREADS`` (4), ``GUNICORN_TIMEOUT`` (60 s); and two of the platform's settings:
``ASLL_TRUSTED_PROXIES`` (the proxies' ``X-Forwarded-*`` headers are believed only then, by the
app's ProxyFix) and ``ASLL_LOG_FORMAT=json`` (access and error logs as JSON lines, like the app's).
"""

from __future__ import annotations

import os

from asll.config import read_settings

_settings = read_settings()

wsgi_app = "asll.wsgi:app"
bind = [os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")]
workers = int(os.environ.get("GUNICORN_WORKERS") or min(2 * (os.cpu_count() or 1) + 1, 8))
# Threads: a worker waiting on PostgreSQL or streaming a download still serves others; the pool
# (ASLL_DATABASE_POOL_SIZE + MAX_OVERFLOW) must hold at least this many connections per worker.
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
# gunicorn 27's control socket defaults to one path per machine user (~/.gunicorn/gunicorn.ctl):
# two servers on a host would share it. Off unless a path is given.
if os.environ.get("GUNICORN_CONTROL_SOCKET"):
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]
else:
    control_socket_disable = True
keepalive = 5  # behind a reverse proxy that keeps connections open
max_requests, max_requests_jitter = 2000, 200  # a slow leak cannot grow for ever
if os.path.isdir("/dev/shm"):
    worker_tmp_dir = "/dev/shm"  # heartbeat files off a possibly slow disk (containers)

# Who may tell us the scheme and the client's address. The app's ProxyFix counts ASLL_TRUSTED_PROXIES
# hops; with none, gunicorn believes no forwarded header either (a client could forge https).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS") or ("*" if _settings["TRUSTED_PROXIES"] > 0 else "")

accesslog = "-"
errorlog = "-"
loglevel = _settings["LOG_LEVEL"].lower()
if _settings["LOG_FORMAT"] == "json":
    # No user agent nor query string (free text, possibly personal data); the request id ties the
    # line to the app's log lines and audit entries. Values here never contain a double quote.
    access_log_format = ('{"time": "%(t)s", "logger": "gunicorn.access", "remote": "%(h)s", "method": "%(m)s", '
                         '"path": "%(U)s", "status": %(s)s, "bytes": "%(B)s", "duration_ms": %(M)s, '
                         '"request_id": "%({x-request-id}o)s"}')
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {"()": "pythonjsonlogger.json.JsonFormatter",
                     "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(process)d",
                     "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"}},
            "line": {"format": "%(message)s"},
        },
        "handlers": {
            "error_json": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"},
            "access_line": {"class": "logging.StreamHandler", "formatter": "line", "stream": "ext://sys.stdout"},
        },
        "root": {"handlers": [], "level": loglevel.upper()},  # the app adds its JSON handler (logging_setup)
        "loggers": {
            "gunicorn.error": {"handlers": ["error_json"], "level": loglevel.upper(), "propagate": False},
            "gunicorn.access": {"handlers": ["access_line"], "level": "INFO", "propagate": False},
        },
    }
else:
    access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms %({x-request-id}o)s'
