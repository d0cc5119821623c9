"""The model registry through the real ``mlflow`` client (3.x and 2.x): registered models,
versions, tags, aliases, the deprecated stages, errors. Every check reads values back.

Each test is one client script (a launch costs ~2 s), printing what it read; the assertions
are here. Names are unique per test: the server is shared by the module and both clients.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.server.mlflow_compat.registry_setup import make_logged_model, make_run
from tests.server.mlflow_compat.scripts import PRELUDE, unique

pytestmark = pytest.mark.server

_PRELUDE = (
    PRELUDE
    + """
def mv_(mv):
    return {"version": str(mv.version), "stage": mv.current_stage, "source": mv.source,
            "run_id": mv.run_id, "status": mv.status, "description": mv.description,
            "tags": dict(mv.tags), "aliases": sorted(mv.aliases)}
"""
)


REGISTERED_MODELS = (
    _PRELUDE
    + """
name, renamed = sys.argv[1], sys.argv[2]
out = {}
rm = c.create_registered_model(name, tags={"team": "ml", "tier": "1"}, description="first")
out["created"] = [rm.name, rm.description, dict(rm.tags), rm.creation_timestamp > 0]
out["duplicate"] = code(c.create_registered_model, name)
c.update_registered_model(name, description="second")
c.set_registered_model_tag(name, "owner", "alice")
c.delete_registered_model_tag(name, "tier")
c.delete_registered_model_tag(name, "never-set")
got = c.get_registered_model(name)
out["updated"] = [got.description, dict(got.tags), got.last_updated_timestamp >= got.creation_timestamp]
c.rename_registered_model(name, renamed)
out["renamed"] = c.get_registered_model(renamed).name
out["old_name"] = code(c.get_registered_model, name)
out["after_rename"] = [c.get_registered_model(renamed).description, dict(c.get_registered_model(renamed).tags)]
c.delete_registered_model(renamed)
out["deleted"] = code(c.get_registered_model, renamed)
out["delete_missing"] = code(c.delete_registered_model, renamed)
out["tag_missing_model"] = code(c.set_registered_model_tag, renamed, "k", "v")
print(json.dumps(out))
"""
)


def test_registered_model_lifecycle(mlflow_client: Any) -> None:
    name, renamed = unique("rm"), unique("rm-renamed")
    out = mlflow_client(REGISTERED_MODELS, name, renamed)
    assert out["created"] == [name, "first", {"team": "ml", "tier": "1"}, True]
    assert out["duplicate"] == "RESOURCE_ALREADY_EXISTS"
    assert out["updated"] == ["second", {"team": "ml", "owner": "alice"}, True]
    assert out["renamed"] == renamed
    assert out["old_name"] == "RESOURCE_DOES_NOT_EXIST"
    assert out["after_rename"] == ["second", {"team": "ml", "owner": "alice"}]
    assert out["deleted"] == out["delete_missing"] == "RESOURCE_DOES_NOT_EXIST"
    assert out["tag_missing_model"] == "RESOURCE_DOES_NOT_EXIST"


VERSIONS_AND_ALIASES = (
    _PRELUDE
    + """
name, run_id, source, runs_source = sys.argv[1:5]
out = {}
c.create_registered_model(name)
v1 = c.create_model_version(name, source, run_id=run_id, tags={"validated": "true"},
                            description="v1")
