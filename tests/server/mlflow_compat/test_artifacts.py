"""Artifacts as MLflow users log and read them, through the real client and the artifact proxy.

Every file goes up with ``PUT /api/2.0/mlflow-artifacts/artifacts/<exp>/<run>/artifacts/…``
and comes back through the proxy's listing and download; the assertions compare what was read
back with what was logged, byte for byte (by sha256). What only Clew adds (a content digest
per file in its own listing, an audit event) is checked behind ``clew_only``.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.server

#: Files with known bytes, logged with ``log_artifact(s)``: (path in the run, bytes).
KNOWN = {
    "notes.txt": b"hello clew\n",
    "docs/notes.txt": b"hello clew\n",
    "tree/a.csv": b"x,y\n1,2\n",
    "tree/deep/b.bin": bytes(range(256)) * 3,
}

DAILY = """
import hashlib, json, os, sys, tempfile
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import mlflow
import yaml
from mlflow import MlflowClient

work = tempfile.mkdtemp()
def write(rel, data):
    path = os.path.join(work, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    return path

single = write("notes.txt", b"hello clew\\n")
write("tree/a.csv", b"x,y\\n1,2\\n")
write("tree/deep/b.bin", bytes(range(256)) * 3)
mlflow.set_experiment(sys.argv[1])
with mlflow.start_run() as run:
    mlflow.log_artifact(single)
    mlflow.log_artifact(single, "docs")
    mlflow.log_artifacts(os.path.join(work, "tree"), "tree")
    mlflow.log_dict({"lr": 0.1, "layers": [1, 2]}, "config/params.json")
    mlflow.log_dict({"k": "v"}, "config/params.yaml")
    mlflow.log_text("plain text \\u2713", "notes/readme.md")
    fig, ax = plt.subplots(figsize=(2, 1), dpi=50)
    ax.plot([0, 1], [1, 0])
    mlflow.log_figure(fig, "plots/line.png")
    mlflow.log_table({"a": [1, 2], "b": ["x", "y"]}, "tables/t.json")

c = MlflowClient()
rid, root = run.info.run_id, run.info.artifact_uri
def listing(path=None):
    return sorted([f.path, f.is_dir, f.file_size] for f in c.list_artifacts(rid, path))
local = mlflow.artifacts.download_artifacts(run_id=rid, dst_path=tempfile.mkdtemp())
digests = {}
for where, _, names in os.walk(local):
    for name in names:
        path = os.path.join(where, name)
        with open(path, "rb") as f:
            digests[os.path.relpath(path, local)] = hashlib.sha256(f.read()).hexdigest()
one = mlflow.artifacts.download_artifacts(
    artifact_uri=root + "/tree/deep/b.bin", dst_path=tempfile.mkdtemp()
)
with open(one, "rb") as f:
    one_digest = hashlib.sha256(f.read()).hexdigest()
image = plt.imread(os.path.join(local, "plots", "line.png"))
table = mlflow.load_table("tables/t.json", run_ids=[rid])
print(json.dumps({
    "run_id": rid, "artifact_uri": root,
    "root": listing(), "tree": listing("tree"), "deep": listing("tree/deep"),
    "file": listing("notes.txt"), "missing": listing("no/such"),
    "digests": digests, "one": [os.path.basename(one), one_digest],
    "dict": mlflow.artifacts.load_dict(root + "/config/params.json"),
    "yaml": yaml.safe_load(mlflow.artifacts.load_text(root + "/config/params.yaml")),
    "text": mlflow.artifacts.load_text(root + "/notes/readme.md"),
    "image": [image.shape[0], image.shape[1]],
    "table": {k: [v for v in col] for k, col in table[["a", "b"]].to_dict("list").items()},
}))
"""


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_daily_artifact_calls_read_back(mlflow_client: Any) -> None:
    out = mlflow_client(DAILY, f"artifacts-{uuid.uuid4().hex[:10]}")
    assert out["artifact_uri"].startswith("mlflow-artifacts:/")
    assert out["artifact_uri"].endswith(f"/{out['run_id']}/artifacts")
    dirs: list[list[Any]] = [[name, True, None] for name in ("config", "docs", "notes")]
    notes = ["notes.txt", False, len(KNOWN["notes.txt"])]
    assert out["root"] == [
        *dirs,
        notes,
        *([name, True, None] for name in ("plots", "tables", "tree")),
    ]
    assert out["tree"] == [["tree/a.csv", False, 8], ["tree/deep", True, None]]
    assert out["deep"] == [["tree/deep/b.bin", False, 768]]
    assert out["file"] == out["missing"] == []  # listing a file or nothing lists nothing
    digests = out["digests"]
    assert set(digests) == {
        *KNOWN,
        "config/params.json",
        "config/params.yaml",
        "notes/readme.md",
        "plots/line.png",
        "tables/t.json",
    }
    assert {path: digests[path] for path in KNOWN} == {p: _sha(b) for p, b in KNOWN.items()}
    assert out["one"] == ["b.bin", _sha(KNOWN["tree/deep/b.bin"])]
    assert out["dict"] == {"lr": 0.1, "layers": [1, 2]}
    assert out["yaml"] == {"k": "v"}
    assert out["text"] == "plain text \u2713"
    assert out["image"] == [50, 100]  # 2x1 inches at 50 dpi, decoded from the stored PNG
    assert out["table"] == {"a": [1, 2], "b": ["x", "y"]}


LARGE = """
import hashlib, json, os, sys, tempfile, time
import mlflow
from mlflow import MlflowClient
size = int(sys.argv[1])
work = tempfile.mkdtemp()
path = os.path.join(work, "big.bin")
digest = hashlib.sha256()
with open(path, "wb") as f:
    for _ in range(size // (1 << 20)):
        block = os.urandom(1 << 20)
        digest.update(block)
        f.write(block)
with mlflow.start_run() as run:
    started = time.monotonic()
    mlflow.log_artifact(path, "blobs")
    uploaded = time.monotonic() - started
listed = MlflowClient().list_artifacts(run.info.run_id, "blobs")
started = time.monotonic()
local = mlflow.artifacts.download_artifacts(
    run_id=run.info.run_id, artifact_path="blobs/big.bin", dst_path=tempfile.mkdtemp()
)
downloaded = time.monotonic() - started
back = hashlib.sha256()
with open(local, "rb") as f:
    while chunk := f.read(1 << 20):
        back.update(chunk)
print(json.dumps({
    "run_id": run.info.run_id, "sent": digest.hexdigest(), "back": back.hexdigest(),
    "listed": [[f.path, f.file_size] for f in listed], "size": os.path.getsize(local),
    "seconds": [uploaded, downloaded],
}))
"""

LARGE_BYTES = 24 << 20


def test_a_large_artifact_round_trips(mlflow_client: Any) -> None:
    """24 MiB up and back down through the proxy, bytes equal (the server streams both ways;
    a buffered proxy would also pass this, ``test_artifacts_wire`` checks the headers)."""
    out = mlflow_client(LARGE, str(LARGE_BYTES))
    assert out["size"] == LARGE_BYTES
    assert out["back"] == out["sent"]
    assert out["listed"] == [["blobs/big.bin", LARGE_BYTES]]


DIGESTS = """
import json, os, sys, tempfile
import mlflow
work = tempfile.mkdtemp()
with open(os.path.join(work, "weights.bin"), "wb") as f:
    f.write(bytes.fromhex(sys.argv[1]))
with mlflow.start_run() as run:
    mlflow.log_artifact(os.path.join(work, "weights.bin"), "model")
    mlflow.log_text(sys.argv[2], "model/card.md")
print(json.dumps({"run_id": run.info.run_id}))
"""


def test_mlflow_uploads_are_content_addressed_in_clew(clew_only: Any, mlflow3_client: Any) -> None:
    """A file the MLflow client uploaded has, in Clew's native listing, the sha256 of its
    bytes, and its upload is in the audit log: MLflow-client writes are governed like Clew's."""
    weights, card = uuid.uuid4().bytes * 1000, f"card {uuid.uuid4().hex}"
    out = mlflow3_client(DIGESTS, weights.hex(), card)
    run_id = out["run_id"]
    base = clew_only.url + "/api/v1"
    listed = httpx.get(f"{base}/runs/{run_id}/artifacts", params={"path": "model"})
    assert listed.status_code == 200, listed.text
    files = {f["path"]: (f["digest"], f["size"]) for f in listed.json()["files"]}
    assert files == {
        "model/weights.bin": (_sha(weights), len(weights)),
        "model/card.md": (_sha(card.encode()), len(card)),
    }
    download = httpx.get(f"{base}/runs/{run_id}/artifacts/model/weights.bin")
    assert download.headers["x-clew-digest"] == f"sha256:{_sha(weights)}"
    events = httpx.get(
        f"{base}/audit/events",
        params={"action": "artifact.log", "resource_type": "run", "resource_id": run_id},
    ).json()["events"]
    logged = {e["summary"]["path"]: e["summary"]["digest"] for e in events}
    assert logged == {"model/weights.bin": _sha(weights), "model/card.md": _sha(card.encode())}
