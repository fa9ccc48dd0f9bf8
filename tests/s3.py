"""A real S3-compatible server for the tests: moto in server mode, over HTTP, reached through boto3.

Import the fixtures into a test module (``from tests.s3 import moto_server, storage_backend``).
``storage_backend`` is parametrised: each test runs on the filesystem and on the bucket, the
app's storage swapped for the test and given back afterwards; on S3 each test has its own
object prefix, so the bucket's contents can be counted exactly.
"""

from __future__ import annotations

import socket
import uuid
from dataclasses import dataclass

import boto3
import pytest

BUCKET = "asll-tests"
S3_SETTINGS = {"S3_BUCKET": BUCKET, "S3_REGION": "eu-west-3", "S3_ACCESS_KEY_ID": "test",
               "S3_SECRET_ACCESS_KEY": "test", "S3_ADDRESSING_STYLE": "path"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class MotoServer:
    url: str

    def client(self):
        return boto3.client("s3", endpoint_url=self.url, region_name=S3_SETTINGS["S3_REGION"],
                            aws_access_key_id="test", aws_secret_access_key="test")

    def keys(self, prefix: str) -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


@pytest.fixture(scope="session")
def moto_server():
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        moto = MotoServer(f"http://127.0.0.1:{port}")
        moto.client().create_bucket(Bucket=BUCKET, CreateBucketConfiguration={
            "LocationConstraint": S3_SETTINGS["S3_REGION"]})
        yield moto
    finally:
        server.stop()


@dataclass
class Backend:
    name: str
    prefix: str  # on S3: this test's object prefix
    moto: MotoServer | None

    def objects(self, area: str) -> list[str]:
        """The keys stored in an area, as the rows name them (``<tenant>/<hex>``)."""
        from asll.storage import current_storage

        return sorted(item.key for item in current_storage().list(area, ""))

    def bucket_keys(self) -> list[str]:
        return self.moto.keys(self.prefix) if self.moto else []


@pytest.fixture(params=["filesystem", "s3"])
def storage_backend(request, app, tmp_path):
    from asll.storage import init_storage

    saved_config = {key: app.config.get(key) for key in
                    ("STORAGE_BACKEND", "UPLOAD_PATH", "EXPORT_PATH", "S3_ENDPOINT_URL", "S3_PREFIX",
                     "S3_DOWNLOAD", *S3_SETTINGS)}
    saved_storage = app.extensions.get("asll_storage")
    moto, prefix = None, ""
    app.config.update({"UPLOAD_PATH": str(tmp_path / "uploads"), "EXPORT_PATH": str(tmp_path / "exports")})
    if request.param == "s3":
        moto = request.getfixturevalue("moto_server")
        prefix = f"run-{uuid.uuid4().hex[:12]}"
        app.config.update({"STORAGE_BACKEND": "s3", "S3_ENDPOINT_URL": moto.url, "S3_PREFIX": prefix,
                           "S3_DOWNLOAD": "stream", **S3_SETTINGS})
    else:
        app.config["STORAGE_BACKEND"] = "filesystem"
    init_storage(app)
    try:
        yield Backend(request.param, prefix, moto)
    finally:
        app.config.update(saved_config)
        if saved_storage is not None:
            app.extensions["asll_storage"] = saved_storage
        else:
            app.extensions.pop("asll_storage", None)
