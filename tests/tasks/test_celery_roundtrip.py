"""Tasks go through the real broker to a real worker process and back.

Run on the embedded default (kombu's SQLAlchemy transport on SQLite) and, in CI, on Redis
(``REDIS_URL``) with PostgreSQL (``ASLL_TEST_DATABASE_URL``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from celery.exceptions import TimeoutError as CeleryTimeoutError

from tests.tasks.conftest import record_broker

pytestmark = pytest.mark.worker

RESULT_TIMEOUT = 60


def _result(async_result, worker):
    try:
        return async_result.get(timeout=RESULT_TIMEOUT)
    except CeleryTimeoutError:
        pytest.fail(f"no result for task {async_result.id} after {RESULT_TIMEOUT} s "
                    f"(worker alive: {worker.alive})\n{worker.log_tail()}")


def test_broker_is_the_one_the_environment_asks_for(app, app_env, request):
    conf = app.extensions["celery"].conf
    broker_url = conf.broker_url
    record_broker(request.config, broker_url)
    print(f"Celery broker: {broker_url}; result backend: {conf.result_backend}")

    if os.environ.get("CELERY_BROKER_URL"):
        assert broker_url == os.environ["CELERY_BROKER_URL"]
    elif os.environ.get("REDIS_URL"):
        assert broker_url == os.environ["REDIS_URL"]
        assert broker_url.startswith(("redis://", "rediss://"))
    else:
        instance = Path(app_env["ASLL_INSTANCE_PATH"]).resolve()
        assert broker_url == f"sqla+sqlite:///{instance / 'celery-broker.sqlite'}"
        assert conf.result_backend == f"db+sqlite:///{instance / 'celery-results.sqlite'}"
    assert not conf.task_always_eager, "tasks would run in the test process, not in a worker"


def test_ping_runs_in_the_worker_process_for_each_tenant(app, world, celery_worker):
    from asll_tasks.maintenance import ping

    celery_app = app.extensions["celery"]
    assert not celery_app.conf.task_always_eager
    loire_id, orne_id = world.loire.tenant.id, world.orne.tenant.id

    # By name through the app (as the web app and beat do), and through the task object.
    by_name = celery_app.send_task("asll.ping", kwargs={"tenant_id": loire_id})
    by_task = ping.apply_async(kwargs={"tenant_id": orne_id})

    assert _result(by_name, celery_worker) == {"tenant_code": "42", "worker_pid": celery_worker.pid}
    assert _result(by_task, celery_worker) == {"tenant_code": "61", "worker_pid": celery_worker.pid}
    assert celery_worker.pid != os.getpid()


def test_a_killed_worker_can_be_restarted(app, world, celery_worker):
    celery_app = app.extensions["celery"]
    first_pid = celery_worker.pid
    assert _result(celery_app.send_task("asll.ping", kwargs={"tenant_id": world.loire.tenant.id}),
                   celery_worker)["worker_pid"] == first_pid

    assert celery_worker.kill() == -9
    assert not celery_worker.alive

    celery_worker.restart()
    assert celery_worker.alive and celery_worker.pid != first_pid
    assert _result(celery_app.send_task("asll.ping", kwargs={"tenant_id": world.orne.tenant.id}),
                   celery_worker) == {"tenant_code": "61", "worker_pid": celery_worker.pid}

    assert celery_worker.stop() == 0
    assert not celery_worker.alive
