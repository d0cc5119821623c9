"""The security reference's MLflow payloads (security.md §1a-§1e, §5) replayed against a server.

Every payload is something a CVE once turned into a file read, a file write or a request to a
private address. Against Clew each one must be refused with MLflow's error JSON (4xx and an
``error_code``). Against either server (``--against-mlflow`` too) the side effects must be nil:

- a **canary** file outside the artifact store (random bytes, a random name) never appears in
  any answer, nor does ``/etc/passwd``;
- the canary's directory (the "outside") is unchanged after every write attempt, and the canary
  survives every delete attempt;
- the artifact store's own files are unchanged by a refused write (nothing half-stored);
- a **loopback listener** that counts every connection sees none, whatever URI points at it.

The parts (canary, listener, byte-exact requests) are in ``security_harness``. The positive
controls (a plain file round-trips through the same routes) show that a refusal is the
validator's, not a missing route's.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest

from tests.server.mlflow_compat.security_harness import (
    PROXY,
    RPC,
    UP,
    Answer,
    Listener,
    Outside,
    Target,
    assert_refused,
    assert_safe,
    call,
    make_outside,
    raw,
    seed_target,
)


@pytest.fixture(scope="module")
def outside(tmp_path_factory: pytest.TempPathFactory) -> Outside:
    return make_outside(tmp_path_factory.mktemp("outside-the-store"))


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    srv = Listener()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def target(compat_server: Any, outside: Outside, listener: Listener) -> Target:
    return seed_target(compat_server, outside, listener)


# ---- §1a / §5.1-6: traversal in an artifact path -----------------------------------------------


#: Paths that leave a run's root. ``{rel}`` is the aim without its leading ``/`` (the canary,
#: ``etc/passwd``, or a new file next to the canary), ``{relb}`` the same with backslashes.
ESCAPES = [
    UP + "{rel}",
    "%2e%2e%2f" * 24 + "{rel}",
    "%2E%2E%2F" * 24 + "{rel}",
    "%252e%252e%252f" * 24 + "{rel}",
    "%2%0952e%2%0952e/" * 24 + "{rel}",
    "%2%0A52e%2%0A52e/" * 24 + "{rel}",
    "..%2f" * 24 + "{rel}",
    "..%5c" * 24 + "{relb}",
    "..\\" * 24 + "{relb}",
    "/{rel}",
    "%2F{rel}",
    "file:///{rel}",
    "file%3A%2F%2F%2F{rel}",
    UP + "{rel}%00.txt",
    "a/" + "../" * 25 + "{rel}",
    "a/./" + "%2e%2e/" * 25 + "{rel}",
    "a%23/" + UP + "{rel}",
    "a%3f/" + UP + "{rel}",
    "a%3b/" + UP + "{rel}",
    "a;/" + UP + "{rel}",
    "C:..\\{relb}",
    "C:{rel}",
    "\\\\?\\C:\\{relb}",
    "\\\\127.0.0.1\\c$\\{relb}",
    "::Windows\\System32\\{relb}",
    "....\\\\" * 12 + "{relb}",
    "/Windows\\..\\" + UP + "{rel}",
]


ESCAPE_IDS = [
    f"{i}-{t.replace('{rel}', '').replace('{relb}', '')[:24]}" for i, t in enumerate(ESCAPES)
]


def _aim(template: str, path: Path | str) -> str:
    rel = str(path).lstrip("/")
    return template.format(rel=rel, relb=rel.replace("/", "\\"))


@pytest.mark.parametrize("template", ESCAPES, ids=ESCAPE_IDS)
@pytest.mark.parametrize("where", ["in_run", "at_root"])
def test_proxy_get_never_reads_outside(target: Target, template: str, where: str) -> None:
    base = f"{PROXY}/{target.run_path}/" if where == "in_run" else f"{PROXY}/"
    for aim in (target.outside.canary, "etc/passwd"):
        assert_refused(target, raw(target.url, "GET", base + _aim(template, aim)))


@pytest.mark.parametrize("template", ESCAPES, ids=ESCAPE_IDS)
def test_proxy_put_writes_nothing(target: Target, template: str) -> None:
    payload = _aim(template, target.outside.root / "pwned.txt")
    before_out, before_store = target.outside.snapshot(), target.store_files()
    answers = [
        raw(target.url, "PUT", base + payload, b"pwned")
        for base in (f"{PROXY}/{target.run_path}/", f"{PROXY}/")
    ]
    for answer in answers:
        assert_refused(target, answer)
    assert target.outside.snapshot() == before_out, "a file outside the store was written"
    if all(a.status >= 400 for a in answers):  # MLflow on POSIX stores "C:x" as a name, inside
        assert target.store_files() == before_store, "a refused upload left a file in the store"


@pytest.mark.parametrize("template", ESCAPES, ids=ESCAPE_IDS)
def test_proxy_delete_removes_nothing(target: Target, template: str) -> None:
    payload = _aim(template, target.outside.canary)
    for base in (f"{PROXY}/{target.run_path}/", f"{PROXY}/"):
        assert_refused(target, raw(target.url, "DELETE", base + payload))
    assert target.outside.canary.read_bytes() == target.outside.secret
    ok = raw(target.url, "GET", f"{PROXY}/{target.run_path}/ok.txt")
    assert (ok.status, ok.body) == (200, b"fine")


@pytest.mark.parametrize("template", ESCAPES, ids=ESCAPE_IDS)
def test_listings_never_list_outside(target: Target, template: str) -> None:
    """The same escapes as a ``path`` field: the client would send them one layer less
    encoded, and the directory holding the canary is the aim (a listing names its files)."""
    payload = unquote(_aim(template, target.outside.canary))
    parent = payload.rsplit("/", 1)[0] if "/" in payload else payload
    for path in (payload, parent):
        with httpx.Client(base_url=target.url, timeout=30) as client:
            listed = client.get(
                RPC + "/artifacts/list", params={"run_id": target.run_id, "path": path}
            )
            proxied = client.get(PROXY, params={"path": f"{target.run_path}/{path}"})
        for response in (listed, proxied):
            answer = Answer(response.status_code, response.content)
            assert_safe(target, answer)
            if target.strict:
                assert_refused(target, answer)


def test_legit_names_round_trip(target: Target) -> None:
    """§5.7: names the validator must not refuse; bytes come back identical."""
    for name, encoded in (
        ("dog%step%100%timestamp%100", "dog%25step%25100%25timestamp%25100"),
        ("a b/ü.txt", "a%20b/%C3%BC.txt"),
    ):
        body = secrets.token_bytes(64)
        put = raw(target.url, "PUT", f"{PROXY}/{target.run_path}/legit/{encoded}", body)
        assert put.status == 200, (name, put.body)
        got = raw(target.url, "GET", f"{PROXY}/{target.run_path}/legit/{encoded}")
        assert (got.status, got.body) == (200, body), name


def test_a_path_is_stored_at_its_canonical_form(target: Target) -> None:
    """§5.8: ``a/./b`` lands at ``a/b`` and only there (Clew canonicalises; MLflow 3.17 refuses
    it, with a 500, and then nothing may be stored)."""
    body = secrets.token_bytes(32)
    put = raw(target.url, "PUT", f"{PROXY}/{target.run_path}/canon/a/./b.txt", body)
    assert_safe(target, put)
    got = raw(target.url, "GET", f"{PROXY}/{target.run_path}/canon/a/b.txt")
    listed = call(
        target.url, "GET", "/artifacts/list", {"run_id": target.run_id, "path": "canon/a"}
    )
    if put.status != 200:
        assert not target.strict, put.body
        assert got.status != 200 and b"canon/a/b.txt" not in listed.body
        return
    assert (got.status, got.body) == (200, body)
    assert listed.status == 200, listed.body
    assert [f["path"] for f in listed.json()["files"]] == ["canon/a/b.txt"]


# ---- §1b / §5.11-18: URIs stored in model-version sources --------------------------------------


#: Sources a CVE once resolved on the server's disk or fetched. ``{d}`` is the canary's
#: directory, ``{du}`` the same without its leading ``/``, ``{e}``/``{r}`` the target's
#: experiment and run, ``{m}`` its registered model. The second item: extra fields.
RUN: dict[str, Any] = {"run_id": "{r}"}
PROMPT: dict[str, Any] = {"tags": [{"key": "mlflow.prompt.is_prompt", "value": "true"}]}
SOURCES: list[tuple[str, dict[str, Any]]] = [
    ("file://{d}/", {}),
    ("file://{d}/", RUN),
    ("file:///etc/", {}),
    ("file://./{du}", {}),
    ("file://somehost{d}", RUN),
    ("{d}", {}),
    ("{d}", RUN),
    ("/etc", PROMPT),
    ("{d}", {**RUN, **PROMPT}),
    ("//proc/self/root", {}),
    ("//proc/self/root{d}", RUN),
    ("mlflow-artifacts://h/models/../../../", {}),
    ("mlflow-artifacts://h/..%2f..%2f..%2f..%2f", {}),
    ("mlflow-artifacts:/{e}/{r}/artifacts/" + UP + "{du}", RUN),
    ("mlflow-artifacts:/{e}/{r}/artifacts/" + "%2e%2e/" * 24 + "{du}", RUN),
    ("mlflow-artifacts:/{e}/{r}/artifacts/a%3f/" + UP, RUN),
    ("mlflow-artifacts:/{e}/{r}/artifacts/a#/" + UP, RUN),
    ("runs:/{r}/" + UP + "{du}", RUN),
    ("runs:/{r}/" + "%252e%252e/" * 24, RUN),
    ("runs:/{r}/a?/" + UP, RUN),
    ("runs:/{r}/a;/" + UP, RUN),
    ("dbfs:/{r}/artifacts/a%3f/" + UP, {}),
    ("s3://b/x/../../y", {}),
    ("s3a://b/api/2.0/mlflow-artifacts/artifacts/../../../", {}),
    ("http://h/api/2.0/mlflow-artifacts/artifacts%00", {}),
    ("https://h/api/2.0/mlflow-artifacts/artifacts/../../../", {}),
    ("ftp://h:8888/a/../../../", {}),
    ("gopher://h/x", {}),
    ("jar:file:///x!/", {}),
    ("data:text/plain,x", {}),
    ("models:/{m}/1", {}),
]


def _fill(value: Any, t: Target) -> Any:
    if isinstance(value, str):
        d = str(t.outside.root)
        return value.format(d=d, du=d.lstrip("/"), e=t.experiment_id, r=t.run_id, m=t.model)
    if isinstance(value, dict):
        return {k: _fill(v, t) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, t) for v in value]
    return value


def _versions(target: Target) -> list[Any]:
    found = call(target.url, "GET", "/model-versions/search", {"filter": f"name='{target.model}'"})
    assert found.status == 200, found.body
    return list(found.json().get("model_versions", []))


def _read_back(target: Target, version: str) -> None:
    """The second half of every §1b chain: read the stored source back through the server."""
    for path in ("passwd", target.outside.canary.name, f"etc/{target.outside.canary.name}"):
        for route in ("/model-versions/get-artifact", "/get-artifact"):
            query = {
                "name": target.model,
                "version": version,
                "path": path,
                "run_uuid": target.run_id,
            }
            with httpx.Client(base_url=target.url, timeout=30) as client:
                response = client.get(route, params=query)
            assert_safe(target, Answer(response.status_code, response.content))
    uri = call(
        target.url,
        "GET",
        "/model-versions/get-download-uri",
        {"name": target.model, "version": version},
    )
    assert_safe(target, uri)


@pytest.mark.parametrize(("source", "extra"), SOURCES, ids=[s[:48] for s, _ in SOURCES])
def test_model_version_source_refused(target: Target, source: str, extra: dict[str, Any]) -> None:
    source, extra = _fill(source, target), _fill(extra, target)
    before = len(_versions(target)) if target.strict else 0
    answer = call(
        target.url,
        "POST",
        "/model-versions/create",
        {"name": target.model, "source": source, **extra},
    )
    assert_refused(target, answer)
    if answer.status == 200:  # MLflow accepted it: its later checks must still hold
        _read_back(target, answer.json()["model_version"]["version"])
    if target.strict:
        assert len(_versions(target)) == before, "a refused source left a version behind"


# ---- §1b / §5.13: experiment artifact_location -------------------------------------------------


LOCATIONS = [
    "http:///?/../../../../../../etc/",
    "http:///#/../../../../etc/",
    "http://host#/../../../../etc/",
    "http://host/;..%2F..%2Fetc",
    "http://host/a%3f/../../../etc",
    "http://host/%2e%2e/%2e%2e/etc",
    "http://host/%252e%252e/%252e%252e/etc",
    "s3://bucket/../../etc",
    "file:///tmp/../etc",
    "file:///tmp/%2e%2e/etc?x=1",
    "mlflow-artifacts:/../../../etc",
    "x" * 70_000,
]


def _create_experiment_raw(url: str, body: bytes) -> Answer:
    response = httpx.post(
        url + RPC + "/experiments/create",
        content=body,
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    return Answer(response.status_code, response.content)


@pytest.mark.parametrize("location", LOCATIONS, ids=lambda s: s[:40])
def test_artifact_location_refused(target: Target, location: str) -> None:
    name = f"sec-loc-{uuid.uuid4().hex[:8]}"
    answer = call(
        target.url, "POST", "/experiments/create", {"name": name, "artifact_location": location}
    )
    assert_refused(target, answer)
    if target.strict:
        gone = call(target.url, "GET", "/experiments/get-by-name", {"experiment_name": name})
        assert gone.status == 404 and gone.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def test_json_escaped_artifact_location_refused(target: Target) -> None:
    """CVE-2024-2928: the same fragment with every ``/`` written as ``\\/`` in the JSON text."""
    name = f"sec-loc-{uuid.uuid4().hex[:8]}"
    escaped = r"http:\/\/\/#\/..\/..\/..\/etc\/"
    body = b'{"name": "' + name.encode() + b'", "artifact_location": "' + escaped.encode() + b'"}'
    assert_refused(target, _create_experiment_raw(target.url, body))


# ---- §1d / §5.19: SSRF ---------------------------------------------------------------------------


#: Private, loopback and metadata addresses; ``{p}`` is the recording listener's port.
PRIVATE = [
    "http://127.0.0.1:{p}/api/2.0/mlflow-artifacts/artifacts/",
    "https://127.0.0.1:{p}/model",
    "https://localhost:{p}/model",
    "https://127.1:{p}/model",
    "https://0x7f000001:{p}/model",
    "https://2130706433:{p}/model",
    "https://[::ffff:127.0.0.1]:{p}/model",
    "http://169.254.169.254/latest/meta-data/",
    "https://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "https://[::ffff:169.254.169.254]/latest/meta-data/",
    "https://metadata.google.internal/computeMetadata/v1/",
    "https://10.0.0.1/model",
    "https://192.168.0.1/model",
]


@pytest.mark.parametrize("address", PRIVATE)
def test_source_at_a_private_address_refused_and_never_dialled(
    target: Target, address: str
) -> None:
    source = address.format(p=target.listener.port)
    answer = call(
        target.url, "POST", "/model-versions/create", {"name": target.model, "source": source}
    )
    assert_refused(target, answer)
    if answer.status == 200:
        _read_back(target, answer.json()["model_version"]["version"])
    time.sleep(0.05)
    assert target.listener.connections == []


@pytest.mark.parametrize("address", PRIVATE)
def test_location_at_a_private_address_never_dialled(target: Target, address: str) -> None:
    """A location is stored, never used by the server: runs in it get the server's own proxy
    root, and listing or uploading their artifacts dials nothing."""
    location = address.format(p=target.listener.port)
    made = call(
        target.url,
        "POST",
        "/experiments/create",
        {"name": f"sec-ssrf-{uuid.uuid4().hex[:8]}", "artifact_location": location},
    )
    assert_safe(target, made)
    if made.status != 200:
        assert_refused(target, made)
        return
    eid = made.json()["experiment_id"]
    run = call(target.url, "POST", "/runs/create", {"experiment_id": eid, "start_time": 0})
    assert run.status == 200, run.body
    info = run.json()["run"]["info"]
    if target.strict:
        assert info["artifact_uri"].startswith("mlflow-artifacts:/"), info["artifact_uri"]
        run_path = info["artifact_uri"].split(":", 1)[1].strip("/")
        assert raw(target.url, "PUT", f"{PROXY}/{run_path}/f.txt", b"x").status == 200
    assert_safe(target, call(target.url, "GET", "/artifacts/list", {"run_id": info["run_id"]}))
    time.sleep(0.05)
    assert target.listener.connections == []


# ---- §1b CVE-2023-1176, §5.18: registered-model names are names, not paths ---------------------


def test_model_name_is_no_file_existence_oracle(target: Target) -> None:
    """A name that is an existing directory and one that is not get the same refusal (both
    servers refuse a name with ``/``; the answer must not depend on the disk)."""
    answers = set()
    for name in (str(target.outside.root), str(target.outside.root) + "-missing"):
        for spelled in (name, "../../../../../../.." + name):
            got = call(target.url, "GET", "/registered-models/get", {"name": spelled})
            assert_safe(target, got)
            assert 400 <= got.status < 500, got.body
            body = got.json()
            answers.add((got.status, body["error_code"], body["message"].replace(spelled, "<n>")))
    assert len(answers) == 1, answers


def test_names_that_decode_alike_never_make_two_models(target: Target) -> None:
    """CVE-2024-3099: ``m%6fdel`` next to ``model`` would serve one for the other."""
    tag = uuid.uuid4().hex[:8]
    plain = f"model-{tag}"
    assert call(target.url, "POST", "/registered-models/create", {"name": plain}).status == 200
    for alias in (f"m%6fdel-{tag}", f"m%256fdel-{tag}"):
        answer = call(target.url, "POST", "/registered-models/create", {"name": alias})
        assert_refused(target, answer)  # MLflow 3.17 accepts these (observed)
        if target.strict:
            assert answer.status >= 400, "a second model whose name decodes to the first's"


def test_download_uri_names_no_server_path(target: Target) -> None:
    """The URI a client downloads a version from is the server's proxy root (or the stored
    remote source), never a path on the server's disk."""
    source = f"mlflow-artifacts:/{target.run_path}"
    made = call(
        target.url,
        "POST",
        "/model-versions/create",
        {"name": target.model, "source": source, "run_id": target.run_id},
    )
    assert made.status == 200, made.body
    version = made.json()["model_version"]["version"]
    got = call(
        target.url,
        "GET",
        "/model-versions/get-download-uri",
        {"name": target.model, "version": version},
    )
    assert got.status == 200, got.body
    uri = got.json()["artifact_uri"]
    assert uri.startswith("mlflow-artifacts:/"), uri
    assert str(target.store) not in uri and not uri.startswith(("/", "file:")), uri
