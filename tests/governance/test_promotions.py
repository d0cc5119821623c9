"""Promotion requests end to end on both databases, with roles on (issue 6, "Tests that must
exist"): a policy with two approvers; the requester's own approval refused; a failing metric
check blocking; a version whose file was altered after the request refused at apply; two
approved requests for one alias applied at once leaving one winner and a whole audit trail."""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from clew.core.actor import Actor
from clew.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from clew.core.settings import Settings
from clew.platform import Platform
from clew.tracking.model import Dataset, DatasetInput, Metric

ROOT, ALICE, BOB, CAROL = Actor("root"), Actor("alice"), Actor("bob"), Actor("carol")
PASSWORD = "correct horse battery"
POLICY = """
protect:
  aliases: [champion]
  stages: [Production]
approvals:
  required: 2
  role: maintainer
metrics:
  accuracy: ">= 0.9"
tags: [owner]
lineage:
  datasets: true
digests: true
"""


@pytest.fixture
def world(settings: Settings) -> Iterator[tuple[Platform, dict[str, Any]]]:
    """root (admin); alice an editor of the model churn; bob and carol its maintainers.
    Versions 1 (accuracy 0.95) and 2 (accuracy 0.8), each from a run that read a data set
    and logged its files."""
    on = settings.model_copy(update={"auth": True, "auth_cache_s": 0.0,
                                     "password_hash_memory_kib": 1024,
                                     "password_hash_time_cost": 1})  # fmt: skip
    platform = Platform.open(on)
    platform.users.bootstrap_admin("root", PASSWORD)
    for name in ("alice", "bob", "carol"):
        platform.users.create_user(ROOT, name, password=PASSWORD)
    platform.access.grant(ROOT, "alice", "editor", "registered_model", "churn")
    for name in ("bob", "carol"):
        platform.access.grant(ROOT, name, "maintainer", "registered_model", "churn")
    eid = platform.tracking.create_experiment(ROOT, "churn")
    platform.registry.create_registered_model(ROOT, "churn")
    made: dict[str, Any] = {}
    for number, accuracy in ((1, 0.95), (2, 0.8)):
        run = platform.tracking.create_run(ROOT, eid).info.run_id
        platform.tracking.log_batch(ROOT, run, metrics=[Metric("accuracy", accuracy, 1, 0)])
        platform.tracking.log_inputs(ROOT, run, [DatasetInput(
            Dataset("train", "d" * 16, source_type="local", source="/data/train.csv")
        )])  # fmt: skip
        platform.artifacts.log_stream(ROOT, run, "model/MLmodel", io.BytesIO(b"flavors: {}"))
        platform.artifacts.log_stream(ROOT, run, "model/model.pkl", io.BytesIO(b"m%d" % number))
        version = platform.registry.create_model_version(ROOT, "churn", f"runs:/{run}/model")
        platform.registry.set_model_version_tags(ROOT, "churn", version.version, {"owner": "ml"})
        made[f"v{number}"] = version.version
    platform.promotions.set_policy(ROOT, "churn", POLICY)
    yield platform, made
    platform.close()


def _approved(platform: Platform, version: int, alias: str = "champion") -> Any:
    request = platform.promotions.request(ALICE, "churn", version, alias=alias,
                                          justification="better on the holdout")  # fmt: skip
    platform.promotions.decide(BOB, request.id, approve=True, comment="checked")
    return platform.promotions.decide(CAROL, request.id, approve=True)


