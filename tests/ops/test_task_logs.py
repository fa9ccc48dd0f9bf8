"""A task sent during a web request logs, in a real worker, with that request's id (JSON logs)."""

from __future__ import annotations

import json
import os

import pytest

from tests.tasks.worker_process import CeleryWorkerProcess

pytestmark = pytest.mark.worker


def test_the_worker_s_json_log_lines_carry_the_id_of_the_request_that_sent_the_task(app, app_env, world, tmp_path):
    celery_app = app.extensions["celery"]
    worker = CeleryWorkerProcess(tmp_path / "worker", celery_app=celery_app,
                                 env={**os.environ, "ASLL_LOG_FORMAT": "json"})
    try:
        worker.start(purge=True)
        with app.test_request_context(headers={"X-Request-ID": "web-req-314"}):
            app.preprocess_request()  # the request id is set as for a real request
            result = celery_app.send_task("asll.ping", kwargs={"tenant_id": world.loire.tenant.id})
        assert result.get(timeout=60)["worker_pid"] == worker.pid
        worker.wait_for_log(r'"request_id": "web-req-314"', timeout=30)
        lines = [json.loads(line) for line in worker.log_text().splitlines() if line.startswith("{")]
        ours = [line for line in lines if line.get("request_id") == "web-req-314"]
        assert any("succeeded" in line["message"] and "asll.ping" in line["message"] for line in ours), \
            worker.log_tail()
        assert all(line.get("request_id") in ("", "web-req-314") for line in lines)  # no other id leaks in
    finally:
        worker.stop()
