"""Where export files live: the storage area ``exports`` (:mod:`asll.storage`), key
``<tenant>/<claim token>.<ext>``, one name per run.

A run writes into a local scratch file, then puts it in the storage whole: the file a
download reads is complete, and a worker on one host serves a web process on another.
"""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from pathlib import Path

from flask import current_app

from asll.services.errors import NotFound
from asll.storage import StoredFile, current_storage, existing_file

AREA = "exports"

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


_STORAGE_KEY = re.compile(r"^(\d+)/([0-9a-f]{32})\.(csv|xlsx|pdf)$")


# -- storage ----------------------------------------------------------------------------
def export_root() -> Path:
    """The local folder of the ``filesystem`` storage (tests and the embedded default)."""
    return Path(current_app.config["EXPORT_PATH"]).resolve()


def _checked_key(tenant_id: int, key: str) -> str:
    match = _STORAGE_KEY.match(key or "")
    if match is None or int(match.group(1)) != tenant_id:
        raise NotFound("Le fichier de cet export est introuvable.", "fichier_absent")
    return key


def stored_file(tenant_id: int, key: str, filename: str, fmt: str) -> StoredFile:
    """The stored file of a finished export, or NotFound if the storage has none."""
    return existing_file(AREA, _checked_key(tenant_id, key), filename, CONTENT_TYPES[fmt],
                         "Le fichier de cet export est introuvable.")


def delete_stored(tenant_id: int, key: str) -> None:
    """Delete one export file (idempotent); a key that is not the tenant's is ignored."""
    try:
        current_storage().delete(AREA, _checked_key(tenant_id, key))
    except NotFound:
        pass


def _run_storage(tenant_id: int, token: str, fmt: str) -> tuple[str, Path]:
    """Where a run writes its file: a private scratch file, and the key it is stored under,
    named after the run's claim token, so that whoever takes the job over (or the sweep)
    knows which partial file to delete; a job ends with one file at most."""
    key = _checked_key(tenant_id, f"{tenant_id}/{token}.{fmt}")
    return key, current_storage().scratch(AREA, suffix=f".{fmt}", prefix=f"{token}.")


def _delete_run_files(tenant_id: int, token: str) -> None:
    """Delete what the run ``token`` may have left (a partial file of personal data)."""
    if not token:
        return
    for fmt in CONTENT_TYPES:
        delete_stored(tenant_id, f"{tenant_id}/{token}.{fmt}")
    current_storage().delete_scratch(AREA, f"{token}.")  # the file it was writing, if on this host


def _file_entry(key: str, path: Path, filename: str) -> dict:
    """Digest the finished scratch file, then put it in the storage under ``key`` (which removes it)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(chunk)
    size = path.stat().st_size
    current_storage().put_file(AREA, key, path)
    return {"key": key, "filename": filename, "size": size, "sha256": digest.hexdigest()}


def retention() -> timedelta:
    return timedelta(hours=current_app.config["EXPORT_RETENTION_HOURS"])  # config.py: ASLL_EXPORT_RETENTION_HOURS
