"""Revisions of the loire branch (Alembic reads the files; this makes the folder a package)."""
