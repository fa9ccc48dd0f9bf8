"""Shared fixtures: a fresh database built by the migrations, the app, and two tenants.

The database is SQLite in a temporary folder, or, when ``ASLL_TEST_DATABASE_URL`` names a
PostgreSQL server, a database created for this run and dropped at the end. Each test
starts from empty tables (rows are deleted after every test), so tests that start a
real worker process see committed data like production does.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import uuid
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
import time_machine

from asll.extensions import db
from asll.tenancy import unscoped


PARIS = ZoneInfo("Europe/Paris")


def day(value: str) -> dt.date:
    return dt.date.fromisoformat(value)


class Clock:
    """The fixed clock: time only moves when a test says so."""

    def __init__(self, traveller):
        self._traveller = traveller

    def to(self, value: str, hour: int = 10) -> None:
        self._traveller.move_to(dt.datetime.combine(day(value), dt.time(hour), tzinfo=PARIS))


@pytest.fixture
def clock():
    """A fixed clock at 2 March 2026, 9:00 in Paris (deadlines are tested with it, never with sleeps)."""
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, 0, tzinfo=PARIS), tick=False) as traveller:
        yield Clock(traveller)


@pytest.fixture
def eager(app):
    """Tasks run in the calling process, exceptions propagated (the worker test uses a real worker)."""
    conf = app.extensions["celery"].conf
    saved = conf.task_always_eager, conf.task_eager_propagates
    conf.task_always_eager, conf.task_eager_propagates = True, True
    yield
    conf.task_always_eager, conf.task_eager_propagates = saved


@pytest.fixture
def folders(app, tmp_path):
    """Export files and mails of this test in its own folders."""
    saved = app.config["EXPORT_PATH"], app.config["MAIL_FOLDER"]
    app.config["EXPORT_PATH"], app.config["MAIL_FOLDER"] = str(tmp_path / "exports"), str(tmp_path / "mail")
    yield tmp_path
    app.config["EXPORT_PATH"], app.config["MAIL_FOLDER"] = saved


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    base = os.environ.get("ASLL_TEST_DATABASE_URL")
    if not base:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'asll-test.sqlite'}"
        return
    url = sa.engine.make_url(base)
    name = f"asll_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def instance_path(tmp_path_factory):
    return tmp_path_factory.mktemp("instance")


@pytest.fixture(scope="session")
def app_env(database_url, instance_path):
    """Environment a test app (and any worker process a test starts) is configured from."""
    values = {
        "ASLL_INSTANCE_PATH": str(instance_path),
        "DATABASE_URL": database_url,
        "ASLL_ENV": "test",
        "ASLL_SECURE_COOKIES": "0",
    }
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    yield values
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def app(app_env):
    from flask_migrate import upgrade

    from asll.app import create_app
    from asll.security import use_cheap_hashing

    use_cheap_hashing()
    application = create_app({"TESTING": True})
    with application.app_context():
        upgrade(revision="heads")
    from asll.rate_limits import limiter

    limiter.reset()  # counters a previous run left in Redis
    return application


@pytest.fixture(autouse=True)
def _clean_tables(request):
    """Empty every table after each test that used the app."""
    yield
    if "app" not in request.fixturenames:
        return
    application = request.getfixturevalue("app")
    from asll.rate_limits import limiter

    limiter.reset()  # rate-limit counters (memory, or Redis with REDIS_URL) start again from zero too
    with application.app_context():
        db.session.rollback()
        with unscoped():
            for table in reversed(db.metadata.sorted_tables):
                db.session.execute(table.delete())
            db.session.commit()
        db.session.remove()


@pytest.fixture
def app_ctx(app):
    with app.app_context():
        yield
        db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def world(app):
    """Two départements (Loire and Orne) each with organisations, one user per role and a case.

    Built in its own app context: a test that also drives the test client must not hold
    one, or Flask would share ``g`` across its requests. Service-level tests add ``app_ctx``.
    """
    from tests.factories import build_world

    with app.app_context():
        built = build_world()
        db.session.remove()
    return built


_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_token(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1) or match.group(2)


def login(client, email: str, password: str):
    """Log in through the real form (with its CSRF token)."""
    page = client.get("/connexion")
    return client.post("/connexion", data={"email": email, "password": password,
                                           "csrf_token": csrf_token(page.get_data(as_text=True))})
