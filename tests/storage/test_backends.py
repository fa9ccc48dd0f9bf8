"""The storage interface, on the local folder and on a real S3-compatible server (moto, over HTTP).

What a user relies on: an attachment or an export stored by one process is read back whole
by another (the bucket is the only thing they share), a download is refused before any URL
or byte leaves when the actor may not read it, and a store that does not answer gives a
French 503 with nothing half-saved.
"""

from __future__ import annotations

import datetime as dt
import io
import urllib.request

import pytest
import sqlalchemy as sa
import time_machine

from asll.extensions import db
from asll.models import Document, Role
from asll.models.exports import ExportStatus
from asll.services import documents, exports
from asll.services.errors import NotFound, ServiceUnavailable
from asll.storage import InvalidKey, StorageUnavailable, current_storage, init_storage
from asll.tenancy import tenant_context
from tests.s3 import S3_SETTINGS, free_port, moto_server, storage_backend  # noqa: F401 (fixtures)

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def test_the_contract_holds_on_both_backends(app_ctx, storage_backend):
    storage = current_storage()
    storage.put("documents", "7/aaaa", b"premier")
    storage.put("documents", "7/bbbb", io.BytesIO(b"x" * 300_000))  # a stream, read to its end
    storage.put("exports", "7/cccc.csv", b"a;b\n")
    assert storage.read("documents", "7/aaaa") == b"premier"
    with storage.open("documents", "7/bbbb") as stream:
        assert len(stream.read()) == 300_000
    assert (storage.exists("documents", "7/aaaa"), storage.exists("documents", "7/zzzz")) == (True, False)
    listed = {item.key: item.size for item in storage.list("documents", "7/")}
    assert listed == {"7/aaaa": 7, "7/bbbb": 300_000}  # the other area is not mixed in
    assert [item.key for item in storage.list("exports")] == ["7/cccc.csv"]
    assert all(item.modified.tzinfo is not None for item in storage.list("documents"))
    storage.put("documents", "7/aaaa", b"remplace")  # a put replaces whole
    assert storage.read("documents", "7/aaaa") == b"remplace"
    storage.delete("documents", "7/aaaa")
    storage.delete("documents", "7/aaaa")  # idempotent
    with pytest.raises(FileNotFoundError):
        storage.open("documents", "7/aaaa")
    for bad in ("../7/aaaa", "7/../../etc/passwd", "/etc/passwd", ""):
        with pytest.raises(InvalidKey):
            storage.put("documents", bad, b"x")
    storage.check()
    if storage_backend.name == "s3":
        assert storage_backend.bucket_keys() == [f"{storage_backend.prefix}/documents/7/bbbb",
                                                 f"{storage_backend.prefix}/exports/7/cccc.csv"]


def _attach(world) -> Document:
    w = world.loire
    with tenant_context(w.tenant.id):
        return documents.attach(w.actor(Role.PRESCRIBER), request_id=w.request.id, filename="quittance.pdf",
                                stream=io.BytesIO(PDF), content_type="application/pdf")


def test_an_attachment_is_stored_and_read_back_through_the_storage(app, world, storage_backend):
    with app.app_context():
        document = _attach(world)
        assert storage_backend.objects("documents") == [document.storage_key]
        with tenant_context(world.loire.tenant.id):
            _doc, stored = documents.open_document(world.loire.actor(Role.PRESCRIBER), document.id)
            assert stored.read_bytes() == PDF
            response = stored.response()
            assert b"".join(response.response) == PDF
            assert response.headers["Content-Disposition"].startswith('attachment; filename="quittance.pdf"')
            assert response.headers["Cache-Control"] == "no-store"
        db.session.remove()
    if storage_backend.name == "s3":
        assert storage_backend.bucket_keys() == [f"{storage_backend.prefix}/documents/{document.storage_key}"]


