"""Fixtures of the several-hosts test: two web processes, two workers and one beat, each with its
own empty instance folder, sharing PostgreSQL, Redis, an S3-compatible server (moto, over HTTP)
and an SMTP server (aiosmtpd), all in or started by the test process.

Tests marked ``multihost`` are collected only on PostgreSQL with Redis (CI's second phase):
the embedded SQLite and SQLAlchemy-transport files cannot be shared by several hosts.
"""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from tests.conftest import on_postgresql
from tests.multihost.cluster import BeatProcess, Worker, WebProcess, free_port, host_environment, stop_all
from tests.reminders.conftest import RecordingHandler
from tests.tasks.worker_process import purge_broker

MULTIHOST = "multihost"
BUCKET = "asll-multihost"
S3_REGION = "fr-par"
S3_KEY_ID, S3_SECRET = "multihost-key", "multihost-secret"


def _on_redis() -> bool:
    broker = os.environ.get("CELERY_BROKER_URL") or os.environ.get("REDIS_URL", "")
    return broker.startswith(("redis://", "rediss://"))


def pytest_configure(config):
    config.addinivalue_line("markers", f"{MULTIHOST}: starts several web, worker and beat processes sharing "
                                       "PostgreSQL, Redis and S3 (collected with ASLL_TEST_DATABASE_URL and REDIS_URL)")


def pytest_collection_modifyitems(config, items):
    """Without PostgreSQL and Redis the several-hosts tests are deselected at collection, never skipped."""
    if on_postgresql() and _on_redis():
        return
    left_out = [item for item in items if item.get_closest_marker(MULTIHOST)]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if not item.get_closest_marker(MULTIHOST)]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test's report carries the tail of every process's log."""
    outcome = yield
    report = outcome.get_result()
    cluster = getattr(item, "funcargs", {}).get("cluster")
    if report.failed and cluster is not None:
        for process in cluster.processes:
            report.sections.append((f"log of {process.name}", process.log_tail(80)))


@dataclass
class Smtp:
    controller: Controller
    handler: RecordingHandler


@pytest.fixture(scope="module")
def smtp():
    """A real SMTP server in the test process, shared by both workers."""
    handler = RecordingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield Smtp(controller, handler)
    finally:
        handler.release()
        controller.stop()


@dataclass
class S3:
    endpoint_url: str
    bucket: str

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint_url, region_name=S3_REGION,
                            aws_access_key_id=S3_KEY_ID, aws_secret_access_key=S3_SECRET)

    def keys(self) -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=self.bucket)
        return sorted(obj["Key"] for page in pages for obj in page.get("Contents", ()))


@pytest.fixture(scope="module")
def s3():
    """moto in server mode, over HTTP, with the bucket the hosts share (made with boto3)."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        store = S3(endpoint_url=f"http://{host}:{port}", bucket=BUCKET)
        store.client().create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": S3_REGION})
        yield store
    finally:
        server.stop()


@dataclass
class Cluster:
    web_a: WebProcess
    web_b: WebProcess
    workers: tuple[Worker, Worker]
    beat: BeatProcess
    instances: dict[str, Path]  # process name -> its own instance folder
    smtp: Smtp
    s3: S3
    started_at: float = 0.0  # time.monotonic() when every host was ready

    @property
    def processes(self) -> list:
        return [self.web_a, self.web_b, *self.workers, self.beat]


@pytest.fixture(scope="module")
def cluster(app, database_urls, smtp, s3, tmp_path_factory):
    """Five processes configured by environment variables only, each with its own empty instance.

    ``ASLL_AUDIT_KEY`` is the test process's own key, so that the audit entries its fixtures
    write and those the hosts write form one verifiable chain.
    """
    root = tmp_path_factory.mktemp("multihost")
    shared = {
        "ASLL_ENV": "production",
        "DATABASE_URL": database_urls.app,
        "REDIS_URL": os.environ["REDIS_URL"],
        "SECRET_KEY": secrets.token_hex(32),
        "ASLL_AUDIT_KEY": app.config["AUDIT_KEY"],
        "SMTP_HOST": smtp.controller.hostname,
        "SMTP_PORT": str(smtp.controller.port),
        "SMTP_TIMEOUT": "20",
        "ASLL_BASE_URL": "https://asll.test.fr",
        "ASLL_STORAGE_BACKEND": "s3",
        "ASLL_S3_BUCKET": s3.bucket,
        "ASLL_S3_ENDPOINT_URL": s3.endpoint_url,
        "ASLL_S3_REGION": S3_REGION,
        "ASLL_S3_ACCESS_KEY_ID": S3_KEY_ID,
        "ASLL_S3_SECRET_ACCESS_KEY": S3_SECRET,
    }
    logs = root / "logs"
    instances = {name: root / f"instance-{name}" for name in ("web-a", "web-b", "worker-1", "worker-2", "beat")}
    for folder in instances.values():
        folder.mkdir()

    def env(name: str) -> dict[str, str]:
        return host_environment(shared, instances[name])

    celery_app = app.extensions["celery"]
    built = Cluster(
        web_a=WebProcess(logs, env=env("web-a"), name="web-a"),
        web_b=WebProcess(logs, env=env("web-b"), name="web-b"),
        workers=(Worker(logs, env=env("worker-1"), name="worker-1", celery_app=celery_app),
                 Worker(logs, env=env("worker-2"), name="worker-2", celery_app=celery_app)),
        beat=BeatProcess(logs, env=env("beat")),
        instances=instances, smtp=smtp, s3=s3)
    purge_broker(celery_app)  # nothing an earlier run left in this Redis database reaches these workers
    try:
        for process in built.processes:  # all boot at once ...
            process.launch()
        for process in built.processes:  # ... each within its own deadline
            process.wait_ready()
        built.started_at = time.monotonic()
        yield built
    finally:
        stop_all(built.processes)
