"""The blob store contract on S3: moto's server on a free loopback port, reached through s3fs
exactly as a real bucket would be (endpoint URL, credentials from the environment)."""

from __future__ import annotations

import importlib.util
import socket
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from clew.artifacts.blobstore import BlobStore
from tests.artifacts.test_blobstore import BlobStoreContract
from tests.conftest import require

HAVE_S3 = all(importlib.util.find_spec(m) for m in ("moto", "s3fs", "boto3"))
DUMMY_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """A moto S3 server for this module, with dummy credentials in the environment."""
    require(HAVE_S3, "moto[server], s3fs and boto3 are needed for the S3 tests")
    from moto.server import ThreadedMotoServer

    with pytest.MonkeyPatch.context() as mp:
        for key, value in DUMMY_ENV.items():
            mp.setenv(key, value)
        for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
            mp.delenv(key, raising=False)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=_free_port(), verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        try:
            yield f"http://{host}:{port}"
        finally:
            server.stop()


@pytest.fixture
def bucket(s3_endpoint: str) -> str:
    import boto3

    name = f"clew-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket=name)
    return name


def _options(endpoint: str) -> dict[str, Any]:
    return {"client_kwargs": {"endpoint_url": endpoint}, "skip_instance_cache": True}


class TestS3BlobStore(BlobStoreContract):
    @pytest.fixture
    def store(self, s3_endpoint: str, bucket: str) -> BlobStore:
        return BlobStore.from_uri(f"s3://{bucket}/team/artifacts", _options(s3_endpoint))

    def corrupt(self, store: BlobStore, digest: str, data: bytes) -> None:
        store._backend.fs.pipe_file(store._key(digest), data)  # type: ignore[union-attr]

    def test_layout_under_the_prefix(self, store: BlobStore, bucket: str, s3_endpoint: str) -> None:
        import boto3

        ref = store.put_bytes(b"layout")
        keys = [
            o["Key"]
            for o in boto3.client("s3", endpoint_url=s3_endpoint)
            .list_objects_v2(Bucket=bucket)
            .get("Contents", [])
        ]
        assert keys == [f"team/artifacts/blobs/{ref.digest[:2]}/{ref.digest[2:]}"]

    def test_interrupted_multipart_upload_is_aborted(
        self, store: BlobStore, bucket: str, s3_endpoint: str
    ) -> None:
        import boto3

        from tests.artifacts.test_blobstore import Boom, interrupted

        with pytest.raises(Boom):
            store.put_stream(interrupted(20 * 1024 * 1024))
        client = boto3.client("s3", endpoint_url=s3_endpoint)
        assert client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
        assert client.list_objects_v2(Bucket=bucket).get("KeyCount") == 0

    @pytest.mark.parametrize("var", ["AWS_ENDPOINT_URL", "FSSPEC_S3_ENDPOINT_URL"])
    def test_endpoint_from_environment(
        self, s3_endpoint: str, bucket: str, var: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv(var, s3_endpoint)
        store = BlobStore.from_uri(f"s3://{bucket}", {"skip_instance_cache": True})
        ref = store.put_bytes(b"via env")
        assert store.verify(ref.digest)