out["v1"] = mv_(v1)
v2 = c.create_model_version(name, runs_source, run_id=run_id)
out["v2"] = mv_(v2)
out["get"] = mv_(c.get_model_version(name, "1"))
c.update_model_version(name, "1", description="better")
c.set_model_version_tag(name, "1", "k", "v")
c.delete_model_version_tag(name, "1", "validated")
c.delete_model_version_tag(name, "1", "never-set")
out["updated"] = mv_(c.get_model_version(name, "1"))
c.set_registered_model_alias(name, "champion", "1")
c.set_registered_model_alias(name, "challenger", "2")
out["by_alias"] = mv_(c.get_model_version_by_alias(name, "champion"))
out["model_aliases"] = dict(c.get_registered_model(name).aliases)
c.set_registered_model_alias(name, "champion", "2")
out["moved"] = dict(c.get_registered_model(name).aliases)
c.delete_registered_model_alias(name, "challenger")
c.delete_registered_model_alias(name, "never-set")
out["alias_deleted"] = code(c.get_model_version_by_alias, name, "challenger")
out["aliases_left"] = dict(c.get_registered_model(name).aliases)
out["download_uri"] = c.get_model_version_download_uri(name, "1")
out["missing_version"] = code(c.get_model_version, name, "99")
out["missing_model"] = code(c.create_model_version, name + "-nope", source, run_id=run_id)
c.delete_model_version(name, "2")
out["v2_deleted"] = code(c.get_model_version, name, "2")
out["aliases_after_delete"] = dict(c.get_registered_model(name).aliases)
out["v3"] = c.create_model_version(name, source, run_id=run_id).version
print(json.dumps(out))
"""
)


def test_versions_tags_and_aliases(mlflow_client: Any, compat_server: Any) -> None:
    run = make_run(compat_server, mlflow_client)
    name = unique("mv")
    runs_source = f"runs:/{run.run_id}/model"
    out = mlflow_client(VERSIONS_AND_ALIASES, name, run.run_id, run.model_source, runs_source)
    assert out["v1"] == {
        "version": "1",
        "stage": "None",
        "source": run.model_source,
        "run_id": run.run_id,
        "status": "READY",
        "description": "v1",
        "tags": {"validated": "true"},
        "aliases": [],
    }
    assert (out["v2"]["version"], out["v2"]["source"]) == ("2", runs_source)
    assert out["get"] == out["v1"]
    assert out["updated"]["description"] == "better"
    assert out["updated"]["tags"] == {"k": "v"}
    assert out["by_alias"]["version"] == "1" and out["by_alias"]["aliases"] == ["champion"]
    assert out["model_aliases"] == {"champion": "1", "challenger": "2"}
    assert out["moved"] == {"champion": "2", "challenger": "2"}
    assert out["alias_deleted"] == "INVALID_PARAMETER_VALUE"  # MLflow's code, not a 404
    assert out["aliases_left"] == {"champion": "2"}
    assert out["download_uri"] == run.model_source
    assert out["missing_version"] == out["missing_model"] == "RESOURCE_DOES_NOT_EXIST"
    assert out["v2_deleted"] == "RESOURCE_DOES_NOT_EXIST"
    assert out["aliases_after_delete"] == {}
    assert out["v3"] == "3"  # numbers are never handed out again


STAGES = (
    _PRELUDE
    + """
name, run_id, source = sys.argv[1:4]
out = {}
c.create_registered_model(name)
for _ in range(4):
    c.create_model_version(name, source, run_id=run_id)
out["staging"] = mv_(c.transition_model_version_stage(name, "1", "Staging"))["stage"]
out["lowercase"] = mv_(c.transition_model_version_stage(name, "2", "production"))["stage"]
out["archiving"] = c.transition_model_version_stage(
    name, "3", "Production", archive_existing_versions=True).current_stage
out["stages"] = {str(v): c.get_model_version(name, str(v)).current_stage for v in range(1, 5)}
out["latest_all"] = sorted([mv.version, mv.current_stage] for mv in c.get_latest_versions(name))
out["latest_production"] = [mv.version for mv in c.get_latest_versions(name, ["Production"])]
out["latest_two"] = sorted(mv.version for mv in c.get_latest_versions(name, ["Staging", "None"]))
out["latest_archived"] = [mv.version for mv in c.get_latest_versions(name, ["Archived"])]
out["registered_latest"] = sorted(
    [mv.version, mv.current_stage] for mv in c.get_registered_model(name).latest_versions)
out["bad_stage"] = code(c.transition_model_version_stage, name, "1", "Bogus")
out["archive_from_archived"] = code(
    c.transition_model_version_stage, name, "1", "Archived", archive_existing_versions=True)
out["back_to_none"] = c.transition_model_version_stage(name, "1", "None").current_stage
out["missing"] = code(c.get_latest_versions, name + "-nope")
print(json.dumps(out))
"""
)


def test_stages_and_latest_versions(mlflow_client: Any, compat_server: Any) -> None:
    run = make_run(compat_server, mlflow_client)
    out = mlflow_client(STAGES, unique("stages"), run.run_id, run.model_source)
    assert (out["staging"], out["lowercase"], out["archiving"]) == (
        "Staging",
        "Production",
        "Production",
    )
    assert out["stages"] == {"1": "Staging", "2": "Archived", "3": "Production", "4": "None"}
    assert out["latest_all"] == [
        ["1", "Staging"],
        ["2", "Archived"],
        ["3", "Production"],
        ["4", "None"],
    ]
    assert out["registered_latest"] == out["latest_all"]
    assert out["latest_production"] == ["3"]
    assert out["latest_two"] == ["1", "4"]
    assert out["latest_archived"] == ["2"]
    assert out["bad_stage"] == "INVALID_PARAMETER_VALUE"
    # Refused by both; MLflow answers INTERNAL_ERROR (a 500 its client retries), Clew a 400.
    assert out["archive_from_archived"] is not None
    assert out["back_to_none"] == "None"
    assert out["missing"] == "RESOURCE_DOES_NOT_EXIST"


SEARCH = (
    _PRELUDE
    + """
