"""Fixtures for tests that run tasks in a real Celery worker process."""

from __future__ import annotations

import pytest
from kombu.utils.url import maybe_sanitize_url

from tests.tasks.worker_process import CeleryWorkerProcess

_BROKER_KEY = pytest.StashKey[str]()


@pytest.fixture
def celery_worker(app, app_env, tmp_path):
    """A ready Celery worker subprocess (``asll_tasks.worker``, solo pool) for one test.

    Depends on ``app``: the schema exists and ``app_env`` is in ``os.environ`` (the worker's
    environment) before the worker starts. The broker's task queues are purged first so
    messages left by an earlier test or run cannot reach this worker. The worker is stopped
    (SIGTERM, then SIGKILL) when the test ends, whatever happened; its log tail is printed
    at teardown, which pytest shows when the test failed.
    """
    worker = CeleryWorkerProcess(tmp_path / "celery-worker", celery_app=app.extensions["celery"])
    try:
        worker.start(purge=True)
        yield worker
    finally:
        worker.stop()
        if worker.log_path is not None:
            print(worker.log_tail())


def record_broker(config: pytest.Config, broker_url: str) -> None:
    """Remember the broker a test saw, for the line printed in the terminal summary."""
    config.stash[_BROKER_KEY] = maybe_sanitize_url(broker_url)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    broker = config.stash.get(_BROKER_KEY, None)
    if broker is not None:
        terminalreporter.write_line(f"Celery broker used by tests/tasks: {broker}")
