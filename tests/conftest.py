"""Shared fixtures: a fresh database built by the migrations, the app, and two tenants.

The database is SQLite in a temporary folder, or, when ``ASLL_TEST_DATABASE_URL`` names a
PostgreSQL server, a database created for this run and dropped at the end. Each test
starts from empty tables (rows are deleted after every test), so tests that start a
real worker process see committed data like production does.

On PostgreSQL the suite runs as production should: ``ASLL_TEST_DATABASE_URL`` is only the
administrator's URL, used to create two login roles (once per server, kept: other runs
may be using them) and the run's database. The migrations run as ``asll_test_owner``, the
database's owner (also granted ``asll_maintenance``: it empties the tables between tests);
the app and every worker process connect as ``asll_test_app``, granted ``asll_app`` only,
so row-level security and the audit trail's append-only rule hold for every test. Tests
marked ``postgresql`` are collected only then.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
import time_machine

from asll.extensions import db


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


TEST_OWNER_ROLE = "asll_test_owner"
TEST_APP_ROLE = "asll_test_app"
TEST_ROLE_PASSWORD = "asll-test"


def on_postgresql() -> bool:
    return os.environ.get("ASLL_TEST_DATABASE_URL", "").startswith("postgresql")


def pytest_configure(config):
    config.addinivalue_line("markers", "postgresql: needs PostgreSQL (ASLL_TEST_DATABASE_URL); not collected on SQLite")


def pytest_collection_modifyitems(config, items):
    """PostgreSQL-only tests (roles, row-level security) are not collected on SQLite (never skipped)."""
    if on_postgresql():
        return
    left_out = [item for item in items if item.get_closest_marker("postgresql")]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if not item.get_closest_marker("postgresql")]


def _login_roles_sql() -> str:
    """The two login roles of the test runs and their group roles, made if missing (roles belong to
    the whole server and several runs may do this at once: a duplicate is not an error)."""
    from asll.tenancy import APP_ROLE, MAINTENANCE_ROLE

    return f"""
DO $test_roles$
DECLARE
    wanted text[];
BEGIN
    FOREACH wanted SLICE 1 IN ARRAY ARRAY[['{TEST_OWNER_ROLE}', '{MAINTENANCE_ROLE}'],
                                          ['{TEST_APP_ROLE}', '{APP_ROLE}']] LOOP
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = wanted[1]) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I LOGIN PASSWORD %L', wanted[1], '{TEST_ROLE_PASSWORD}');
            EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
            END;
        END IF;
        IF NOT pg_has_role(wanted[1], wanted[2], 'MEMBER') THEN
            BEGIN
                EXECUTE format('GRANT %I TO %I', wanted[2], wanted[1]);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
            END;
        END IF;
    END LOOP;
END
$test_roles$
"""


@dataclass(frozen=True)
class DatabaseUrls:
    app: str  # what the app and the workers connect with (DATABASE_URL)
    owner: str  # the tables' owner: migrations, and emptying the tables between tests


@pytest.fixture(scope="session")
def database_urls(tmp_path_factory):
    base = os.environ.get("ASLL_TEST_DATABASE_URL")
    if not base:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'asll-test.sqlite'}"
        yield DatabaseUrls(app=url, owner=url)
        return
    from asll.tenancy import create_group_roles_sql

    url = sa.engine.make_url(base)
    name = f"asll_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(create_group_roles_sql()))
        connection.execute(sa.text(_login_roles_sql()))
        connection.execute(sa.text(f'CREATE DATABASE "{name}" OWNER "{TEST_OWNER_ROLE}"'))
    try:
        yield DatabaseUrls(*(url.set(database=name, username=role, password=TEST_ROLE_PASSWORD)
                             .render_as_string(hide_password=False) for role in (TEST_APP_ROLE, TEST_OWNER_ROLE)))
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def database_url(database_urls):
    """The URL the app connects with (on PostgreSQL: the non-owner role ``asll_test_app``)."""
    return database_urls.app


@pytest.fixture(scope="session")
def owner_engine(database_urls):
    """PostgreSQL: an engine connected as the tables' owner (member of asll_maintenance); None on SQLite."""
    if database_urls.owner == database_urls.app:
        yield None
        return
    engine = sa.create_engine(database_urls.owner)
    yield engine
    engine.dispose()


@contextmanager
def _maintenance_connection(app, owner_engine):
    engine = owner_engine
    if engine is None:
        with app.app_context():
            engine = db.engine
    with engine.begin() as connection:
        if owner_engine is not None:
            connection.execute(sa.text("SELECT set_config('app.bypass_rls', 'on', true)"))
        yield connection


@pytest.fixture
def maintenance_db(app, owner_engine):
    """``maintenance_db()``: a transaction as whoever may write the whole database, beyond the app's
    role (PostgreSQL: the owner, as asll_maintenance, row-level security bypassed; SQLite: the file)."""
    return lambda: _maintenance_connection(app, owner_engine)


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
def app(app_env, database_urls):
    from flask_migrate import upgrade

    from asll.app import create_app
    from asll.security import use_cheap_hashing

    use_cheap_hashing()
    if database_urls.owner != database_urls.app:  # PostgreSQL: the owner migrates, the app is another role
        owner_app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_urls.owner,
                                "DATABASE_ROLE_CHECK": "off"})
        with owner_app.app_context():
            upgrade(revision="heads")
            db.session.remove()
            db.engine.dispose()
        application = create_app({"TESTING": True})
    else:
        application = create_app({"TESTING": True})
        with application.app_context():
            upgrade(revision="heads")
    from asll.rate_limits import limiter

    limiter.reset()  # counters a previous run left in Redis
    return application


@pytest.fixture(autouse=True)
def _clean_tables(request):
    """Empty every table after each test that used the app."""
    # As the owner on PostgreSQL (the app's role may not delete audit entries): asked for now,
    # pytest wants fixtures requested before teardown.
    owner_engine = request.getfixturevalue("owner_engine") if "app" in request.fixturenames else None
    yield
    if "app" not in request.fixturenames:
        return
    application = request.getfixturevalue("app")
    from asll.rate_limits import limiter

    limiter.reset()  # rate-limit counters (memory, or Redis with REDIS_URL) start again from zero too
    with application.app_context():
        db.session.rollback()
        db.session.remove()
    if owner_engine is None and on_postgresql():  # the test asked for the app itself, while it ran
        owner_engine = request.getfixturevalue("owner_engine")
    with _maintenance_connection(application, owner_engine) as connection:
        for table in reversed(db.metadata.sorted_tables):
            connection.execute(table.delete())


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
