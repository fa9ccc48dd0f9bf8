"""Request ids and structured logs.

Every web request gets an id: the caller's ``X-Request-ID`` when it is sane (a proxy or a load
balancer set it), else a new one; it is echoed in the response header, given to each log
record (``request_id``), stored on the audit entries the request writes, and passed to the
Celery tasks the request sends (message header ``asll_request_id``), whose log lines and audit
entries then carry it too.

``ASLL_LOG_FORMAT=json`` writes one JSON object per line on stderr (python-json-logger) for
the web, the worker and beat; ``text`` leaves logging as it was (Flask's and Celery's).
"""

from __future__ import annotations

import logging
import re
import sys
import uuid
from contextvars import ContextVar

from flask import Flask, g, request

HEADER = "X-Request-ID"
TASK_HEADER = "asll_request_id"
_SANE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@/+=-]{0,127}$")

_request_id: ContextVar[str | None] = ContextVar("asll_request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request (or of the task a request sent) being served, if any."""
    return _request_id.get()


def sane_request_id(value: str | None) -> str | None:
    """A caller's id if it is short printable ASCII (it goes into logs and the audit trail), else None."""
    value = (value or "").strip()
    return value if _SANE.match(value) else None


def new_request_id() -> str:
    return uuid.uuid4().hex


class RequestIdFilter(logging.Filter):
    """Gives every record a ``request_id`` attribute (empty outside a request or a task)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = _request_id.get() or ""
        return True


_JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(process)d"


def json_formatter() -> logging.Formatter:
    from pythonjsonlogger.json import JsonFormatter

    return JsonFormatter(_JSON_FIELDS, rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
                         timestamp=False)


_HANDLER_MARK = "_asll_json_handler"


def json_handler(stream=None) -> logging.Handler:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(json_formatter())
    handler.addFilter(RequestIdFilter())
    setattr(handler, _HANDLER_MARK, True)
    return handler


def configure_logging(app: Flask) -> logging.Handler | None:
    """JSON logs on the root logger when ``LOG_FORMAT=json`` (once per process); the handler, or None."""
    _connect_celery_signals()
    if app.config.get("LOG_FORMAT") != "json":
        return None
    root = logging.getLogger()
    existing = next((h for h in root.handlers if getattr(h, _HANDLER_MARK, False)), None)
    if existing is None:
        existing = json_handler()
        root.addHandler(existing)
    root.setLevel(app.config.get("LOG_LEVEL", "INFO"))
    # Flask's own handler would print the app's records a second time, as text.
    from flask.logging import default_handler

    app.logger.removeHandler(default_handler)
    return existing


# -- web ----------------------------------------------------------------------------------
def init_app(app: Flask) -> None:
    """Request ids on every request; JSON logs if asked."""
    configure_logging(app)
    app.before_request(_start_request)
    app.after_request(_echo_request_id)
    app.teardown_request(_end_request)


def _start_request() -> None:
    request_id = sane_request_id(request.headers.get(HEADER)) or new_request_id()
    g.request_id = request_id
    g.request_id_token = _request_id.set(request_id)


def _echo_request_id(response):
    request_id = g.get("request_id")
    if request_id:
        response.headers[HEADER] = request_id
    return response


def _end_request(_exc=None) -> None:
    token = g.pop("request_id_token", None)
    if token is not None:
        try:
            _request_id.reset(token)
        except ValueError:  # set in another context (a streamed response's generator): just clear
            _request_id.set(None)


# -- Celery -------------------------------------------------------------------------------
_signals_connected = False


def _connect_celery_signals() -> None:
    """The request id travels in the task message's headers and is the task's id while it runs."""
    global _signals_connected
    if _signals_connected:
        return
    from celery import signals

    signals.before_task_publish.connect(_add_header, weak=False)
    signals.task_prerun.connect(_task_started, weak=False)
    signals.task_postrun.connect(_task_ended, weak=False)
    signals.after_setup_logger.connect(_celery_logger, weak=False)
    signals.after_setup_task_logger.connect(_celery_logger, weak=False)
    _signals_connected = True


def _add_header(headers=None, **_kwargs) -> None:
    request_id = _request_id.get()
    if request_id and headers is not None:
        headers.setdefault(TASK_HEADER, request_id)


_task_tokens: dict[str, object] = {}


def _task_started(task_id=None, task=None, **_kwargs) -> None:
    request_id = sane_request_id(getattr(task.request, TASK_HEADER, None)) if task is not None else None
    if request_id is None:
        headers = getattr(task.request, "headers", None) if task is not None else None
        request_id = sane_request_id((headers or {}).get(TASK_HEADER))
    if request_id and task_id:
        _task_tokens[task_id] = _request_id.set(request_id)


def _task_ended(task_id=None, **_kwargs) -> None:
    token = _task_tokens.pop(task_id, None)
    if token is not None:
        try:
            _request_id.reset(token)
        except ValueError:
            _request_id.set(None)


def _celery_logger(logger=None, **_kwargs) -> None:
    """Celery configured its own handlers (text logs): they get the request id too."""
    for handler in getattr(logger, "handlers", ()):
        if not any(isinstance(f, RequestIdFilter) for f in handler.filters):
            handler.addFilter(RequestIdFilter())
