"""Artifact use cases on SQLite and PostgreSQL: one audit event per change, nothing written for
bad input, canonical paths stored, listings, downloads and garbage collection."""

from __future__ import annotations

import io
import os
import random
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, select, text

from clew.artifacts import service as service_module
from clew.artifacts.blobstore import BlobStore
from clew.artifacts.model import FileInfo
from clew.artifacts.service import ArtifactService
from clew.artifacts.store import ArtifactFileStore
from clew.core import audit, migrate, schema
from clew.core.actor import Actor
from clew.core.authz import AllowAll, Permission, Resource
from clew.core.db import Database
from clew.core.errors import Conflict, InvalidInput, InvalidPath, NotFound, PermissionDenied
from tests.artifacts.test_paths import BAD
from tests.conftest import PostgresDatabases, require

RUN = "0123456789abcdef0123456789abcdef"
OTHER = "fedcba9876543210fedcba9876543210"
ALICE = Actor("alice")
_RUN_ID = re.compile(r"[0-9a-f]{32}")


class Owners:
    """A stand-in for tracking's run check: any 32-hex id exists; some are deleted."""

    def __init__(self) -> None:
        self.deleted: set[str] = set()
        self.calls = 0

    def __call__(self, conn: Connection, owner_id: str) -> None:
        self.calls += 1
        if not _RUN_ID.fullmatch(owner_id):
            raise NotFound("No such run")
        if owner_id in self.deleted:
            raise Conflict("Run is deleted")


class DenyWrites:
    def check(self, actor: Actor, permission: Permission, resource: Resource) -> None:
        if permission is not Permission.READ:
            raise PermissionDenied("Not allowed")


@pytest.fixture
def blobs(tmp_path: Path) -> BlobStore:
    return BlobStore.from_uri(str(tmp_path / "blobs"))


@pytest.fixture
def owners() -> Owners:
    return Owners()


@pytest.fixture
def svc(db: Database, blobs: BlobStore, owners: Owners) -> ArtifactService:
    return ArtifactService(db, blobs, AllowAll(), check_owner=owners)


def rows(db: Database) -> list[tuple[str, str, str, int]]:
    t = schema.artifact_files
    with db.read() as conn:
        q = select(t.c.owner_id, t.c.path, t.c.digest, t.c.size).order_by(t.c.path)
        return [tuple(r) for r in conn.execute(q)]  # type: ignore[misc]


def events(db: Database) -> list[audit.AuditEvent]:
    with db.read() as conn:
        return audit.list_events(conn, newest_first=False, limit=10_000)


def blob_count(blobs: BlobStore) -> int:
    return len(list(blobs.iter_digests()))


def entries(files: list[FileInfo]) -> list[str]:
    """A listing as ``ls -p`` would print it: directories end in ``/``."""
    return [f.path + ("/" if f.is_dir else "") for f in files]


def log(svc: ArtifactService, path: str, data: bytes, owner: str = RUN) -> FileInfo:
    return svc.log_stream(ALICE, owner, path, io.BytesIO(data))


# ---- writes ------------------------------------------------------------------------------------


def test_log_stream_writes_row_and_one_audit_event(svc: ArtifactService, db: Database) -> None:
    info = log(svc, "metrics.json", b"{}")
    assert info == FileInfo("metrics.json", False, 2, info.digest)
    assert rows(db) == [(RUN, "metrics.json", info.digest, 2)]
    [event] = events(db)
    assert (event.action, event.resource_type, event.actor) == ("artifact.log", "run", "alice")
    assert event.resource_id == RUN
    assert event.summary == {"path": "metrics.json", "digest": info.digest, "size": 2}


def test_canonical_path_is_what_is_stored(svc: ArtifactService, db: Database) -> None:
    info = log(svc, "a/./b//c.txt", b"x")
    assert info.path == "a/b/c.txt"
    assert [r[1] for r in rows(db)] == ["a/b/c.txt"]
    assert events(db)[0].summary["path"] == "a/b/c.txt"
    assert svc.stat(ALICE, RUN, "a//b/./c.txt").path == "a/b/c.txt"