def test_two_approvals_then_apply_moves_the_protected_alias(
    world: tuple[Platform, dict[str, Any]],
) -> None:
    platform, made = world
    with pytest.raises(PermissionDenied, match="protected"):  # not even an admin, directly
        platform.registry.set_registered_model_alias(ROOT, "churn", "champion", made["v1"])
    platform.registry.set_registered_model_alias(BOB, "churn", "challenger", made["v1"])
    request = platform.promotions.request(ALICE, "churn", made["v1"], alias="champion",
                                          justification="better on the holdout")  # fmt: skip
    assert request.state == "PENDING"
    assert {c["name"]: c["ok"] for c in request.checks} == {
        "metrics": True, "tags": True, "lineage": True, "digests": True
    }  # fmt: skip
    assert request.checks[0]["evidence"]["values"] == {"accuracy": 0.95}
    with pytest.raises(PermissionDenied, match="own request"):
        platform.promotions.decide(ALICE, request.id, approve=True)
    with pytest.raises(PermissionDenied):  # an editor is not an approver under this policy
        platform.promotions.decide(Actor("nobody"), request.id, approve=True)
    once = platform.promotions.decide(BOB, request.id, approve=True)
    assert once.state == "PENDING" and len(once.approvals) == 1
    with pytest.raises(Conflict, match="already decided"):
        platform.promotions.decide(BOB, request.id, approve=True)
    with pytest.raises(Conflict, match="APPROVED"):
        platform.promotions.apply(BOB, request.id)
    twice = platform.promotions.decide(CAROL, request.id, approve=True)
    assert twice.state == "APPROVED"
    applied = platform.promotions.apply(BOB, request.id)
    assert applied.state == "APPLIED" and applied.applied_by == "bob"
    assert applied.applied_checks and all(c["ok"] for c in applied.applied_checks)
    assert platform.registry.get_model_version_by_alias(ROOT, "churn", "champion").version == 1
    actions = [e.action for e in platform.audit.list(ROOT, limit=1000)][::-1]
    assert actions[-2:] == ["promotion.apply", "registered_model.alias.set"]  # one transaction


def test_a_failing_metric_blocks_the_promotion(world: tuple[Platform, dict[str, Any]]) -> None:
    platform, made = world
    request = _approved(platform, made["v2"])
    assert {c["name"]: c["ok"] for c in request.checks}["metrics"] is False
    assert "accuracy = 0.8 (needs >= 0.9)" in request.checks[0]["detail"]
    with pytest.raises(Conflict, match=r"accuracy = 0\.8"):
        platform.promotions.apply(BOB, request.id)
    assert platform.promotions.get(ROOT, request.id).state == "APPROVED"  # nothing written
    with pytest.raises(NotFound):  # the alias never moved
        platform.registry.get_model_version_by_alias(ROOT, "churn", "champion")


def test_a_file_altered_after_the_request_is_refused_at_apply(
    world: tuple[Platform, dict[str, Any]],
) -> None:
    platform, made = world
    request = _approved(platform, made["v1"])
    files = {f.path: f for f in platform.registry.list_model_version_files(ROOT, "churn", 1)}
    digest = files["model.pkl"].digest
    blob = f"{platform.settings.resolved_artifact_root()}/blobs/{digest[:2]}/{digest[2:]}"
    os.chmod(blob, 0o644)
    with open(blob, "r+b") as handle:
        handle.write(b"X")  # same size, other bytes
    with pytest.raises(Conflict, match="digests: changed"):
        platform.promotions.apply(BOB, request.id)
    assert platform.promotions.get(ROOT, request.id).state == "APPROVED"


def test_of_two_approved_requests_for_one_alias_the_first_applied_wins(
    world: tuple[Platform, dict[str, Any]],
) -> None:
    platform, made = world
    platform.promotions.set_policy(ROOT, "churn", POLICY.replace('accuracy: ">= 0.9"',
                                                                 'accuracy: ">= 0.5"'))  # fmt: skip
    first, second = _approved(platform, made["v1"]), _approved(platform, made["v2"])
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def apply(request_id: str, actor: Actor) -> None:
        barrier.wait()
        try:
            platform.promotions.apply(actor, request_id)
            outcomes.append("applied")
        except Conflict as exc:
            outcomes.append(f"refused: {exc}")

    threads = [threading.Thread(target=apply, args=(first.id, BOB)),
               threading.Thread(target=apply, args=(second.id, CAROL))]  # fmt: skip
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(o.split(":")[0] for o in outcomes) == ["applied", "refused"], outcomes
    states = {platform.promotions.get(ROOT, r.id).state for r in (first, second)}
    assert states == {"APPLIED", "APPROVED"}
    winner = next(r for r in (first, second)
                  if platform.promotions.get(ROOT, r.id).state == "APPLIED")  # fmt: skip
    held = platform.registry.get_model_version_by_alias(ROOT, "churn", "champion").version
    assert held == winner.version
    applies = platform.audit.list(ROOT, action="promotion.apply", limit=100)
    assert [e.resource_id for e in applies] == [winner.id]
    assert platform.audit.verify(ROOT).ok


