"""Revisions of the moselle branch (Alembic reads the files; this makes the folder a package)."""