def test_logging_a_path_again_replaces_it(svc: ArtifactService, db: Database) -> None:
    log(svc, "model.pkl", b"v1")
    second = log(svc, "model.pkl", b"version 2")
    assert rows(db) == [(RUN, "model.pkl", second.digest, 9)]
    assert [e.action for e in events(db)] == ["artifact.log", "artifact.log"]


def test_file_and_directory_cannot_share_a_path(svc: ArtifactService, db: Database) -> None:
    log(svc, "a/b", b"file")
    before = (rows(db), len(events(db)))
    with pytest.raises(Conflict):
        log(svc, "a/b/c", b"under a file")
    with pytest.raises(Conflict):
        log(svc, "a", b"over a directory")
    assert (rows(db), len(events(db))) == before


def test_log_file_goes_under_artifact_path(svc: ArtifactService, tmp_path: Path) -> None:
    local = tmp_path / "notes.txt"
    local.write_text("hello")
    assert svc.log_file(ALICE, RUN, local, "docs/./v1").path == "docs/v1/notes.txt"
    assert svc.log_file(ALICE, RUN, local).path == "notes.txt"
    with pytest.raises(InvalidPath):
        svc.log_file(ALICE, RUN, local, "../outside")


def _tree(root: Path) -> dict[str, bytes]:
    files = {
        "model/MLmodel": b"flavors: {}",
        "model/data/weights.bin": os.urandom(3000),
        "model/data/a b/\u00fc.txt": b"unicode",
        "README.md": b"# readme",
    }
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return files


def test_log_dir_is_one_transaction_and_one_event(
    svc: ArtifactService, db: Database, tmp_path: Path
) -> None:
    files = _tree(tmp_path / "src")
    logged = svc.log_dir(ALICE, RUN, tmp_path / "src", "out")
    assert sorted(f.path for f in logged) == sorted(f"out/{p}" for p in files)
    assert [r[1] for r in rows(db)] == sorted(f"out/{p}" for p in files)
    [event] = events(db)
    assert event.action == "artifact.log" and event.summary["count"] == len(files)
    assert event.summary["directory"] == "out"
    assert {f["path"] for f in event.summary["files"]} == {f"out/{p}" for p in files}
    assert svc.log_dir(ALICE, RUN, _empty(tmp_path)) == []
    assert len(events(db)) == 1


def _empty(tmp_path: Path) -> Path:
    (tmp_path / "empty").mkdir()
    return tmp_path / "empty"


def test_log_dir_summary_of_a_big_tree_commits_to_every_file(
    svc: ArtifactService, db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service_module, "SUMMARY_FILES", 2)
    _tree(tmp_path / "src")
    svc.log_dir(ALICE, RUN, tmp_path / "src")
    summary = events(db)[0].summary
    assert summary["count"] == 4 and len(summary["files"]) == 2
    assert re.fullmatch(r"[0-9a-f]{64}", summary["manifest_sha256"])


