"""Flask extensions, created unbound and initialised in :func:`asll.app.create_app`."""

import importlib.metadata
import importlib.resources
import os
from pathlib import Path

from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from asll.models.base import Base

# Objects returned by a service stay readable after its commit (templates, tasks).
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()


def migration_directory() -> str:
    """The core's Alembic folder: ``migrations/`` in a clone, shipped as the package ``asll.migrations``.

    Found through the package, so that an installed wheel migrates without the repository.
    """
    return str(importlib.resources.files("asll.migrations"))


def plugin_version_locations() -> list[str]:
    """Each installed plugin's own revisions: ``<plugin package>/migrations/versions``.

    Read from the plugins' packages (entry point group ``asll.plugins``), never from the
    repository's folders, so that a plugin installed from its own wheel brings its branch
    (as Indico finds a plugin's ``alembic_versions_path``).
    """
    locations = []
    for entry_point in sorted(importlib.metadata.entry_points(group="asll.plugins"), key=lambda ep: ep.name):
        package = entry_point.module.split(".")[0]
        try:
            versions = importlib.resources.files(package) / "migrations" / "versions"
        except ModuleNotFoundError:
            continue
        if versions.is_dir():
            locations.append(str(versions))
    return locations


@migrate.configure
def _plugin_version_locations(config):
    """Core revisions plus each plugin's branch.

    Set here, before Alembic builds its script directory: setting it from env.py is too late.
    """
    root = Path(config.get_main_option("script_location"))
    locations = [str(root / "versions"), *plugin_version_locations()]
    config.set_main_option("version_locations", os.pathsep.join(locations))
    return config


login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
