"""Where export files live: ``<EXPORT_PATH>/<tenant>/<claim token>.<ext>``, one name per run."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from pathlib import Path

from flask import current_app

from asll.services.errors import NotFound


CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


_STORAGE_KEY = re.compile(r"^(\d+)/([0-9a-f]{32})\.(csv|xlsx|pdf)$")


# -- storage ----------------------------------------------------------------------------
def export_root() -> Path:
    return Path(current_app.config["EXPORT_PATH"]).resolve()


def _storage_path(tenant_id: int, key: str) -> Path:
    match = _STORAGE_KEY.match(key or "")
    if match is None or int(match.group(1)) != tenant_id:
        raise NotFound("Le fichier de cet export est introuvable.", "fichier_absent")
    return export_root() / match.group(1) / f"{match.group(2)}.{match.group(3)}"


def _run_storage(tenant_id: int, token: str, fmt: str) -> tuple[str, Path]:
    """Where a run writes its file: named after the run's claim token, so whoever takes the job
    over (or the sweep) knows which partial file to delete; a job ends with one file at most."""
    key = f"{tenant_id}/{token}.{fmt}"
    path = _storage_path(tenant_id, key)
    path.parent.mkdir(parents=True, exist_ok=True)
    for folder in (export_root(), path.parent):  # personal data: 0700 folders, 0600 files (as the uploads)
        folder.chmod(0o700)
    path.touch(mode=0o600)  # created private; the writers reopen it, which keeps its mode
    return key, path


def _delete_run_files(tenant_id: int, token: str) -> None:
    """Delete what the run ``token`` may have left (a partial file of personal data)."""
    if not token:
        return
    for fmt in CONTENT_TYPES:
        _storage_path(tenant_id, f"{tenant_id}/{token}.{fmt}").unlink(missing_ok=True)


def _file_entry(key: str, path: Path, filename: str) -> dict:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(chunk)
    return {"key": key, "filename": filename, "size": path.stat().st_size, "sha256": digest.hexdigest()}


def retention() -> timedelta:
    return timedelta(hours=current_app.config["EXPORT_RETENTION_HOURS"])  # config.py: ASLL_EXPORT_RETENTION_HOURS
