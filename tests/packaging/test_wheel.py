"""The platform installs from its wheel and runs from there, without the repository (issue 16).

The wheel is built from a copy of the sources, installed with ``--no-deps`` into a fresh venv
outside the repository; that venv gets the dependencies, without network, from a ``.pth``
line naming this venv's site-packages. A path added by a ``.pth`` line is not scanned for
``.pth`` files itself, so the repository's editable install stays out of it: what runs there
is the wheel's code, templates, static files and migrations, or nothing.
"""

from __future__ import annotations

import configparser
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

pytestmark = pytest.mark.packaging

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 300  # seconds, for each command: a hung build fails instead of blocking the suite
SKIPPED = {"__pycache__", ".DS_Store"}
# Build output that is not a warning about the project (setuptools says it on every build).
HARMLESS = ("byte-compiling is disabled",)


def _package_roots(base: Path = ROOT) -> dict[str, Path]:
    """setup.cfg's ``package_dir``: each top-level (or remapped) package and its source folder."""
    config = configparser.ConfigParser()
    config.read(base / "setup.cfg")
    roots = {}
    for line in config["options"]["package_dir"].strip().splitlines():
        key, _, value = (part.strip() for part in line.partition("="))
        folder = base / value
        if key:
            roots[key] = folder
        else:  # "= platform": every package folder found there
            roots.update({p.name: p for p in folder.iterdir() if (p / "__init__.py").exists()})
    return roots


def _source_files(base: Path) -> dict[str, Path]:
    """Every file the packages' folders hold (modules and data), by its path inside the wheel."""
    files = {}
    roots = _package_roots(base)
    for name, folder in roots.items():
        # A remapped subpackage (asll.migrations = migrations) is walked from its own root.
        nested = [other for other in roots.values() if other != folder and folder in other.parents]
        for path in folder.rglob("*"):
            if (not path.is_file() or SKIPPED & set(path.parts) or path.suffix == ".pyc"
                    or any(n in path.parents for n in nested)):
                continue
            files["/".join([*name.split("."), *path.relative_to(folder).parts])] = path
    return files


def _copy_sources(target: Path) -> None:
    """What a clean clone gives the build: setup.cfg's package folders and the project files."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build", "dist")
    for name in ("setup.cfg", "pyproject.toml", "README.md", "MANIFEST.in"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, target / name)
    for folder in sorted(set(_package_roots().values())):
        top = target / folder.relative_to(ROOT)
        if not top.exists():
            shutil.copytree(folder, top, ignore=ignore)


def _applied(scripts: ScriptDirectory, versions: set[str]) -> set[str]:
    """Every revision the ``alembic_version`` rows stand for: their ancestors and dependencies."""
    seen, todo = set(), list(versions)
    while todo:
        script = scripts.get_revision(todo.pop())
        if script.revision in seen:
            continue
        seen.add(script.revision)
        for parents in (script.down_revision, script.dependencies):
            todo.extend([parents] if isinstance(parents, str) else parents or ())
    return seen


def _run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, **kwargs)
    assert result.returncode == 0, f"{' '.join(map(str, command))} → {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The wheel built from a copy of the sources, and the build's output."""
    source = tmp_path_factory.mktemp("source")
    _copy_sources(source)
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out)],
        cwd=source, capture_output=True, text=True, timeout=TIMEOUT,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, (
        "Construction de la roue impossible (sans réseau : setuptools>=70.1 et build doivent être "
        f"installés dans l'environnement de test).\n{output[-4000:]}"
    )
    (wheel,) = out.glob("asll_platform-*.whl")
    return wheel, output, source


@pytest.fixture(scope="module")
def installed(built, tmp_path_factory):
    """A fresh venv outside the repository with the wheel installed and this venv's dependencies."""
    wheel, _, _ = built
    venv = tmp_path_factory.mktemp("venv")
    assert ROOT not in venv.parents
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    _run([sys.executable, "-m", "pip", "--disable-pip-version-check", "--python", str(python),
          "install", "--no-deps", "--no-index", "--quiet", str(wheel)])
    site_packages = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
                              ).stdout.strip())
    (site_packages / "asll-test-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv, python


@pytest.fixture(scope="module")
def run_env(installed, tmp_path_factory):
    """An environment with nothing of the test run in it: a fresh instance folder and SQLite file."""
    venv, _ = installed
    work = tmp_path_factory.mktemp("work")
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("ASLL_", "FLASK_", "CELERY_", "SMTP_", "PYTHON"))
           and key not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "VIRTUAL_ENV", "MAIL_FROM"}}
    env.update(
        PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        ASLL_ENV="development",
        ASLL_INSTANCE_PATH=str(work / "instance"),
        DATABASE_URL=f"sqlite:///{work / 'asll.sqlite'}",
    )
    return work, env