def test_reject_cancel_and_what_needs_no_request(world: tuple[Platform, dict[str, Any]]) -> None:
    platform, made = world
    request = platform.promotions.request(ALICE, "churn", made["v1"], alias="champion",
                                          justification="try")  # fmt: skip
    assert platform.promotions.decide(BOB, request.id, approve=False).state == "REJECTED"
    with pytest.raises(Conflict):
        platform.promotions.decide(CAROL, request.id, approve=True)
    again = platform.promotions.request(ALICE, "churn", made["v1"], alias="champion",
                                        justification="again")  # fmt: skip
    assert platform.promotions.cancel(ALICE, again.id).state == "CANCELED"
    with pytest.raises(InvalidInput, match="not protected"):
        platform.promotions.request(ALICE, "churn", made["v1"], alias="challenger",
                                    justification="x")  # fmt: skip
    with pytest.raises(InvalidInput, match="justification"):
        platform.promotions.request(ALICE, "churn", made["v1"], alias="champion",
                                    justification=" ")  # fmt: skip
    with pytest.raises(PermissionDenied):  # entering a protected stage directly
        platform.registry.transition_model_version_stage(ROOT, "churn", made["v1"], "Production")
    platform.registry.transition_model_version_stage(BOB, "churn", made["v1"], "Staging")
    listed = platform.promotions.list_requests(ROOT, "churn")
    assert {r.state for r in listed} == {"REJECTED", "CANCELED"}


def test_a_stage_promotion_and_bad_policies(world: tuple[Platform, dict[str, Any]]) -> None:
    platform, made = world
    request = platform.promotions.request(ALICE, "churn", made["v1"], stage="Production",
                                          justification="go live")  # fmt: skip
    platform.promotions.decide(BOB, request.id, approve=True)
    platform.promotions.decide(CAROL, request.id, approve=True)
    assert platform.promotions.apply(BOB, request.id).state == "APPLIED"
    stage = platform.registry.get_model_version(ROOT, "churn", made["v1"]).current_stage
    assert stage == "Production"
    for bad, message in [
        ("protect: [champion]", "protect is a mapping"),
        ("approvals: {required: 0}", "from 1 to 20"),
        ("approvals: {role: viewer}", "editor, maintainer or admin"),
        ("metrics: {acc: 'about 0.9'}", "a threshold is like"),
        ("colour: blue", "Unknown policy keys"),
        (": : :", "not valid YAML"),
    ]:
        with pytest.raises(InvalidInput, match=message):
            platform.promotions.set_policy(ROOT, "churn", bad)
    with pytest.raises(PermissionDenied):
        platform.promotions.set_policy(ALICE, "churn", POLICY)
    assert platform.promotions.get_policy(ALICE, "churn")["version"] == 1


