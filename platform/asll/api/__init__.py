"""The JSON API under /api/v1 (issue: web interface and API)."""


def init_app(app) -> None:
    """Register the API on the app; called by :func:`asll.app.create_app`."""
