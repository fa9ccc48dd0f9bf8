"""The beat schedule: periodic tasks fan out one task per tenant."""

BEAT_SCHEDULE: dict = {}