def test_who_held_an_alias_when_and_who_approved_it(
    world: tuple[Platform, dict[str, Any]],
) -> None:
    platform, made = world
    before = platform.promotions.provenance(ROOT, "churn", "champion")
    assert before["version"] is None and before["promotion"] is None
    request = _approved(platform, made["v1"])
    platform.promotions.apply(BOB, request.id)
    platform.registry.set_registered_model_alias(BOB, "churn", "challenger", made["v2"])
    now = platform.promotions.provenance(ROOT, "churn", "champion")
    assert now["version"] == 1 and now["move"]["actor"] == "bob"
    promotion = now["promotion"]
    assert promotion["id"] == request.id and promotion["requested_by"] == "alice"
    assert sorted(a["approver"] for a in promotion["approvals"]) == ["bob", "carol"]
    evidence = {c["name"]: c["evidence"] for c in promotion["applied_checks"]}
    assert evidence["metrics"]["values"] == {"accuracy": 0.95}
    earlier = platform.promotions.provenance(ROOT, "churn", "champion", at=now["move"]["time"] - 1)
    assert earlier["version"] is None
    free = platform.promotions.provenance(ROOT, "churn", "challenger")
    assert free["version"] == 2 and free["promotion"] is None  # not protected: no request


def test_the_compliance_report_holds_the_evidence(
    world: tuple[Platform, dict[str, Any]], tmp_path: Any
) -> None:
    from clew.governance import report

    platform, made = world
    platform.registry.set_model_version_tags(ROOT, "churn", made["v1"], {
        "model_card.intended_use": "<script>alert(1)</script> churn triage"
    })  # fmt: skip
    request = _approved(platform, made["v1"])
    platform.promotions.apply(BOB, request.id)
    text = report.render(platform, ROOT, "churn", made["v1"], "markdown")
    for heading in ("1. General description", "2. Development process", "3. Evaluation",
                    "4. Risk management and human oversight", "5. Change log",
                    "6. Integrity of this record"):  # fmt: skip
        assert f"## {heading}" in text
    assert "Data set: train" in text and "| accuracy | 0.95 (step 0) |" in text
    assert f"request {request.id} (APPLIED)" in text
    assert "bob (maintainer)" in text and "carol (maintainer)" in text
    assert "check metrics | passed" in text and "intact," in text and "all match" in text
    page = report.render(platform, ROOT, "churn", made["v1"], "html")
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    with pytest.raises(PermissionDenied):  # the audit trail is an admin's to read
        report.render(platform, ALICE, "churn", made["v1"], "markdown")


def test_allowed_actions_are_what_each_call_permits(
    world: tuple[Platform, dict[str, Any]],
) -> None:
    """``allowed_actions`` (what a UI shows as buttons) agrees with the calls themselves, for
    the requester, a maintainer, a viewer and an admin, on a pending and an approved request."""
    platform, made = world
    dave = Actor("dave")
    platform.users.create_user(ROOT, "dave", password=PASSWORD)
    platform.access.grant(ROOT, "dave", "viewer", "registered_model", "churn")
    calls = {
        "approve": lambda actor, rid: platform.promotions.decide(actor, rid, approve=True),
        "reject": lambda actor, rid: platform.promotions.decide(actor, rid, approve=False),
        "cancel": platform.promotions.cancel,
        "apply": platform.promotions.apply,
    }
    seen: dict[tuple[str, str, str], bool] = {}
    for state in ("PENDING", "APPROVED"):
        for actor in (ALICE, BOB, dave, ROOT):
            for action, call in calls.items():
                if state == "PENDING":
                    request = platform.promotions.request(ALICE, "churn", made["v1"],
                                                          alias="champion", justification="j")  # fmt: skip
                else:
                    request = _approved(platform, made["v1"])
                allowed = platform.promotions.allowed_actions(actor, request)[action]
                try:
                    call(actor, request.id)
                    worked = True
                except (PermissionDenied, Conflict):
                    worked = False
                assert allowed == worked, (state, actor.name, action)
                seen[state, actor.name, action] = allowed
    assert seen["PENDING", "alice", "cancel"] and not seen["PENDING", "alice", "approve"]
    assert seen["PENDING", "bob", "approve"] and seen["APPROVED", "bob", "apply"]
    assert not any(seen["PENDING", "dave", a] or seen["APPROVED", "dave", a] for a in calls)
    assert not seen["APPROVED", "alice", "apply"] and seen["APPROVED", "alice", "cancel"]
