"""Artifacts through the SDK: files, directories, text, dicts, figures, download, streaming."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from clew import Client, InvalidPath
from tests.conftest import need

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _read(client: Client, run_id: str, path: str) -> bytes:
    with client.open_artifact(run_id, path) as chunks:
        return b"".join(chunks)


def test_log_file_and_list(client: Client, tmp_path: Path) -> None:
    f = tmp_path / "model.bin"
    f.write_bytes(b"\x00\x01" * 1000)
    run = client.create_run()
    info = client.log_artifact(run.run_id, f)
    assert (info.path, info.size) == ("model.bin", 2000)
    client.log_artifact(run.run_id, f, "sub/dir")
    listed = {(i.path, i.is_dir) for i in client.list_artifacts(run.run_id)}
    assert listed == {("model.bin", False), ("sub", True)}
    assert [i.path for i in client.list_artifacts(run.run_id, "sub/dir")] == ["sub/dir/model.bin"]
    assert _read(client, run.run_id, "sub/dir/model.bin") == f.read_bytes()


def test_log_directory_and_download(client: Client, tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "nested").mkdir(parents=True)
    (src / "a.txt").write_text("a")
    (src / "nested" / "b.txt").write_text("b")
    run = client.create_run()
    client.log_artifacts(run.run_id, src, "data")
    out = Path(client.download_artifacts(run.run_id, "data", tmp_path / "out"))
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert files == ["a.txt", "nested/b.txt"]
    whole = Path(client.download_artifacts(run.run_id))
    assert (whole / "data" / "nested" / "b.txt").read_text() == "b"


def test_log_text_and_dict(client: Client) -> None:
    run = client.create_run()
    client.log_text(run.run_id, "héllo", "notes/readme.md")
    client.log_dict(run.run_id, {"lr": 0.1, "layers": [1, 2]}, "config.json")
    assert _read(client, run.run_id, "notes/readme.md").decode() == "héllo"
    assert json.loads(_read(client, run.run_id, "config.json")) == {"lr": 0.1, "layers": [1, 2]}


def test_log_dict_as_yaml(client: Client) -> None:
    yaml = need("yaml")
    run = client.create_run()
    client.log_dict(run.run_id, {"lr": 0.1}, "config.yaml")
    assert yaml.safe_load(_read(client, run.run_id, "config.yaml")) == {"lr": 0.1}


def test_log_figure(client: Client) -> None:
    if not IN_CI:
        need("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure()
    fig.add_subplot().plot([0, 1], [1, 0])
    run = client.create_run()
    client.log_figure(run.run_id, fig, "plots/curve.png")
    assert _read(client, run.run_id, "plots/curve.png").startswith(b"\x89PNG")


@pytest.mark.parametrize(
    "bad",
    ["../escape.txt", "/etc/passwd", "a/%2e%2e/%2e%2e/b"],
    ids=["dotdot", "absolute", "encoded"],
)
def test_bad_artifact_paths_are_refused_before_upload(client: Client, bad: str) -> None:
    run = client.create_run()
    with pytest.raises(InvalidPath):
        client.log_text(run.run_id, "x", bad)
    assert client.list_artifacts(run.run_id) == []
