"""Production (``ASLL_ENV=production``, the default) refuses to start on what only one host can use."""

from __future__ import annotations

import pytest

from asll.config import ConfigurationError, check_production, load_config
from tests.ops.conftest import SAFE_PRODUCTION_ENV


@pytest.fixture
def production_env(monkeypatch, tmp_path):
    """The environment of a correct production start, in an empty instance folder."""
    for name in ("REDIS_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "ASLL_STORAGE_PATH_SHARED"):
        monkeypatch.delenv(name, raising=False)
    for name, value in SAFE_PRODUCTION_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("ASLL_INSTANCE_PATH", str(tmp_path))
    return monkeypatch


UNSAFE = {
    "SQLite": ({"DATABASE_URL": "sqlite:///asll.sqlite"}, "DATABASE_URL : la base SQLite embarquée ne sert qu'une machine"),
    "no SECRET_KEY": ({"SECRET_KEY": None}, "SECRET_KEY manquante : donnez la même clé secrète à tous les processus web"),
    "file mail backend": ({"SMTP_HOST": None}, "SMTP_HOST manquant : sans serveur SMTP, les courriels sont écrits"),
    "no audit key": ({"ASLL_AUDIT_KEY": None}, "ASLL_AUDIT_KEY manquante : donnez la clé du journal d'audit"),
    "local files": ({"ASLL_STORAGE_BACKEND": "filesystem"},
                    "ASLL_STORAGE_BACKEND=filesystem : les fichiers resteraient sur le disque d'une seule machine"),
    "s3 without bucket": ({"ASLL_S3_BUCKET": None}, "ASLL_S3_BUCKET manquant"),
}


@pytest.mark.parametrize("case", list(UNSAFE))
def test_production_refuses_each_unsafe_setting_naming_it(production_env, tmp_path, case):
    from asll.app import create_app

    changes, message = UNSAFE[case]
    for name, value in changes.items():
        if value is None:
            production_env.delenv(name)
        else:
            production_env.setenv(name, value)
    with pytest.raises(ConfigurationError) as refused:
        create_app()
    text = str(refused.value)
    assert text.startswith("Démarrage refusé en production (ASLL_ENV=production) : ")
    assert message in text
    assert not [other for other, (_, said) in UNSAFE.items() if other != case and said in text]  # only this one
    # Production generates no key: every host must be given the same one.
    assert not (tmp_path / "secret_key").exists() and not (tmp_path / "audit_key").exists()


def test_production_accepts_the_safe_settings_and_a_declared_shared_folder(production_env):
    check_production(load_config())
    production_env.setenv("ASLL_STORAGE_BACKEND", "filesystem")
    production_env.setenv("ASLL_STORAGE_PATH_SHARED", "1")
    check_production(load_config())


def test_production_is_the_default_and_development_starts_with_nothing_set(production_env, tmp_path):
    for name in SAFE_PRODUCTION_ENV:
        production_env.delenv(name)
    with pytest.raises(ConfigurationError, match="SQLite.*SECRET_KEY.*SMTP_HOST.*ASLL_AUDIT_KEY.*filesystem"):
        check_production(load_config())
    production_env.setenv("ASLL_ENV", "development")
    config = load_config()
    check_production(config)
    assert config["SECRET_KEY"] == (tmp_path / "secret_key").read_text()  # generated once, for this machine
    assert config["AUDIT_KEY"] == (tmp_path / "audit_key").read_text()
