"""The settings table: typed values from the environment, unknown variables named, the README in step."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from asll.config import SETTINGS, ConfigurationError, load_config, settings_markdown

README = Path(__file__).resolve().parents[2] / "README.md"


def test_an_unknown_asll_variable_is_named_with_the_closest_setting(monkeypatch, tmp_path, caplog):
    monkeypatch.setenv("ASLL_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("ASLL_EXPORT_LEASE_SECOND", "30")
    monkeypatch.setenv("ASLL_SOMETHING_ELSE", "1")
    with caplog.at_level(logging.WARNING, logger="asll.config"):
        config = load_config()
    messages = [record.getMessage() for record in caplog.records if record.name == "asll.config"]
    assert ("Variable d'environnement inconnue, ignorée : ASLL_EXPORT_LEASE_SECOND ; vouliez-vous dire "
            "ASLL_EXPORT_LEASE_SECONDS ?") in messages
    assert "Variable d'environnement inconnue, ignorée : ASLL_SOMETHING_ELSE" in messages
    assert config["EXPORT_LEASE_SECONDS"] == 120  # the misspelt one changed nothing


def test_values_are_typed_and_a_wrong_one_is_refused_in_french(monkeypatch, tmp_path):
    monkeypatch.setenv("ASLL_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("ASLL_EXPORT_MAX_ATTEMPTS", "5")
    monkeypatch.setenv("ASLL_TOTP_REQUIRED_FOR_ADMINS", "oui")
    monkeypatch.setenv("SMTP_TIMEOUT", "7.5")
    monkeypatch.setenv("ASLL_REMINDER_BATCH_SIZE", "50")
    config = load_config()
    assert (config["EXPORT_MAX_ATTEMPTS"], config["TOTP_REQUIRED_FOR_ADMINS"], config["SMTP_TIMEOUT"],
            config["REMINDER_BATCH_SIZE"]) == (5, True, 7.5, 50)
    monkeypatch.setenv("ASLL_EXPORT_MAX_ATTEMPTS", "trois")
    with pytest.raises(ConfigurationError, match=r"ASLL_EXPORT_MAX_ATTEMPTS doit être un nombre entier \(reçu : « trois »\)"):
        load_config()
    monkeypatch.delenv("ASLL_EXPORT_MAX_ATTEMPTS")
    monkeypatch.setenv("ASLL_S3_ADDRESSING_STYLE", "oblique")
    with pytest.raises(ConfigurationError, match="ASLL_S3_ADDRESSING_STYLE doit valoir path, virtual"):
        load_config()
    monkeypatch.delenv("ASLL_S3_ADDRESSING_STYLE")
    monkeypatch.setenv("ASLL_S3_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("ASLL_CELERY_BROKER_TRANSPORT_OPTIONS", "[1, 2]")
    with pytest.raises(ConfigurationError, match="ASLL_CELERY_BROKER_TRANSPORT_OPTIONS doit être un objet JSON"):
        load_config()


def test_storage_settings_and_their_defaults(monkeypatch, tmp_path):
    monkeypatch.setenv("ASLL_INSTANCE_PATH", str(tmp_path))
    config = load_config()
    assert (config["STORAGE_BACKEND"], config["UPLOAD_PATH"], config["EXPORT_PATH"], config["S3_ADDRESSING_STYLE"],
            config["S3_PRESIGNED_SECONDS"], config["S3_DOWNLOAD"]) == (
        "filesystem", str(tmp_path / "uploads"), str(tmp_path / "exports"), "path", 60, "stream")
    monkeypatch.setenv("ASLL_STORAGE_BACKEND", "S3")
    monkeypatch.setenv("ASLL_S3_ENDPOINT_URL", "https://s3.fr-par.scw.cloud")
    monkeypatch.setenv("ASLL_S3_DOWNLOAD", "redirect")
    config = load_config()
    assert (config["STORAGE_BACKEND"], config["S3_ENDPOINT_URL"], config["S3_DOWNLOAD"]) == (
        "s3", "https://s3.fr-par.scw.cloud", "redirect")


def test_the_default_instance_folder_is_instance_in_the_working_directory(monkeypatch, tmp_path):
    monkeypatch.delenv("ASLL_INSTANCE_PATH", raising=False)
    monkeypatch.chdir(tmp_path)
    assert load_config()["INSTANCE_PATH"] == str(tmp_path.resolve() / "instance")


def test_celery_options_pass_through_and_results_are_kept_only_where_read(app, monkeypatch, app_env):
    monkeypatch.setenv("CELERY_BROKER_URL", "sentinel://s1:26379;sentinel://s2:26379")
    monkeypatch.setenv("ASLL_CELERY_BROKER_TRANSPORT_OPTIONS", '{"master_name": "asll", "visibility_timeout": 900}')
    monkeypatch.setenv("ASLL_CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS", '{"master_name": "asll"}')
    celery = load_config()["CELERY"]
    assert celery["broker_transport_options"]["master_name"] == "asll"
    assert celery["broker_transport_options"]["visibility_timeout"] == 900  # merged over the default (600)
    assert celery["broker_transport_options"]["socket_connect_timeout"] == 2  # the defaults stay
    assert celery["result_backend_transport_options"]["master_name"] == "asll"
    assert celery["result_backend_transport_options"]["retry_policy"]["max_retries"] == 2
    assert celery["task_ignore_result"] is True

    tasks = app.extensions["celery"].tasks
    assert tasks["asll.retention.apply"].ignore_result and tasks["asll.exports.run"].ignore_result
    # Read by the tests and by operators (``celery call``): these keep their results.
    for name in ("asll.ping", "asll.reminders.sweep_all", "asll.reminders.sweep_tenant"):
        assert tasks[name].ignore_result is False, name


def test_engine_options_and_pgbouncer(monkeypatch, tmp_path):
    monkeypatch.setenv("ASLL_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", "postgres://asll_web@db/asll")
    monkeypatch.setenv("ASLL_DATABASE_POOL_SIZE", "20")
    monkeypatch.setenv("ASLL_DATABASE_MAX_OVERFLOW", "0")
    monkeypatch.setenv("ASLL_DATABASE_POOL_RECYCLE", "300")
    config = load_config()
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://asll_web@db/asll"
    options = config["SQLALCHEMY_ENGINE_OPTIONS"]
    assert (options["pool_size"], options["max_overflow"], options["pool_recycle"]) == (20, 0, 300)
    assert "prepare_threshold" not in options["connect_args"]
    monkeypatch.setenv("ASLL_DATABASE_PGBOUNCER", "1")
    assert load_config()["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"]["prepare_threshold"] is None


@pytest.mark.postgresql
def test_with_pgbouncer_set_transactions_run_without_prepared_statements(other_app, world):
    """psycopg prepares a statement run 5 times; pgbouncer (transaction mode) would lose it."""
    from asll.extensions import db
    from asll.models import Household
    from asll.services.actor import Actor
    from asll.services import audit
    from asll.tenancy import tenant_context

    pooled = other_app({"DATABASE_PGBOUNCER": True})
    assert pooled.config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"]["prepare_threshold"] is None
    tenant_id = world.loire.tenant.id
    with pooled.app_context():
        try:
            for _ in range(8):  # each in its own transaction, with row security's set_config
                with tenant_context(tenant_id):
                    db.session.scalars(sa.select(Household).order_by(Household.id)).all()
                    audit.record(Actor.system(tenant_id), "ops.pgbouncer")
                    db.session.commit()
            connection = db.session.connection()
            assert connection.connection.driver_connection.prepare_threshold is None
            assert connection.execute(sa.text("SELECT count(*) FROM pg_prepared_statements")).scalar() == 0
            assert not audit.verify_chain(tenant_id)
        finally:
            db.session.remove()
            db.engine.dispose()


def test_readme_settings_table_is_the_generated_one():
    text = README.read_text(encoding="utf-8")
    match = re.search(r"<!-- settings:start -->\n(.*?)<!-- settings:end -->", text, re.S)
    assert match, "README.md: the markers <!-- settings:start --> / <!-- settings:end --> are missing"
    assert match.group(1).strip() == settings_markdown().strip(), (
        "README.md's settings table differs from asll.config.SETTINGS: paste `python -m asll.config --markdown` "
        "between the markers")
    assert len({setting.variable for setting in SETTINGS}) == len(SETTINGS)
