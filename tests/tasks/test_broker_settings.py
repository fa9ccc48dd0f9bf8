"""The broker settings that bound how long a dead worker's export waits and how long a request
waits for a broker that is down: set together in config.py, and consistent with each other."""

from __future__ import annotations

from datetime import timedelta

from asll.config import load_config
from asll_tasks.reminders import MAX_RETRY_COUNTDOWN
from asll_tasks.schedule import BEAT_SCHEDULE


def _config(monkeypatch, app_env, **env) -> dict:
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return load_config()


def test_on_redis_a_killed_worker_s_message_comes_back_after_the_lease_and_the_retries(monkeypatch, app_env):
    config = _config(monkeypatch, app_env, REDIS_URL="redis://cache:6379/0")
    celery = config["CELERY"]
    visibility = celery["broker_transport_options"]["visibility_timeout"]
    assert visibility == 600
    # Above the export lease (a redelivery finds a dead run's lease expired) and above the longest
    # countdown a task is sent with (Redis would otherwise hand a waiting retry to a second worker).
    assert visibility > config["EXPORT_LEASE_SECONDS"] and visibility > MAX_RETRY_COUNTDOWN
    assert celery["broker_transport_options"]["unacked_restore_interval"] == 10
    # Sending a task gives up within seconds: one retry, a 2-second connection timeout.
    assert celery["broker_connection_timeout"] == celery["redis_socket_connect_timeout"] == 2
    assert celery["task_publish_retry_policy"]["max_retries"] == 1


def test_the_embedded_transport_gets_no_redis_option(monkeypatch, app_env):
    """kombu's SQLAlchemy transport hands its options to create_engine, which refuses unknown ones."""
    config = _config(monkeypatch, app_env)
    assert config["CELERY"]["broker_url"].startswith("sqla+sqlite:///")
    assert config["CELERY"]["broker_transport_options"] == {}


def test_short_values_for_tests_and_the_minute_sweep(monkeypatch, app_env):
    config = _config(monkeypatch, app_env, REDIS_URL="redis://cache:6379/0", ASLL_BROKER_VISIBILITY_TIMEOUT="8",
                     ASLL_EXPORT_LEASE_SECONDS="3")
    assert config["CELERY"]["broker_transport_options"]["visibility_timeout"] == 8
    assert config["CELERY"]["broker_transport_options"]["unacked_restore_interval"] == 1
    assert config["EXPORT_LEASE_SECONDS"] == 3
    # The sweep that takes lost exports up again runs every minute: a dead worker's export waits
    # at most the lease and a minute, whatever the broker does.
    assert timedelta(seconds=BEAT_SCHEDULE["exports-cleanup"]["schedule"]) <= timedelta(minutes=1)