def test_log_dir_refuses_symlinks_leading_outside(
    svc: ArtifactService, db: Database, blobs: BlobStore, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    _tree(src)
    secret = tmp_path / "secret.txt"
    secret.write_text("do not upload")
    (src / "link.txt").symlink_to(secret)
    with pytest.raises(InvalidInput):
        svc.log_dir(ALICE, RUN, src)
    (src / "link.txt").unlink()
    (src / "dirlink").symlink_to(tmp_path, target_is_directory=True)
    with pytest.raises(InvalidInput):
        svc.log_dir(ALICE, RUN, src)
    assert rows(db) == [] and events(db) == [] and blob_count(blobs) == 0


def test_log_dir_validates_every_name_before_uploading(
    svc: ArtifactService, db: Database, blobs: BlobStore, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    _tree(src)
    (src / "bad#name.txt").write_text("x")
    with pytest.raises(InvalidPath):
        svc.log_dir(ALICE, RUN, src)
    assert rows(db) == [] and events(db) == [] and blob_count(blobs) == 0


def test_delete_file_and_directory(svc: ArtifactService, db: Database) -> None:
    for path in ("keep.txt", "d/a", "d/b/c", "dd/x"):
        log(svc, path, path.encode())
    assert svc.delete(ALICE, RUN, "d") == 2
    assert svc.delete(ALICE, RUN, "keep.txt") == 1
    assert [r[1] for r in rows(db)] == ["dd/x"]
    deletes = [e for e in events(db) if e.action == "artifact.delete"]
    assert [e.summary.get("path") or e.summary["directory"] for e in deletes] == ["d", "keep.txt"]
    assert {f["path"] for f in deletes[0].summary["files"]} == {"d/a", "d/b/c"}
    with pytest.raises(NotFound):
        svc.delete(ALICE, RUN, "d")


# ---- bad input writes nothing --------------------------------------------------------------------

ROOTISH = {"", ".", "./", "./.", "//"}
TRAVERSAL = [p for p in BAD if p not in ROOTISH]
OPERATIONS: dict[str, Callable[[ArtifactService, str, Path], Any]] = {
    "log_stream": lambda s, p, d: s.log_stream(ALICE, RUN, p, io.BytesIO(b"evil")),
    "log_file": lambda s, p, d: s.log_file(ALICE, RUN, d / "payload.txt", p),
    "log_dir": lambda s, p, d: s.log_dir(ALICE, RUN, d / "dir", p),
    "list": lambda s, p, d: s.list(ALICE, RUN, p),
    "stat": lambda s, p, d: s.stat(ALICE, RUN, p),
    "open": lambda s, p, d: s.open(ALICE, RUN, p),
    "download": lambda s, p, d: s.download(ALICE, RUN, p, d / "dest"),
    "delete": lambda s, p, d: s.delete(ALICE, RUN, p),
}


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_traversal_in_any_encoding_is_rejected_with_nothing_written(
    svc: ArtifactService, db: Database, blobs: BlobStore, tmp_path: Path, operation: str
) -> None:
    (tmp_path / "payload.txt").write_text("payload")
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "f.txt").write_text("f")
    log(svc, "victim.txt", b"existing")
    before = (rows(db), len(events(db)), blob_count(blobs))
    outside = sorted(p.name for p in tmp_path.parent.iterdir())
    for path in TRAVERSAL:
        with pytest.raises(InvalidPath) as info:
            OPERATIONS[operation](svc, path, tmp_path)
        assert info.value.message == "Invalid artifact path"
    assert (rows(db), len(events(db)), blob_count(blobs)) == before
    assert sorted(p.name for p in tmp_path.parent.iterdir()) == outside


@pytest.mark.parametrize("operation", ["log_stream", "delete"])
@pytest.mark.parametrize("path", sorted(ROOTISH))
def test_root_cannot_be_written_or_deleted(
    svc: ArtifactService, db: Database, tmp_path: Path, operation: str, path: str
) -> None:
    with pytest.raises(InvalidPath):
        OPERATIONS[operation](svc, path, tmp_path)
    assert rows(db) == [] and events(db) == []


def test_unauthorized_writes_store_nothing(
    db: Database, blobs: BlobStore, owners: Owners, tmp_path: Path
) -> None:
    svc = ArtifactService(db, blobs, DenyWrites(), check_owner=owners)
    with pytest.raises(PermissionDenied):
        log(svc, "a.txt", b"data")
    with pytest.raises(PermissionDenied):
        svc.log_dir(ALICE, RUN, _empty(tmp_path))
    assert rows(db) == [] and events(db) == [] and blob_count(blobs) == 0
    assert svc.list(ALICE, RUN) == []


def test_owner_check_runs_before_upload_and_at_commit(
    svc: ArtifactService, db: Database, blobs: BlobStore, owners: Owners
) -> None:
    with pytest.raises(NotFound):
        log(svc, "a.txt", b"data", owner="not-a-run")
    owners.deleted.add(OTHER)
    with pytest.raises(Conflict):
        log(svc, "a.txt", b"data", owner=OTHER)
    assert blob_count(blobs) == 0  # refused before any byte was stored

    def deleted_mid_upload() -> Iterator[bytes]:
        yield b"first half "
        owners.deleted.add(RUN)  # the run is deleted while the upload is in flight
        yield b"second half"

    with pytest.raises(Conflict):
        svc.log_stream(ALICE, RUN, "late.txt", deleted_mid_upload())
    assert rows(db) == [] and events(db) == []
    assert blob_count(blobs) == 1  # unreferenced: garbage collection takes it
    assert svc.collect_garbage(ALICE, min_age_s=0) == 1
    assert blob_count(blobs) == 0


def test_reads_call_the_owner_check(svc: ArtifactService, owners: Owners, tmp_path: Path) -> None:
    owners.deleted.add(OTHER)
    for read in (svc.list, svc.stat, svc.open):
        with pytest.raises(Conflict):
            read(ALICE, OTHER, "x")
    with pytest.raises(Conflict):
        svc.download(ALICE, OTHER, "", tmp_path / "never-created")
    assert owners.calls == 4 and not (tmp_path / "never-created").exists()


# ---- reads ---------------------------------------------------------------------------------------


def test_listing_is_a_directory_listing(svc: ArtifactService) -> None:
    for path in ("b.txt", "a/x.txt", "a/y/z.txt", "a.txt", "a0", "c/d/e/f.txt"):
        log(svc, path, path.encode())
    root = svc.list(ALICE, RUN)
    assert entries(root) == ["a/", "a.txt", "a0", "b.txt", "c/"]
    assert root[1].size == len(b"a.txt") and root[1].digest is not None
    assert entries(svc.list(ALICE, RUN, "a")) == ["a/x.txt", "a/y/"]
    assert entries(svc.list(ALICE, RUN, "c/d")) == ["c/d/e/"]
    assert svc.list(ALICE, RUN, "b.txt") == [] and svc.list(ALICE, RUN, "missing") == []
    assert svc.list(ALICE, OTHER) == []


def test_listing_pages_through_big_trees(db: Database) -> None:
    """Many direct files, directories straddling page ends, deep subtrees: same as a naive scan."""
    rng = random.Random(7)
    paths = {f"f{i:04d}.txt" for i in range(700)}
    paths |= {f"d{i:03d}/{j:03d}" for i in range(40) for j in range(rng.randint(1, 300))}
    paths |= {f"deep/{i}/{j}/leaf" for i in range(30) for j in range(30)}
    with db.write() as conn:
        ArtifactFileStore(conn).put_many(
            RUN, [FileInfo(p, False, 1, "0" * 64) for p in paths], created_at=0
        )
    with db.read() as conn:
        store = ArtifactFileStore(conn)
        for prefix in ("", "deep", "deep/3", "d007"):
            base = prefix + "/" if prefix else ""
            under = [p[len(base) :] for p in paths if p.startswith(base)]
            expected = sorted({(base + p.split("/")[0], "/" in p) for p in under})
            assert [(f.path, f.is_dir) for f in store.list(RUN, prefix)] == expected
        assert len(store.walk(RUN, "deep")) == 900
        assert len(store.walk(RUN)) == len(paths)


@pytest.mark.postgres
def test_listing_under_a_linguistic_collation(postgres_databases: PostgresDatabases | None) -> None:
    """On an ICU ``en-US`` database a linguistic ``a/ <= path < a0`` range would also match
    ``A/x``, ``a+b`` and ``a~``; the schema's ``COLLATE "C"`` on the column keeps it exact."""
    require(postgres_databases is not None, "PostgreSQL: set CLEW_TEST_POSTGRES_URL")
    assert postgres_databases is not None
    name = f"clew_icu_{uuid.uuid4().hex[:10]}"
    with postgres_databases.admin.connect() as conn:
        conn.execute(
            text(
                f'CREATE DATABASE "{name}" TEMPLATE template0 LOCALE_PROVIDER icu'
                " ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
            )
        )
    url = postgres_databases._url(name)
    db = Database(url)
    try:
        migrate.upgrade(db)
        paths = ["a/b", "a/x/y", "A/x", "a+b", "a~", "a$b", "a0", "a.txt"]
        with db.write() as conn:
            store = ArtifactFileStore(conn)
            store.put_many(RUN, [FileInfo(p, False, 1, "0" * 64) for p in paths], created_at=0)
        with db.read() as conn:
            naive = conn.execute(
                text("SELECT path FROM artifact_files WHERE path >= 'a/' AND path < 'a0'")
            )
            assert "A/x" not in set(naive.scalars())
            store = ArtifactFileStore(conn)
            listing = store.list(RUN, "a")
            assert entries(listing) == ["a/b", "a/x/"]
            assert [f.path for f in store.walk(RUN, "a")] == ["a/b", "a/x/y"]
            assert store.clashes(RUN, ["a"]) == "a"
        with db.write() as conn:
            assert ArtifactFileStore(conn).delete(RUN, "a") == 2
    finally:
        db.dispose()
        postgres_databases.drop(url)


def test_stat(svc: ArtifactService) -> None:
    info = log(svc, "a/b.txt", b"12345")
    assert svc.stat(ALICE, RUN, "a/b.txt") == info
    assert svc.stat(ALICE, RUN, "a") == FileInfo("a", True)
    with pytest.raises(NotFound):
        svc.stat(ALICE, RUN, "a/missing")


def test_open_streams_the_bytes(svc: ArtifactService, db: Database) -> None:
    data = os.urandom(3 * 1024 * 1024 + 5)
    log(svc, "big.bin", data)
    info, chunks = svc.open(ALICE, RUN, "big.bin")
    parts = list(chunks)
    assert info.size == len(data) and len(parts) == 4
    assert b"".join(parts) == data
    with pytest.raises(NotFound):
        svc.open(ALICE, RUN, "missing")
    log(svc, "dir/f", b"f")
    with pytest.raises(InvalidInput):
        svc.open(ALICE, RUN, "dir")


def test_download_file_directory_and_root(svc: ArtifactService, tmp_path: Path) -> None:
    files = _tree(tmp_path / "src")
    svc.log_dir(ALICE, RUN, tmp_path / "src")
    dest = tmp_path / "dest"
    one = svc.download(ALICE, RUN, "model/MLmodel", dest)
    assert one == dest.resolve() / "model" / "MLmodel"
    assert one.read_bytes() == files["model/MLmodel"]
    folder = svc.download(ALICE, RUN, "model/data", tmp_path / "dest2")
    assert folder == (tmp_path / "dest2").resolve() / "model" / "data"
    assert (folder / "a b" / "\u00fc.txt").read_bytes() == b"unicode"
    everything = svc.download(ALICE, RUN, "", tmp_path / "all")
    got = {
        p.relative_to(everything).as_posix(): p.read_bytes()
        for p in everything.rglob("*")
        if p.is_file()
    }
    assert got == files
    with pytest.raises(NotFound):
        svc.download(ALICE, RUN, "nope", dest)


def test_download_never_writes_through_symlinks(svc: ArtifactService, tmp_path: Path) -> None:
    log(svc, "sub/f.txt", b"artifact")
    log(svc, "top.txt", b"top")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "top.txt").write_text("precious")
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "sub").symlink_to(outside, target_is_directory=True)
    with pytest.raises(Conflict):
        svc.download(ALICE, RUN, "sub", dest)
    (dest / "top.txt").symlink_to(outside / "top.txt")
    svc.download(ALICE, RUN, "top.txt", dest)
    assert not (dest / "top.txt").is_symlink()  # the link was replaced, not followed
    assert (dest / "top.txt").read_bytes() == b"top"
    assert (outside / "top.txt").read_text() == "precious"
    assert sorted(p.name for p in outside.iterdir()) == ["top.txt"]


def test_garbage_collection_keeps_referenced_blobs(
    svc: ArtifactService, db: Database, blobs: BlobStore
) -> None:
    kept = log(svc, "kept.txt", b"kept")
    log(svc, "gone.txt", b"gone")
    svc.delete(ALICE, RUN, "gone.txt")
    assert svc.collect_garbage(ALICE) == 0  # everything is younger than an hour
    assert svc.collect_garbage(ALICE, min_age_s=0) == 1
    assert [d for d, _ in blobs.iter_digests()] == [kept.digest]
    assert events(db)[-1].action == "artifact.gc" and events(db)[-1].summary == {"removed": 1}


def test_audit_chain_holds(svc: ArtifactService, db: Database, tmp_path: Path) -> None:
    _tree(tmp_path / "src")
    svc.log_dir(ALICE, RUN, tmp_path / "src")
    log(svc, "x.txt", b"x")
    svc.delete(ALICE, RUN, "model")
    with db.read() as conn:
        result = audit.verify(conn)
    assert result.ok and result.checked == 3
