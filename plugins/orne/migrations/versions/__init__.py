"""Revisions of the orne branch (Alembic reads the files; this makes the folder a package)."""