p, run_id, source, other_run, other_source = sys.argv[1:6]
out = {}
for suffix, tags in (("a", {"team": "ml"}), ("b", {"team": "ml"}), ("c", {"team": "ops"})):
    c.create_registered_model(f"{p}-{suffix}", tags=tags)
# A prompt is a registered model with this tag (MLflow 3's prompt registry); the clients hide
# prompts from model searches with a clause of their own, which must not hide the rest.
import os, requests
requests.post(os.environ["MLFLOW_TRACKING_URI"] + "/api/2.0/mlflow/registered-models/create",
              json={"name": f"{p}-prompt",
                    "tags": [{"key": "mlflow.prompt.is_prompt", "value": "true"}]}
              ).raise_for_status()
for tags in ({"validated": "true"}, {}, {"validated": "true"}):
    c.create_model_version(f"{p}-a", source, run_id=run_id, tags=tags)
c.create_model_version(f"{p}-b", other_source, run_id=other_run)

def names(page):
    return [m.name for m in page]

out["like"] = names(c.search_registered_models(f"name LIKE '{p}-%'"))
out["desc"] = names(c.search_registered_models(f"name LIKE '{p}-%'", order_by=["name DESC"]))
out["prompts"] = names(c.search_registered_models(
    f"name LIKE '{p}-%' AND tags.`mlflow.prompt.is_prompt` = 'true'"))
out["equals"] = names(c.search_registered_models(f"name = '{p}-b'"))
out["tagged"] = names(c.search_registered_models(f"name LIKE '{p}%' AND tags.team = 'ml'"))
first = c.search_registered_models(f"name LIKE '{p}-%'", max_results=2)
second = c.search_registered_models(f"name LIKE '{p}-%'", max_results=2, page_token=first.token)
out["pages"] = [names(first), bool(first.token), names(second), bool(second.token)]
out["with_versions"] = {m.name: sorted(v.version for v in m.latest_versions)
                        for m in c.search_registered_models(f"name LIKE '{p}-%'")}

def versions(page):
    return [[mv.name, mv.version] for mv in page]

out["v_name"] = versions(c.search_model_versions(f"name = '{p}-a'"))
out["v_asc"] = versions(c.search_model_versions(f"name = '{p}-a'", order_by=["version_number ASC"]))
out["v_run"] = versions(c.search_model_versions(f"run_id = '{other_run}'"))
out["v_tag"] = versions(c.search_model_versions(
    f"name = '{p}-a' AND tags.validated = 'true'", order_by=["version_number ASC"]))
out["v_like"] = versions(c.search_model_versions(
    f"name LIKE '{p}-%'", order_by=["name ASC", "version_number ASC"]))
out["v_source"] = versions(c.search_model_versions(f"source_path = '{other_source}'"))
first = c.search_model_versions(f"name = '{p}-a'", max_results=2, order_by=["version_number ASC"])
second = c.search_model_versions(f"name = '{p}-a'", max_results=2, order_by=["version_number ASC"],
                                 page_token=first.token)
