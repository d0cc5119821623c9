"""The blob store contract, written once and run on every backend (dagster's storage-suite
pattern): ``BlobStoreContract`` here, subclassed by ``TestLocalBlobStore`` below and by
``TestS3BlobStore`` in ``test_s3.py``, which only supply the ``store`` fixture."""

from __future__ import annotations

import hashlib
import io
import os
import resource
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from clew.artifacts.blobstore import BlobStore
from clew.artifacts.model import BlobRef
from clew.core.errors import InvalidInput, NotFound, PayloadTooLarge

MiB = 1 << 20


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def generated(total: int, chunk: int = MiB) -> Iterator[bytes]:
    """Deterministic, incompressible-looking bytes without holding them all."""
    block = hashlib.sha256(b"seed").digest() * (chunk // 32)
    sent = 0
    while sent < total:
        piece = block[: min(chunk, total - sent)]
        sent += len(piece)
        yield piece


class Boom(Exception):
    pass


def interrupted(after: int) -> Iterator[bytes]:
    yield b"x" * after
    raise Boom("connection reset")


class BlobStoreContract:
    """What every backend promises. Subclasses provide a ``store`` fixture (an empty store)."""

    def test_put_bytes_round_trip(self, store: BlobStore) -> None:
        ref = store.put_bytes(b"hello")
        assert ref == BlobRef(sha(b"hello"), 5)
        assert store.exists(ref.digest) and store.size(ref.digest) == 5
        with store.open(ref.digest) as handle:
            assert handle.read() == b"hello"

    def test_empty_blob(self, store: BlobStore) -> None:
        ref = store.put_stream(iter([]))
        assert ref == BlobRef(sha(b""), 0)
        assert b"".join(store.iter_chunks(ref.digest)) == b""

    def test_chunked_round_trip(self, store: BlobStore) -> None:
        data = b"".join(generated(3 * MiB + 17, chunk=64 * 1024))
        ref = store.put_stream(generated(3 * MiB + 17, chunk=64 * 1024))
        assert ref == BlobRef(sha(data), len(data))
        chunks = list(store.iter_chunks(ref.digest, chunk_size=MiB))
        assert [len(c) for c in chunks[:3]] == [MiB, MiB, MiB]
        assert b"".join(chunks) == data

    def test_put_from_file_objects(self, store: BlobStore, tmp_path: Path) -> None:
        path = tmp_path / "f.bin"
        path.write_bytes(b"abc" * 1000)
        assert store.put_file(path) == BlobRef(sha(b"abc" * 1000), 3000)
        assert store.put_stream(io.BytesIO(b"abc" * 1000)).digest == sha(b"abc" * 1000)

    def test_put_from_a_batch_source(self, store: BlobStore) -> None:
        """The server's upload reader hands over lists of network reads; they are stored in
        order, as one blob, exactly as the same bytes in one piece."""
        pieces = list(generated(3 * MiB + 5, chunk=200 * 1024))

        class Batches:
            def read_batches(self) -> Iterator[list[bytes]]:
                for start in range(0, len(pieces), 4):
                    yield pieces[start : start + 4]

        data = b"".join(pieces)
        assert store.put_stream(Batches()) == BlobRef(sha(data), len(data))
        assert b"".join(store.iter_chunks(sha(data))) == data

    def test_same_bytes_stored_once(self, store: BlobStore) -> None:
        first = store.put_bytes(b"same")
        second = store.put_stream([b"sa", b"me"])
        assert first == second
        assert [d for d, _ in store.iter_digests()] == [first.digest]
        assert not list(store._backend.listdir(store._backend.join("tmp")))

    def test_interrupted_stream_leaves_nothing_visible(self, store: BlobStore) -> None:
        with pytest.raises(Boom):
            store.put_stream(interrupted(10 * MiB))  # past one S3 part
        assert list(store.iter_digests()) == []
        assert not store.exists(sha(b"x" * 10 * MiB))
        assert not list(store._backend.listdir(store._backend.join("tmp")))

    def test_size_limit_stores_nothing(self, store: BlobStore) -> None:
        with pytest.raises(PayloadTooLarge):
            store.put_stream(generated(2 * MiB), max_size=MiB)
        assert list(store.iter_digests()) == []

    def test_missing_blob(self, store: BlobStore) -> None:
        missing = "0" * 64
        assert not store.exists(missing)
        assert not store.verify(missing)
        with pytest.raises(NotFound):
            store.open(missing)
        with pytest.raises(NotFound):
            store.iter_chunks(missing)
        with pytest.raises(NotFound):
            store.size(missing)

    @pytest.mark.parametrize(
        "digest", ["../../etc/passwd", "A" * 64, "0" * 63, "0" * 65, "g" * 64, "", "0" * 62 + "/x"]
    )
    def test_digest_is_validated_before_use(self, store: BlobStore, digest: str) -> None:
        for call in (store.open, store.exists, store.size, store.verify):
            with pytest.raises(InvalidInput):
                call(digest)

    def test_verify_detects_corruption(self, store: BlobStore) -> None:
        ref = store.put_bytes(b"payload")
        assert store.verify(ref.digest)
        self.corrupt(store, ref.digest, b"tampered")
        assert not store.verify(ref.digest)

    def test_gc_keeps_referenced_and_young(self, store: BlobStore) -> None:
        keep, drop = store.put_bytes(b"keep"), store.put_bytes(b"drop")
        assert store.delete_unreferenced({keep.digest}) == 0  # both younger than an hour
        assert store.delete_unreferenced({keep.digest}, min_age_s=0) == 1
        assert store.exists(keep.digest) and not store.exists(drop.digest)
        assert store.delete_unreferenced(lambda d: d == keep.digest, min_age_s=0) == 0
        assert store.delete_unreferenced(set(), min_age_s=0) == 1
        assert list(store.iter_digests()) == []

    def test_gc_removes_stale_temps_only(self, store: BlobStore) -> None:
        backend = store._backend
        fresh = backend.join("tmp", "fresh")
        temp = backend.open_temp(fresh)
        temp.write([b"partial"])
        temp.commit()
        assert store.delete_unreferenced(set()) == 0
        assert [name for name, _, _ in backend.listdir(backend.join("tmp"))] == ["fresh"]
        store.delete_unreferenced(set(), temp_min_age_s=0)
        assert not list(backend.listdir(backend.join("tmp")))

    def test_copy_to_local_file(self, store: BlobStore, tmp_path: Path) -> None:
        ref = store.put_stream(generated(2 * MiB + 3))
        dest = tmp_path / "out.bin"
        dest.write_bytes(b"old content")
        store.copy_to(ref.digest, dest)
        assert dest.stat().st_size == ref.size
        assert sha(dest.read_bytes()) == ref.digest

    def corrupt(self, store: BlobStore, digest: str, data: bytes) -> None:
        raise NotImplementedError


class TestLocalBlobStore(BlobStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> BlobStore:
        return BlobStore.from_uri(str(tmp_path / "artifacts"))

    def corrupt(self, store: BlobStore, digest: str, data: bytes) -> None:
        Path(store._key(digest)).write_bytes(data)

    def test_layout_and_atomic_publish(self, store: BlobStore) -> None:
        ref = store.put_bytes(b"layout")
        path = Path(store.root) / "blobs" / ref.digest[:2] / ref.digest[2:]
        assert path.read_bytes() == b"layout"
        assert list((Path(store.root) / "tmp").iterdir()) == []

    def test_readers_never_see_a_partial_blob(self, store: BlobStore) -> None:
        """While a put is half-written, its final key does not exist at all."""
        data = b"".join(generated(3 * MiB))
        seen: list[bool] = []

        def watched() -> Iterator[bytes]:
            for chunk in generated(3 * MiB):
                seen.append(store.exists(sha(data)))
                yield chunk

        store.put_stream(watched())
        assert seen and not any(seen)
        assert store.verify(sha(data))

    def test_dedup_refreshes_the_blob_for_gc(self, store: BlobStore) -> None:
        ref = store.put_bytes(b"old")
        path = Path(store._key(ref.digest))
        os.utime(path, (time.time() - 7200, time.time() - 7200))
        store.put_bytes(b"old")  # a new reference is about to be committed
        assert store.delete_unreferenced(set()) == 0

    def test_short_writes_are_resumed(
        self, store: BlobStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """``writev`` may write less than asked (a signal, a full pipe, a quota): the rest of
        the batch, mid-piece included, is written by the next call."""
        real_writev = os.writev
        calls: list[int] = []

        def stingy(fd: int, buffers: list[memoryview]) -> int:
            calls.append(len(buffers))
            return real_writev(fd, [memoryview(buffers[0])[:1000]])

        monkeypatch.setattr(os, "writev", stingy)
        pieces = [b"a" * 2500, b"b" * 10, b"c" * 1500]
        ref = store.put_stream([b"".join(pieces[:2]), pieces[2]])
        data = b"".join(pieces)
        assert ref == BlobRef(sha(data), len(data))
        assert Path(store._key(ref.digest)).read_bytes() == data
        assert len(calls) > 3

    def test_from_uri_defaults_to_clew_home(self, clew_home: Path) -> None:
        assert BlobStore.from_uri().root == str((clew_home / "artifacts").resolve())
        assert BlobStore.from_uri(f"file://{clew_home}/x").root == str((clew_home / "x").resolve())

    def test_memory_does_not_grow_with_size(self, store: BlobStore, tmp_path: Path) -> None:
        """200 MB through put_stream and iter_chunks: Python allocations and RSS stay small."""
        size = 200 * MiB
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
        tracemalloc.start()
        try:
            ref = store.put_stream(generated(size))
            hasher, seen = hashlib.sha256(), 0
            for chunk in store.iter_chunks(ref.digest):
                hasher.update(chunk)
                seen += len(chunk)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        rss_growth_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
        assert seen == size and hasher.hexdigest() == ref.digest
        assert peak < 16 * MiB, f"peak traced allocation {peak / MiB:.1f} MiB"
        assert rss_growth_mib < 64, f"peak RSS grew by {rss_growth_mib:.1f} MiB"
