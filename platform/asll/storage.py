"""Where files live: one small interface, a local folder or an S3-compatible object store.

Keys are relative, ``/``-separated names chosen by the platform, never by a user:
``documents/<tenant_id>/<uuid hex>`` (a :class:`Document` row keeps ``<tenant_id>/<hex>``)
and ``exports/<tenant_id>/<run token>.<ext>`` (an export job's file entry keeps
``<tenant_id>/<token>.<ext>``). Services hand out a :class:`Download` (a stream or a
response), never a path, so a file written by a worker on one host is read by the web
on another (Indico's ``indico/core/storage/backend.py`` and its ``storage_s3`` plugin).

- ``filesystem`` (the embedded default): the area ``documents`` in ``UPLOAD_PATH``
  (``<instance>/uploads``, where files always were: existing rows stay readable),
  ``exports`` in ``EXPORT_PATH``; atomic writes (a private temporary file renamed into
  place), 0700 folders and 0600 files, keys escaping their folder refused. Several hosts
  need a shared mount (``STORAGE_PATH_SHARED``) or S3.
- ``s3`` (Scaleway, OVH, Outscale, MinIO): boto3 with bounded timeouts and retries,
  multipart uploads of streams (``upload_fileobj``), downloads streamed through the web
  or redirected to a short-lived presigned URL (``S3_DOWNLOAD``).

Either raises :class:`StorageUnavailable` (a French 503) when the store cannot be reached.
"""

from __future__ import annotations

import glob
import io
import os
import re
import shutil
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote

from flask import Flask, Response, current_app, redirect

from asll.services.errors import ServiceUnavailable

CHUNK_BYTES = 256 * 1024
UNREACHABLE = ("Le stockage des fichiers ne répond pas pour le moment ; rien n'a été enregistré. "
               "Réessayez dans quelques minutes.")