out["v_pages"] = [versions(first), bool(first.token), versions(second), bool(second.token)]
out["bad_filter"] = code(c.search_registered_models, "bogus_attribute = 'x'")
out["bad_version_filter"] = code(c.search_model_versions, "bogus_attribute = 'x'")
print(json.dumps(out))
"""
)


def test_search_filters_order_and_paging(mlflow_client: Any, compat_server: Any) -> None:
    run, other = make_run(compat_server, mlflow_client), make_run(compat_server, mlflow_client)
    p = unique("search")
    out = mlflow_client(SEARCH, p, run.run_id, run.model_source, other.run_id, other.model_source)
    a, b, c = f"{p}-a", f"{p}-b", f"{p}-c"
    assert out["like"] == [a, b, c]
    assert out["desc"] == [c, b, a]
    assert out["equals"] == [b]
    assert out["prompts"] == [f"{p}-prompt"]
    assert out["tagged"] == [a, b]
    assert out["pages"] == [[a, b], True, [c], False]
    assert out["with_versions"] == {a: ["3"], b: ["1"], c: []}
    assert out["v_name"] == [[a, "3"], [a, "2"], [a, "1"]]
    assert out["v_asc"] == [[a, "1"], [a, "2"], [a, "3"]]
    assert out["v_run"] == [[b, "1"]]
    assert out["v_tag"] == [[a, "1"], [a, "3"]]
    assert out["v_like"] == [[a, "1"], [a, "2"], [a, "3"], [b, "1"]]
    assert out["v_source"] == [[b, "1"]]
    assert out["v_pages"] == [[[a, "1"], [a, "2"]], True, [[a, "3"]], False]
    assert out["bad_filter"] == out["bad_version_filter"] == "INVALID_PARAMETER_VALUE"


LOGGED_MODEL_SOURCE = (
    _PRELUDE
    + """
name, model_id = sys.argv[1:3]
c.create_registered_model(name)
mv = c.create_model_version(name, f"models:/{model_id}", model_id=model_id)
got = c.get_model_version(name, mv.version)
print(json.dumps({"created": mv_(mv), "get": mv_(got),
                  "download_uri": c.get_model_version_download_uri(name, mv.version)}))
"""
)


def test_version_of_a_logged_model(mlflow3_client: Any, compat_server: Any) -> None:
    """MLflow 3 registers ``models:/m-…`` with ``model_id``; the run comes from the model.
    (MLflow 3.17's server answers no ``model_id`` on the version; Clew does, see
    ``test_registry_governance``.)"""
    model = make_logged_model(compat_server, mlflow3_client)
    out = mlflow3_client(LOGGED_MODEL_SOURCE, unique("lm"), model.model_id)
    assert out["created"]["source"] == f"models:/{model.model_id}"
    assert out["created"]["run_id"] == model.run_id
    assert out["get"] == out["created"]
    assert out["download_uri"] == model.artifact_uri


def test_wire_shapes_and_errors(compat_server: Any) -> None:
    """What a client of the raw REST API sees: statuses, codes, strings for versions, empty
    fields left out, GET fields in the query string, DELETE fields in a JSON body."""
    api, ajax = compat_server.url + "/api/2.0/mlflow", compat_server.url + "/ajax-api/2.0/mlflow"
    name = unique("wire")
    created = httpx.post(ajax + "/registered-models/create", json={"name": name})
    assert created.status_code == 200
    assert "aliases" not in created.json()["registered_model"]
    duplicate = httpx.post(api + "/registered-models/create", json={"name": name})
    assert (duplicate.status_code, duplicate.json()["error_code"]) == (
        400,
        "RESOURCE_ALREADY_EXISTS",
    )
    missing = httpx.post(api + "/registered-models/create", json={})
    assert (missing.status_code, missing.json()["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    unknown = httpx.get(api + "/registered-models/get", params={"name": name + "-nope"})
    assert (unknown.status_code, unknown.json()["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
    version = httpx.post(
        api + "/model-versions/create", json={"name": name, "source": "s3://bucket/model"}
    ).json()["model_version"]
    assert (version["version"], version["current_stage"], version["status"]) == (
        "1",
        "None",
        "READY",
    )
    latest = httpx.get(
        api + "/registered-models/get-latest-versions",
        params=[("name", name), ("stages", "None"), ("stages", "Production")],
    ).json()
    assert [mv["version"] for mv in latest["model_versions"]] == ["1"]
    assert "run_link" not in version  # empty: left out
    link = "https://ui.example/#/runs/abc"
    linked = httpx.post(
        api + "/model-versions/create",
        json={"name": name, "source": "s3://bucket/model", "run_link": link},
    ).json()["model_version"]
    got = httpx.get(api + "/model-versions/get", params={"name": name, "version": "2"}).json()
    assert linked["run_link"] == got["model_version"]["run_link"] == link
    gone = httpx.request("DELETE", api + "/registered-models/delete", json={"name": name})
    assert (gone.status_code, gone.json()) == (200, {})
    after = httpx.get(ajax + "/registered-models/get", params={"name": name})
    assert after.status_code == 404
