"""The beat schedule: periodic tasks fan out one task per tenant."""

from celery.schedules import crontab

BEAT_SCHEDULE: dict = {
    # Exports, every minute: take up again (or fail) the jobs whose worker died or whose message
    # was lost, once their lease (EXPORT_LEASE_SECONDS) has expired; delete expired files.
    "exports-cleanup": {"task": "asll.exports.cleanup", "schedule": 60.0},
    # Audit trail: every chain's head checkpointed outside the database, every hour (README, audit).
    "audit-checkpoint": {"task": "asll.audit.checkpoint", "schedule": crontab(minute=0)},
    # API idempotency keys older than IDEMPOTENCY_KEY_HOURS (24 h), every hour.
    "idempotency-purge": {"task": "asll.idempotency.purge", "schedule": 3600.0},
    # Reminders: every 15 minutes from 7:00 to 19:45 (Europe/Paris, the Celery timezone). The
    # first run of the day records and sends the day's reminders; later runs only re-send what
    # is not sent yet (a lost broker message, a killed worker, a retry) and create nothing twice.
    "reminders-sweep": {"task": "asll.reminders.sweep_all", "schedule": crontab(minute="*/15", hour="7-19")},
    # RGPD retention, daily at 3:30 (Paris): anonymise the files past their active period (services/rgpd).
    "retention": {"task": "asll.retention.apply", "schedule": crontab(minute=30, hour=3)},
}
