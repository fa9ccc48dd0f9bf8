"""An export requested from the web is produced by a real Celery worker process, which rebuilds
the user's rights itself, and the page follows its progress until the file is there."""

from __future__ import annotations

import csv
import io
import os
import time

import pytest

from asll.models import OrganisationKind, Role
from tests.conftest import csrf_token, login

pytestmark = pytest.mark.worker

DEADLINE_SECONDS = 60


def test_the_worker_produces_the_export_the_page_follows(app, world, client, celery_worker):
    assert not app.extensions["celery"].conf.task_always_eager
    loire = world.loire
    login(client, loire.users[Role.OPERATOR_WORKER].email, world.password)
    html = client.get("/rapports/exports/nouveau").get_data(as_text=True)
    response = client.post("/rapports/exports/nouveau", data={
        "csrf_token": csrf_token(html), "dataset": "measures", "file_format": "csv",
        "columns_measures": ["reference", "last_name", "operator"]})
    assert response.status_code == 302
    status_url = response.headers["Location"] + "/etat"
    deadline = time.monotonic() + DEADLINE_SECONDS
    state = client.get(status_url).get_json()
    while not state["finished"]:
        if time.monotonic() > deadline or not celery_worker.alive:
            pytest.fail(f"export not finished after {DEADLINE_SECONDS} s: {state}\n{celery_worker.log_tail()}")
        time.sleep(0.2)
        state = client.get(status_url).get_json()
    assert state["status"] == "done", state
    assert state["rows"] == 1 and state["done"] == state["total"] == 1
    download = client.get(response.headers["Location"] + "/fichier")
    rows = list(csv.reader(io.StringIO(download.data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:2] == ["Référence de la mesure", "Nom"]
    assert rows[1:] == [[loire.measure.reference, "Martin", loire.orgs[OrganisationKind.OPERATOR].name]]
    # The task ran in the worker process, not in this one.
    assert celery_worker.pid != os.getpid()
    celery_worker.wait_for_log(r"Task asll\.exports\.run\[[0-9a-f-]+\] succeeded")
