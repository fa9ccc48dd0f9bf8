"""Flask extensions, created unbound and initialised in :func:`asll.app.create_app`."""

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


@migrate.configure
def _plugin_version_locations(config):
    """Core revisions plus each plugin's branch (plugins/<dept>/migrations/versions).

    Set here, before Alembic builds its script directory: setting it from env.py is too late.
    """
    root = Path(config.get_main_option("script_location"))
    locations = [str(root / "versions")] + [
        str(p) for p in sorted((root.parent / "plugins").glob("*/migrations/versions")) if p.is_dir()
    ]
    config.set_main_option("version_locations", os.pathsep.join(locations))
    return config
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
