"""One Celery app built from the Flask config; every task runs in the app context.

Flask's documented pattern (``examples/celery``): tasks are declared with
``@shared_task(name="asll....")`` in :mod:`asll_tasks` and bound to this app.
"""

from __future__ import annotations

from celery import Celery, Task
from flask import Flask


def celery_init_app(app: Flask) -> Celery:
    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(app.config["CELERY"])
    celery_app.set_default()
    app.extensions["celery"] = celery_app

    import asll_tasks  # noqa: F401  registers the shared tasks and the beat schedule

    asll_tasks.configure(celery_app)
    return celery_app