_KEY = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]*(/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$")


class StorageUnavailable(ServiceUnavailable):
    """The store did not answer (bucket unreachable, disk not mounted): nothing was stored."""

    def __init__(self, message: str = UNREACHABLE, code: str = "stockage_indisponible"):
        super().__init__(message, code)


class InvalidKey(ValueError):
    """A key that is not a plain relative name (``..``, a leading ``/``, odd characters)."""


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    modified: datetime  # last modified, aware, UTC


def check_key(key: str) -> str:
    if not isinstance(key, str) or len(key) > 512 or not _KEY.match(key) or \
            any(part in (".", "..") for part in key.split("/")):
        raise InvalidKey(f"clé de stockage refusée : {key!r}"[:200])
    return key


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback and the French name RFC 5987-encoded (as send_file)."""
    try:
        filename.encode("ascii")
        simple = filename
    except UnicodeEncodeError:
        import unicodedata

        simple = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode("ascii")
    simple = simple.replace("\\", "").replace('"', "") or "fichier"
    value = f'attachment; filename="{simple}"'
    if simple != filename:
        value += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return value


def _source(data: bytes | BinaryIO) -> BinaryIO:
    return io.BytesIO(data) if isinstance(data, (bytes, bytearray, memoryview)) else data


AREAS = ("documents", "exports")


class Storage(ABC):
    """What every place that stores files uses. ``area`` is ``documents`` or ``exports``; ``key``
    the name a row keeps (``<tenant>/<hex>``, ``<tenant>/<token>.<ext>``): the object is
    ``<area>/<key>``."""

    @abstractmethod
    def put(self, area: str, key: str, data: bytes | BinaryIO,
            content_type: str = "application/octet-stream") -> None:
        """Store ``data`` (bytes, or a binary stream read to its end) whole, or nothing."""

    @abstractmethod
    def open(self, area: str, key: str) -> BinaryIO:
        """A binary stream of the object (close it); FileNotFoundError if there is none."""

    @abstractmethod
    def delete(self, area: str, key: str) -> None:
        """Delete the object; nothing happens if there is none."""

    @abstractmethod
    def list(self, area: str, prefix: str = "") -> Iterator[StoredObject]:
        """The area's objects whose key starts with ``prefix`` (keys relative to the area)."""

    @abstractmethod
    def exists(self, area: str, key: str) -> bool: ...

    @abstractmethod
    def check(self) -> None:
        """Raise :class:`StorageUnavailable` unless the store can be reached now (``/readyz``)."""

    @abstractmethod
    def _scratch_folder(self, area: str) -> Path: ...

    # -- shared by both backends --------------------------------------------------------
    def put_bytes(self, area: str, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        self.put(area, key, data, content_type)

    def put_file(self, area: str, key: str, path: Path, content_type: str = "application/octet-stream") -> None:
        """Put a finished local file (a scratch file), then remove it."""
        try:
            with open(path, "rb") as handle:
                self.put(area, key, handle, content_type)
        finally:
            Path(path).unlink(missing_ok=True)

    def read(self, area: str, key: str) -> bytes:
        with self.open(area, key) as stream:
            return stream.read()

    def scratch(self, area: str, suffix: str = "", prefix: str = "run-") -> Path:
        """A new private (0600) local file for a writer that needs a path; put it with :meth:`put_file`."""
        folder = self._scratch_folder(area)
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, name = tempfile.mkstemp(dir=folder, prefix=prefix, suffix=suffix)
        os.close(fd)
        return Path(name)

    def delete_scratch(self, area: str, prefix: str) -> None:
        """Remove this host's scratch files whose name starts with ``prefix`` (a run taken over)."""
        folder = self._scratch_folder(area)
        if folder.is_dir():
            for path in folder.glob(f"{glob.escape(prefix)}*"):
                path.unlink(missing_ok=True)

    def sweep_scratch(self, area: str, older_than: datetime) -> None:
        """Remove this host's scratch files a dead run left (untouched since ``older_than``)."""
        folder = self._scratch_folder(area)
        if not folder.is_dir():
            return
        cutoff = older_than.timestamp()
        for path in folder.iterdir():
            try:
                if path.is_file() and path.stat().st_mtime <= cutoff:
                    path.unlink(missing_ok=True)
            except OSError:
                continue

    def download_response(self, area: str, key: str, *, filename: str, content_type: str) -> Response:
        """The file as an attachment, streamed by this process (the S3 backend may redirect instead)."""
        stream = self.open(area, key)

        def chunks():
            try:
                for chunk in iter(lambda: stream.read(CHUNK_BYTES), b""):
                    yield chunk
            finally:
                stream.close()

        response = Response(chunks(), mimetype=content_type, direct_passthrough=True)
        response.headers["Content-Disposition"] = content_disposition(filename)
        response.headers["Cache-Control"] = "no-store"
        return response


def _area(area: str) -> str:
    if area not in AREAS:
        raise InvalidKey(f"zone de stockage inconnue : {area!r}")
    return area


# -- filesystem -----------------------------------------------------------------------------
class FilesystemStorage(Storage):
    """Local folders: ``documents`` in ``UPLOAD_PATH``, ``exports`` in ``EXPORT_PATH`` (read at each
    call: tests point them elsewhere). Scratch files in ``<area folder>/.tmp``."""

    def __init__(self, app: Flask):
        self.config = app.config
        self.instance_path = app.instance_path

    def _root(self, area: str) -> Path:
        name = {"documents": "UPLOAD_PATH", "exports": "EXPORT_PATH"}[_area(area)]
        folder = self.config.get(name) or os.path.join(self.instance_path, "uploads" if area == "documents"
                                                       else "exports")
        return Path(folder).resolve()

    def _path(self, area: str, key: str) -> Path:
        root = self._root(area)
        path = (root / check_key(key)).resolve()
        if root not in path.parents or ".tmp" in path.relative_to(root).parts:
            raise InvalidKey(f"clé de stockage hors de son dossier : {key!r}"[:200])
        return path

    def _scratch_folder(self, area):
        return self._root(area) / ".tmp"

    def put(self, area, key, data, content_type="application/octet-stream"):
        path = self._path(area, key)
        root = self._root(area)
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            for folder in (root, *[p for p in path.parents if root in p.parents]):
                if folder.stat().st_mode & 0o077:  # personal data: 0700 folders, 0600 files
                    folder.chmod(0o700)
            fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".part-")
            try:
                with os.fdopen(fd, "wb") as handle:
                    shutil.copyfileobj(_source(data), handle, CHUNK_BYTES)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(temporary, path)  # atomic: a reader sees no file or the whole file
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        except OSError as exc:
            current_app.logger.error("Écriture impossible dans le stockage (%s/%s) : %s", area, key, exc)
            raise StorageUnavailable() from exc

    def open(self, area, key):
        return self._path(area, key).open("rb")

    def delete(self, area, key):
        self._path(area, key).unlink(missing_ok=True)

    def exists(self, area, key):
        return self._path(area, key).is_file()

    def list(self, area, prefix=""):
        root = self._root(area)
        if not root.is_dir():
            return
        folder = root
        if "/" in prefix:  # walk only the folder the prefix names
            folder = self._path(area, prefix.rsplit("/", 1)[0]) if prefix.rsplit("/", 1)[0] else root
            if not folder.is_dir():
                return
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(root).as_posix()
            if path.name.startswith(".part-") or relative.startswith(".tmp/") or not relative.startswith(prefix):
                continue
            if path.is_file():
                stat = path.stat()
                yield StoredObject(relative, stat.st_size, datetime.fromtimestamp(stat.st_mtime, UTC))

    def check(self):
        for area in AREAS:
            root = self._root(area)
            try:
                root.mkdir(parents=True, exist_ok=True, mode=0o700)
                fd, probe = tempfile.mkstemp(dir=root, prefix=".part-check-")
                os.close(fd)
                os.unlink(probe)
            except OSError as exc:
                raise StorageUnavailable(f"Le dossier de stockage {root} n'est pas accessible en écriture : "
                                         f"{exc.strerror or exc}.") from exc


# -- S3-compatible ------------------------------------------------------------------------------
class S3Storage(Storage):
    """An S3-compatible bucket through boto3: object ``<S3_PREFIX>/<area>/<key>`` (the prefix read at
    each call: tests isolate by it). Scratch files in ``<instance>/scratch/<area>`` on this host."""

    def __init__(self, app: Flask):
        import boto3
        from botocore.config import Config

        self.config = app.config
        self.instance_path = app.instance_path
        self.bucket = app.config.get("S3_BUCKET") or ""
        if not self.bucket:
            raise RuntimeError("ASLL_S3_BUCKET manquant : le stockage s3 demande un bucket")
        self.client = boto3.session.Session().client(
            "s3",
            endpoint_url=app.config.get("S3_ENDPOINT_URL") or None,
            region_name=app.config.get("S3_REGION") or None,
            aws_access_key_id=app.config.get("S3_ACCESS_KEY_ID") or None,
            aws_secret_access_key=app.config.get("S3_SECRET_ACCESS_KEY") or None,
            config=Config(connect_timeout=3, read_timeout=20, retries={"max_attempts": 3, "mode": "standard"},
                          s3={"addressing_style": app.config.get("S3_ADDRESSING_STYLE") or "path"},
                          signature_version="s3v4"))

    def _base(self) -> str:
        prefix = (self.config.get("S3_PREFIX") or "").strip("/")
        return f"{prefix}/" if prefix else ""

    def _name(self, area: str, key: str) -> str:
        return f"{self._base()}{_area(area)}/{check_key(key)}"

    def _scratch_folder(self, area):
        return Path(self.instance_path) / "scratch" / _area(area)

    @staticmethod
    def _errors():
        from botocore.exceptions import BotoCoreError, ClientError

        return BotoCoreError, ClientError

    @staticmethod
    def _missing(exc) -> bool:
        code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
        return code in ("404", "NoSuchKey", "NotFound")

    def _unreachable(self, exc: Exception, what: str) -> StorageUnavailable:
        current_app.logger.error("Stockage S3 injoignable (%s) : %s", what, exc)
        return StorageUnavailable()

    def put(self, area, key, data, content_type="application/octet-stream"):
        name = self._name(area, key)
        try:  # multipart above 8 MB (aborted by boto3 if it fails): the object appears whole or not at all
            self.client.upload_fileobj(_source(data), self.bucket, name, ExtraArgs={"ContentType": content_type})
        except self._errors() as exc:
            raise self._unreachable(exc, f"put {name}") from exc

    def open(self, area, key):
        name = self._name(area, key)
        try:
            return self.client.get_object(Bucket=self.bucket, Key=name)["Body"]  # a StreamingBody
        except self._errors() as exc:
            if self._missing(exc):
                raise FileNotFoundError(name) from exc
            raise self._unreachable(exc, f"get {name}") from exc

    def delete(self, area, key):
        name = self._name(area, key)
        try:
            self.client.delete_object(Bucket=self.bucket, Key=name)
        except self._errors() as exc:
            if not self._missing(exc):
                raise self._unreachable(exc, f"delete {name}") from exc

    def exists(self, area, key):
        name = self._name(area, key)
        try:
            self.client.head_object(Bucket=self.bucket, Key=name)
            return True
        except self._errors() as exc:
            if self._missing(exc):
                return False
            raise self._unreachable(exc, f"head {name}") from exc

    def list(self, area, prefix=""):
        base = f"{self._base()}{_area(area)}/"
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=base + prefix)
            for page in pages:
                for item in page.get("Contents", ()):
                    modified = item["LastModified"]
                    yield StoredObject(item["Key"][len(base):], int(item["Size"]),
                                       modified if modified.tzinfo else modified.replace(tzinfo=UTC))
        except self._errors() as exc:
            raise self._unreachable(exc, f"list {base}{prefix}") from exc

    def check(self):
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except self._errors() as exc:
            current_app.logger.error("Stockage S3 injoignable : %s", exc)
            raise StorageUnavailable(f"Le bucket « {self.bucket} » n'est pas joignable.") from exc

    def presigned_url(self, area: str, key: str, *, filename: str, content_type: str) -> str:
        return self.client.generate_presigned_url("get_object", Params={
            "Bucket": self.bucket, "Key": self._name(area, key),
            "ResponseContentDisposition": content_disposition(filename),
            "ResponseContentType": content_type, "ResponseCacheControl": "no-store"},
            ExpiresIn=int(self.config.get("S3_PRESIGNED_SECONDS") or 60))

    def download_response(self, area, key, *, filename, content_type):
        if (self.config.get("S3_DOWNLOAD") or "stream") == "redirect":
            url = self.presigned_url(area, key, filename=filename, content_type=content_type)
            response = redirect(url, 302)
            response.headers["Cache-Control"] = "no-store"
            return response
        return super().download_response(area, key, filename=filename, content_type=content_type)


