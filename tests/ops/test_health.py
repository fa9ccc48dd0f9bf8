"""``/healthz`` and ``/readyz``: machine answers for load balancers, naming the service that fails."""

from __future__ import annotations

import importlib.util
import socket

import pytest

MISSING_SQLITE_DIR = "sqlite:////nonexistent-asll-folder/asll.sqlite"


def _closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_healthz_says_the_process_is_alive_without_a_session(app, client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"


def test_readyz_is_200_when_every_service_answers(app, client):
    response = client.get("/readyz")
    body = response.get_json()
    assert response.status_code == 200, body
    expected = {"database": "ok", "broker": "ok"}
    if importlib.util.find_spec("asll.storage") is not None:
        expected["storage"] = "ok"
    assert body == {"status": "ok", "checks": expected}
    assert "Set-Cookie" not in response.headers


def test_probes_answer_a_logged_in_browser_without_touching_its_session(app, client, world):
    from asll.models import Role
    from tests.conftest import login

    login(client, world.loire.users[Role.DEPT_ADMIN].email, world.password)
    for _ in range(50):  # no rate limit either
        response = client.get("/healthz")
        assert response.status_code == 200 and "Set-Cookie" not in response.headers
    assert client.get("/readyz").status_code == 200


@pytest.mark.parametrize("url", [MISSING_SQLITE_DIR, "postgresql+psycopg://asll@127.0.0.1:{port}/asll"],
                         ids=["sqlite-missing-folder", "postgresql-closed-port"])
def test_readyz_names_the_database_when_it_is_unreachable(other_app, url):
    down = other_app({"SQLALCHEMY_DATABASE_URI": url.format(port=_closed_port()), "DATABASE_ROLE_CHECK": "off"})
    response = down.test_client().get("/readyz")
    body = response.get_json()
    assert response.status_code == 503
    assert body["status"] == "fail"
    assert body["checks"]["database"].startswith("fail: ")
    assert body["checks"]["broker"] == "ok"
    assert "asll" not in body["checks"]["database"]  # no address, no user name in the answer


def test_readyz_names_the_broker_when_it_is_unreachable(other_app):
    down = other_app({"CELERY": {"broker_url": f"redis://127.0.0.1:{_closed_port()}/0",
                                 "broker_transport_options": {"socket_connect_timeout": 1}}})
    response = down.test_client().get("/readyz")
    body = response.get_json()
    assert response.status_code == 503
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"].startswith("fail: ")


def test_readyz_names_the_storage_when_the_bucket_is_unreachable(other_app):
    down = other_app({"STORAGE_BACKEND": "s3", "S3_BUCKET": "asll", "S3_ENDPOINT_URL": f"http://127.0.0.1:{_closed_port()}",
                      "S3_REGION": "fr-par", "S3_ACCESS_KEY_ID": "cle", "S3_SECRET_ACCESS_KEY": "secret"})
    response = down.test_client().get("/readyz")
    body = response.get_json()
    assert response.status_code == 503
    assert body["checks"]["storage"].startswith("fail: ")
    assert body["checks"]["database"] == body["checks"]["broker"] == "ok"