def test_the_build_prints_no_warning(built):
    _, output, _ = built
    warnings = [line for line in output.splitlines()
                if "warning" in line.lower() and not any(harmless in line for harmless in HARMLESS)]
    assert "BuildBackendWarning" not in output
    assert "Package would be ignored" not in output
    assert warnings == []


def test_the_wheel_ships_every_module_template_static_file_and_migration(built):
    wheel, _, source = built
    with zipfile.ZipFile(wheel) as archive:
        names = {name for name in archive.namelist() if ".dist-info/" not in name}
    expected = _source_files(source)  # the sources the wheel was built from (a clean clone's)
    migrations = {name for name, path in expected.items()
                  if "migrations" in path.relative_to(source).parts}
    # The core's Alembic folder (ini, env.py, template, revisions) and each plugin's branch.
    assert {"asll/migrations/alembic.ini", "asll/migrations/env.py", "asll/migrations/script.py.mako"} <= migrations
    for plugin in ("loire", "orne", "moselle"):
        assert any(name.startswith(f"asll_{plugin}/migrations/versions/{plugin}_") for name in migrations)
    assert sorted(migrations - names) == [], "migrations missing from the wheel"
    assert sorted(set(expected) - names) == [], "files missing from the wheel"
    assert sorted(names - set(expected)) == [], "files in the wheel that are not in the sources"


def test_the_installed_wheel_migrates_and_serves_the_login_page_away_from_the_repository(built, installed, run_env):
    _, _, source = built
    venv, python = installed
    work, env = run_env
    _run([str(python), "-m", "flask", "--app", "asll.app:create_app", "db", "upgrade", "heads"], cwd=work, env=env)

    probe = textwrap.dedent("""
        import json, asll, asll.migrations, asll_loire, asll_orne, asll_moselle
        from asll.app import create_app
        from asll.extensions import db, migration_directory, plugin_version_locations

        app = create_app()
        client = app.test_client()
        login = client.get("/connexion")
        css = client.get("/static/asll.css")
        print(json.dumps({
            "files": [m.__file__ for m in (asll, asll.migrations, asll_loire, asll_orne, asll_moselle)],
            "migration_folders": [migration_directory(), *plugin_version_locations()],
            "template_folder": app.jinja_loader.searchpath[0],
            "tables": sorted(db.metadata.tables),
            "login": [login.status_code, login.get_data(as_text=True)],
            "css": [css.status_code, len(css.data)],
        }))
    """)
    report = json.loads(_run([str(python), "-c", probe], cwd=work, env=env).stdout.splitlines()[-1])

    # The wheel's code and files, not the repository's.
    for path in [*report["files"], *report["migration_folders"], report["template_folder"]]:
        assert Path(path).resolve().is_relative_to(venv.resolve()), path
        assert not Path(path).resolve().is_relative_to(ROOT)
    assert len(report["migration_folders"]) == 4  # the core and the three plugins with tables

    # Every head applied: the core's and each plugin's branch, as the sources' revisions say.
    scripts = ScriptDirectory(
        str(source / "migrations"),
        version_locations=[str(source / "migrations" / "versions"),
                           *(str(p) for p in sorted((source / "plugins").glob("*/migrations/versions")))],
    )
    with sqlite3.connect(work / "asll.sqlite") as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        versions = {row[0] for row in connection.execute("SELECT version_num FROM alembic_version")}
    connection.close()
    # A row per head; a plugin's head that a core revision depends on (0011's row-level security
    # on the plugins' tables) is then an ancestor, as far as Alembic is concerned.
    assert versions, "no revision applied"
    assert _applied(scripts, versions) == {script.revision for script in scripts.walk_revisions()}
    assert set(report["tables"]) <= tables
    for plugin in ("loire", "orne", "moselle"):
        assert any(table.startswith(f"{plugin}_") for table in tables), plugin
    assert {"request", "measure", "audit_event", "user_session"} <= tables  # the core's

    status, page = report["login"]
    assert status == 200
    assert "<h1>Connexion</h1>" in page and 'name="email"' in page and 'name="password"' in page
    assert "Mot de passe oublié" in page
    assert report["css"][0] == 200 and report["css"][1] > 0
    # Instance files in the folder given, nowhere near the installed code.
    assert (work / "instance" / "secret_key").exists()
    assert [p for p in venv.rglob("*") if p.name in {"instance", "asll.sqlite"}] == []


def test_the_console_script_is_installed_and_runs(installed, run_env):
    venv, _ = installed
    work, env = run_env
    script = venv / "bin" / "asll"
    assert script.read_text().splitlines()[0] == f"#!{venv / 'bin' / 'python'}"
    result = _run([str(script), "--help"], cwd=work, env=env)
    assert "Plateforme ASLL" in result.stdout
    assert "db" in result.stdout.split()
    commands = _run([str(script), "asll", "--help"], cwd=work, env=env)
    assert "demo-data" in commands.stdout
