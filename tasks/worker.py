"""Entry point for ``celery -A asll_tasks.worker worker|beat``."""

from asll.app import create_app

flask_app = create_app()
celery_app = flask_app.extensions["celery"]