# -- the app's storage ------------------------------------------------------------------------
BACKENDS = {"filesystem": FilesystemStorage, "s3": S3Storage}


def init_storage(app: Flask) -> Storage:
    """Build the app's storage once (``STORAGE_BACKEND``), kept in ``app.extensions["asll_storage"]``."""
    backend = app.config.get("STORAGE_BACKEND") or "filesystem"
    if backend not in BACKENDS:
        raise RuntimeError(f"ASLL_STORAGE_BACKEND inconnu : « {backend} » (filesystem ou s3)")
    storage = BACKENDS[backend](app)
    app.extensions["asll_storage"] = storage
    return storage


def current_storage() -> Storage:
    app = current_app._get_current_object()
    storage = app.extensions.get("asll_storage")
    return storage if storage is not None else init_storage(app)


@dataclass(frozen=True)
class StoredFile:
    """A stored file a service has let the actor read (and audited): stream it or answer with it."""

    area: str
    key: str
    filename: str
    content_type: str

    def open(self) -> BinaryIO:
        return current_storage().open(self.area, self.key)

    def read_bytes(self) -> bytes:
        return current_storage().read(self.area, self.key)

    def read_text(self, encoding: str = "utf-8") -> str:
        return self.read_bytes().decode(encoding)

    def exists(self) -> bool:
        return current_storage().exists(self.area, self.key)

    def response(self) -> Response:
        return current_storage().download_response(self.area, self.key, filename=self.filename,
                                                   content_type=self.content_type)


def existing_file(area: str, key: str, filename: str, content_type: str, missing: str) -> StoredFile:
    """The stored file a service is about to hand out, or NotFound (``missing``) if the store has none;
    a store that does not answer raises :class:`StorageUnavailable` (a French 503)."""
    from asll.services.errors import NotFound

    if not current_storage().exists(area, key):
        raise NotFound(missing, "fichier_absent")
    return StoredFile(area, key, filename, content_type)