def test_redirect_mode_hands_a_presigned_url_only_to_who_may_read(app, world, moto_server):  # noqa: F811
    app.config.update({"STORAGE_BACKEND": "s3", "S3_ENDPOINT_URL": moto_server.url, "S3_PREFIX": "redirect",
                       "S3_DOWNLOAD": "redirect", "S3_PRESIGNED_SECONDS": 60, **S3_SETTINGS})
    saved = app.extensions.get("asll_storage")
    init_storage(app)
    try:
        with app.app_context():
            document = _attach(world)
            with tenant_context(world.loire.tenant.id):
                _doc, stored = documents.open_document(world.loire.actor(Role.PRESCRIBER), document.id)
                response = stored.response()
                assert response.status_code == 302 and response.headers["Cache-Control"] == "no-store"
                location = response.headers["Location"]
                assert location.startswith(moto_server.url) and "X-Amz-Signature" in location
                with urllib.request.urlopen(location, timeout=10) as answer:  # what the browser then does
                    assert answer.read() == PDF
                    assert "quittance.pdf" in answer.headers["Content-Disposition"]
            with tenant_context(world.orne.tenant.id), pytest.raises(NotFound):
                documents.open_document(world.orne.actor(Role.DEPT_ADMIN), document.id)  # no URL, no byte
            db.session.remove()
    finally:
        app.config.update({"STORAGE_BACKEND": "filesystem", "S3_DOWNLOAD": "stream"})
        if saved is not None:
            app.extensions["asll_storage"] = saved


def test_a_bucket_that_does_not_answer_gives_a_french_503_and_saves_nothing(app, world, moto_server):  # noqa: F811
    app.config.update({"STORAGE_BACKEND": "s3", "S3_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}",
                       "S3_PREFIX": "down", **S3_SETTINGS})
    saved = app.extensions.get("asll_storage")
    init_storage(app)
    try:
        with app.app_context():
            with pytest.raises(StorageUnavailable):
                current_storage().check()
            before = db.session.scalar(sa.select(sa.func.count()).select_from(Document))
            with pytest.raises(ServiceUnavailable) as refused:
                _attach(world)
            assert refused.value.status == 503
            assert "stockage des fichiers ne répond pas" in refused.value.message
            assert db.session.scalar(sa.select(sa.func.count()).select_from(Document)) == before  # no row, no file
            db.session.remove()
    finally:
        app.config.update({"STORAGE_BACKEND": "filesystem"})
        if saved is not None:
            app.extensions["asll_storage"] = saved


def test_an_export_lives_in_the_storage_and_expires_there(app, world, storage_backend):
    with app.app_context(), tenant_context(world.loire.tenant.id):
        admin = world.loire.actor(Role.DEPT_ADMIN)
        job = exports.request_export(admin, {"dataset": "measures"}, send_to_worker=False)
        assert exports.run_job(job.id)["status"] == "done"  # what a worker does
        db.session.expire_all()
        job = exports.get_job(admin, job.id)
        assert job.status is ExportStatus.DONE
        key = job.files["csv"]["key"]
        assert storage_backend.objects("exports") == [key]
        _job, stored, filename, _type = exports.open_file(admin, job.id, "csv")
        assert stored.read_bytes().startswith(b"\xef\xbb\xbf") and filename.endswith(".csv")
        # A file no job names (a run killed after a takeover) goes once older than the lease;
        # a fresh one is kept (its run may still be writing it).
        stray = f"{world.loire.tenant.id}/{'e' * 32}.csv"
        current_storage().put("exports", stray, b"partiel")
        exports.sweep(world.loire.tenant.id)
        assert storage_backend.objects("exports") == sorted([key, stray])
        later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=exports.retention().total_seconds() / 3600 + 1)
        with time_machine.travel(later, tick=False):
            exports.sweep(world.loire.tenant.id)
        assert storage_backend.objects("exports") == []  # expired file and orphan both gone
        db.session.expire_all()
        assert exports.get_job(admin, job.id).status is ExportStatus.EXPIRED
        db.session.remove()
    if storage_backend.name == "s3":
        assert storage_backend.bucket_keys() == []
