"""The migrations build the schema from nothing, and agree with the models."""

import os
import uuid

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from asll.extensions import db


def test_models_and_migrations_agree(app):
    """The test database was built by ``flask db upgrade``; autogenerate must find nothing to do."""
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_upgrade_builds_the_schema_on_an_empty_database(app, tmp_path):
    from flask_migrate import upgrade

    from asll.app import create_app

    base = os.environ.get("ASLL_TEST_DATABASE_URL")
    admin = None
    if base:
        url = sa.engine.make_url(base)
        name = f"asll_empty_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        target = url.set(database=name).render_as_string(hide_password=False)
    else:
        target = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    try:
        fresh = create_app({"SQLALCHEMY_DATABASE_URI": target, "TESTING": True})
        with fresh.app_context():
            upgrade(revision="heads")
            tables = set(sa.inspect(db.engine).get_table_names())
            version = db.session.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
            db.session.remove()
            db.engine.dispose()
        assert set(db.metadata.tables) <= tables
        assert version
    finally:
        if admin is not None:
            with admin.connect() as connection:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
