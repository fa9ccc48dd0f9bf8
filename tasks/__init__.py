"""Celery tasks of the platform. Every task has an explicit ``name=`` and takes ids, never objects.

``configure`` installs the beat schedule; it is called by :func:`asll.celery_app.celery_init_app`.
"""

from __future__ import annotations

from asll_tasks import audit, exports, maintenance, reminders, retention  # noqa: F401  (registers tasks)
from asll_tasks.schedule import BEAT_SCHEDULE


def configure(celery_app) -> None:
    celery_app.conf.beat_schedule = dict(BEAT_SCHEDULE)
