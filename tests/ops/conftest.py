"""Fixtures of the operations tests: apps built with other settings, next to the suite's app."""

from __future__ import annotations

import logging

import pytest

# Everything production needs (refused one by one in test_production_checks.py). The database is
# never reached by those tests: start-up is refused before anything connects.
SAFE_PRODUCTION_ENV = {
    "ASLL_ENV": "production",
    "DATABASE_URL": "postgresql://asll_web@db.invalid/asll",
    "SECRET_KEY": "s" * 64,
    "SMTP_HOST": "smtp.invalid",
    "ASLL_AUDIT_KEY": "a" * 64,
    "ASLL_STORAGE_BACKEND": "s3",
    "ASLL_S3_BUCKET": "asll-fichiers",
}


@pytest.fixture
def other_app(app, app_env):
    """``other_app(config)``: another app on the suite's database with these overrides.

    Building an app makes its Celery app the default one and rebinds the process-wide limiter:
    both are given back to the suite's app afterwards (as tests/exports/test_broker_down.py does).
    """
    from asll.app import create_app
    from asll.rate_limits import limiter

    suite_celery = app.extensions["celery"]
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    asll_logger = logging.getLogger("asll")
    asll_handlers = list(asll_logger.handlers)

    def build(config: dict):
        return create_app({"TESTING": True, **config})

    try:
        yield build
    finally:
        suite_celery.set_current()
        suite_celery.set_default()
        limiter.init_app(app)
        for handler in root.handlers[:]:  # a JSON handler a test installed
            if handler not in handlers:
                root.removeHandler(handler)
        root.setLevel(level)
        for handler in asll_handlers:
            if handler not in asll_logger.handlers:
                asll_logger.addHandler(handler)
