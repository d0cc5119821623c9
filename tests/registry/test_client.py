"""The registry through ``clew.Client``, on both transports (local and HTTP) and both databases.

The same suite as tracking's SDK tests: one behaviour per test, run unchanged over each
transport, so local and HTTP cannot drift apart.
"""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest

from clew.client import registry_methods
from clew.client.client import Client
from clew.client.local import LocalTransport
from clew.core.errors import (
    AlreadyExists,
    InvalidFilter,
    InvalidModelName,
    InvalidSource,
    NotFound,
)
from clew.core.settings import Settings


def _run_with_model(client: Client) -> str:
    run = client.create_run(run_name="train")
    client.log_text(run.run_id, "flavors: {}\n", "model/MLmodel")
    client.log_text(run.run_id, "weights", "model/model.pkl")
    return run.run_id


def test_model_lifecycle(client: Client) -> None:
    created = client.create_registered_model("churn", tags={"team": "ml"}, description="d")
    assert client.get_registered_model("churn") == created
    client.set_registered_model_tag("churn", "stage", 2)
    client.delete_registered_model_tag("churn", "team")
    assert client.update_registered_model("churn", "new").description == "new"
    renamed = client.rename_registered_model("churn", "churn-v2")
    assert (renamed.name, renamed.tags) == ("churn-v2", {"stage": "2"})
    with pytest.raises(AlreadyExists):
        client.create_registered_model("churn-v2")
    client.delete_registered_model("churn-v2")
    with pytest.raises(NotFound):
        client.get_registered_model("churn-v2")


def test_versions_from_runs_and_their_files(client: Client) -> None:
    run_id = _run_with_model(client)
    client.create_registered_model("m")
    mv = client.create_model_version("m", f"runs:/{run_id}/model", tags={"ok": True})
    assert (mv.version, mv.run_id, mv.tags) == (1, run_id, {"ok": "True"})
    assert client.get_model_version("m", "1") == mv
    files = client.list_model_version_files("m", 1)
    assert [(f.path, f.size) for f in files] == [("MLmodel", 12), ("model.pkl", 7)]
    assert client.verify_model_version("m", 1).ok
    client.set_model_version_tag("m", 1, "k", "v")
    client.delete_model_version_tag("m", 1, "ok")
    updated = client.update_model_version("m", 1, description="first")
    assert (updated.description, updated.tags) == ("first", {"k": "v"})
    client.delete_model_version("m", 1)
    with pytest.raises(NotFound):
        client.get_model_version("m", 1)


def test_aliases_stages_and_history(client: Client) -> None:
    client.create_registered_model("m")
    for i in range(3):
        client.create_model_version("m", f"s3://bucket/m/{i}")
    client.set_registered_model_alias("m", "champion", 1)
    client.set_registered_model_alias("m", "champion", "2")
    assert client.get_model_version_by_alias("m", "champion").aliases == ("champion",)
    assert client.resolve_model_uri("models:/m@champion").version == 2
    assert client.get_registered_model("m").aliases == {"champion": 2}
    client.transition_model_version_stage("m", 3, "Production")
    client.transition_model_version_stage("m", 1, "Production", archive_existing_versions=True)
    assert [(v.version, v.current_stage) for v in client.get_latest_versions("m")] == [
        (1, "Production"),
        (2, "None"),
        (3, "Archived"),
    ]
    assert [v.version for v in client.get_latest_versions("m", ["Production", "Staging"])] == [1]
    client.delete_registered_model_alias("m", "champion")
    history = client.get_alias_history("m", "champion")
    assert [(m.version, m.previous) for m in history.moves] == [(1, None), (2, 1), (None, 2)]
    at = history.moves[1].time
    assert client.get_alias_history("m", "champion", at=at).version_at in (1, 2)
    stages = [m.stage for m in client.get_alias_history("m").moves if m.stage]
    assert stages == ["Production", "Production"]


def test_search(client: Client) -> None:
    for name in ("a1", "a2", "b1"):
        client.create_registered_model(name, tags={"team": name[0]})
        client.create_model_version(name, f"s3://bucket/{name}")
    page = client.search_registered_models("tags.team = 'a'", max_results=1)
    assert [m.name for m in page] == ["a1"] and page.next_page_token
    rest = client.search_registered_models(
        "tags.team = 'a'", max_results=1, page_token=page.next_page_token
    )
    assert [m.name for m in rest] == ["a2"] and rest.next_page_token is None
    versions = client.search_model_versions("name LIKE 'a%'", order_by=["name DESC"])
    assert [(v.name, v.version) for v in versions] == [("a2", 1), ("a1", 1)]
    with pytest.raises(InvalidFilter):
        client.search_model_versions("name ~ 'a'")


@pytest.mark.parametrize(
    "source",
    [
        "file:///etc/passwd",
        "//proc/self/root",
        "s3://bucket/a/../../etc",
        "s3://bucket/a%2f..%2f..%2fetc",
        "https://host/x?y=1",
        "https://host/x#frag",
    ],
)
def test_bad_sources_raise_the_same_error_on_both_transports(
    client: Client,
    source: str,
) -> None:
    client.create_registered_model("m")
    with pytest.raises(InvalidSource):
        client.create_model_version("m", source)


@pytest.mark.parametrize("name", ["a/b", "a\\b", "..", "x..y", "m%6fdel"])
def test_bad_names_raise_invalid_model_name(client: Client, name: str) -> None:
    with pytest.raises(InvalidModelName):
        client.create_registered_model(name)


def test_docstring_examples_run(clew_home: Path) -> None:
    local = Client(transport=LocalTransport(Settings(home=clew_home)))
    try:
        result = doctest.testmod(
            registry_methods, extraglobs={"client": local}, raise_on_error=False, verbose=False
        )
    finally:
        local.close()
    assert result.failed == 0 and result.attempted > 0
