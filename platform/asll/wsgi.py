"""WSGI entry point for waitress or gunicorn: ``asll.wsgi:app``."""

from asll.app import create_app

app = create_app()
