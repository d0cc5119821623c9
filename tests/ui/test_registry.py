"""The registry pages end to end: the demo's model, its version's files, digests and report, and
the whole governance flow as two people (a policy, a request, someone else's approval, the
move, the audit log), in headless Chromium against a real ``clew server --auth``."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from .conftest import ADMIN, REVIEWER, REVIEWER_PASSWORD, XSS, Site, login, screenshot

MODEL = "breast-cancer-forest"
XSS_MODEL = "xss-model"
SIGNED = "tumour-classifier"
VIEWER, VIEWER_PASSWORD = "viewer", "only looking, thank you"
POLICY = """\
protect: {aliases: [champion]}
approvals: {required: 1, role: maintainer}
metrics: {test_accuracy: ">= 0.9"}
tags: [model_card.intended_use]
digests: true
"""
CARD = {
    "model_card.intended_use": "Second reader for breast-cancer screening; never the only one.",
    "model_card.limitations": "Trained on 569 Wisconsin samples; not validated elsewhere.",
    "model_card.owner": "ml-platform",
    "model_card.evaluation.holdout": "143 rows, stratified",
    "model_card.evaluation.metric": "accuracy, F1, ROC AUC",
    "model_card.training_data.source": "sklearn.datasets.load_breast_cancer",
}

#: The browser's local time ``ms`` from now as a datetime-local input wants it.
LOCAL_MINUTE = """ms => {
  const d = new Date(Date.now() + ms);
  return new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
}"""


@pytest.fixture(scope="module")
def registry(site: Site) -> Site:
    """The demo's model with a model card, and a model whose every text field is a payload."""
    with site.api() as api:
        api.post(f"/registered-models/{MODEL}/versions/1/tags", json={"tags": CARD}
                 ).raise_for_status()  # fmt: skip
        api.patch(f"/registered-models/{MODEL}",
                  json={"description": "Random forest on the breast-cancer data set."}
                  ).raise_for_status()  # fmt: skip
        api.post(f"/registered-models/{MODEL}/tags", json={"tags": {"team": "ml-platform"}}
                 ).raise_for_status()  # fmt: skip
        api.post("/registered-models", json={"name": XSS_MODEL, "description": XSS,
                                              "tags": {XSS: XSS}}).raise_for_status()  # fmt: skip
        api.post(f"/registered-models/{XSS_MODEL}/versions", json={
            "source": "https://models.example.com/xss", "description": XSS,
            "tags": {"model_card.intended_use": XSS, "model_card.evaluation.note": XSS, XSS: XSS},
        }).raise_for_status()  # fmt: skip
        api.put(f"/registered-models/{XSS_MODEL}/aliases/xss", json={"version": 1}
                ).raise_for_status()  # fmt: skip
        _register_with_signature(api)
    return site


def _register_with_signature(api: Any) -> None:
    """A version whose MLmodel declares a signature, inferred from the demo's own data and
    written as Clew writes it, stored through the logged-model API."""
    import numpy as np
    import yaml
    from sklearn.datasets import load_breast_cancer

    from clew.models import infer_signature

    frame = load_breast_cancer(as_frame=True).data.head(5)
    signature = infer_signature(frame, np.array([0, 1, 1, 0, 1]))
    document = yaml.safe_dump({"artifact_path": "model", "signature": signature.to_dict(),
                               "flavors": {"python_function": {"loader_module": "clew.pyfunc"}}},
                              default_flow_style=False, sort_keys=True)  # fmt: skip
    made = api.post("/logged-models", json={"experiment_id": "0", "name": SIGNED})
    model_id = made.raise_for_status().json()["model_id"]
    api.put(f"/logged-models/{model_id}/artifacts/MLmodel", content=document.encode(),
            headers={"content-type": "application/octet-stream"}).raise_for_status()  # fmt: skip
    api.patch(f"/logged-models/{model_id}", json={"status": "READY"}).raise_for_status()
    api.post("/registered-models", json={"name": SIGNED}).raise_for_status()
    api.post(f"/registered-models/{SIGNED}/versions",
             json={"source": f"models:/{model_id}", "logged_model_id": model_id}
             ).raise_for_status()  # fmt: skip


def test_a_version_shows_the_signature_its_mlmodel_declares(page: Any, registry: Site) -> None:
    login(page, to=f"/models/{SIGNED}/versions/1")
    inputs = page.get_by_role("table", name="Inputs")
    inputs.get_by_role("cell", name="mean radius", exact=True).wait_for()
    assert inputs.get_by_role("row").count() == 1 + 30  # the data set's 30 features
    assert "double" in inputs.inner_text()
    outputs = page.get_by_role("table", name="Outputs")
    assert "tensor" in outputs.inner_text() and "int64 [-1]" in outputs.inner_text()
    page.get_by_role("heading", name="Signature").scroll_into_view_if_needed()
    screenshot(page, "registry-version-signature")
    page.get_by_role("button", name="Toggle theme").click()
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    screenshot(page, "registry-version-signature-dark")


def _no_injection(page: Any) -> None:
    assert page.evaluate("window.__xss") is None
    assert page.locator("img[src=x]").count() == 0


def test_the_demo_model_its_version_files_digests_and_report(page: Any, registry: Site) -> None:
    login(page, to="/models")
    page.get_by_role("heading", name="Models").wait_for()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=MODEL, exact=True))
    row.get_by_role("link", name="@challenger v1").wait_for()
    assert "team" in row.inner_text()
    page.get_by_role("searchbox", name="Search models").fill("team=ml-platform")
    page.wait_for_url("**/models?q=team%3Dml-platform")
    page.get_by_text("1 model", exact=True).wait_for()
    page.get_by_role("link", name=MODEL, exact=True).wait_for()
    assert page.get_by_role("link", name=XSS_MODEL).count() == 0
    page.get_by_role("searchbox", name="Search models").fill("")
    page.get_by_role("link", name=XSS_MODEL).wait_for()
    screenshot(page, "registry-models")

    page.get_by_role("link", name=MODEL, exact=True).click()
    page.get_by_role("heading", name=MODEL).wait_for()
    page.get_by_text("Random forest on the breast-cancer data set.").wait_for()
    versions = page.get_by_role("table", name="Versions")
    versions.get_by_role("link", name="v1").wait_for()
    run_link = versions.get_by_role("row").nth(1).get_by_role("link").nth(1)
    assert run_link.get_attribute("href").startswith("/runs/")
    card = page.get_by_role("region", name="@challenger")
    card.get_by_text("set to v1").wait_for()
    assert ADMIN in card.inner_text() or "root" in card.inner_text()
    card.get_by_role("button", name="Provenance of @challenger").click()
    card.get_by_text("moved directly (no promotion request)").wait_for()
    page.get_by_text("No policy: every alias and stage moves directly.").wait_for()
    screenshot(page, "registry-model")

    versions.get_by_role("link", name="v1").click()
    page.get_by_role("heading", name=f"{MODEL} v1").wait_for()
    page.get_by_role("article", name="Model card").get_by_text(
        CARD["model_card.limitations"]
    ).wait_for()
    links = page.get_by_role("navigation", name="Version links")
    assert links.get_by_role("link", name="Lineage").get_attribute("href") == (
        f"/lineage?model={MODEL}&version=1"
    )
    assert links.get_by_role("link", name="Source run").get_attribute("href").startswith("/runs/")
    files = page.locator(".files table")
    files.get_by_role("cell", name="model.skops").wait_for()
    digests = registry.api().get(f"/registered-models/{MODEL}/versions/1/files").json()["files"]
    for f in digests:
        files.get_by_role("cell", name=f["digest"]).wait_for()
    page.get_by_role("button", name="Verify digests").click()
    page.get_by_role("status").filter(has_text="All 5 files match their digests").wait_for()
    assert files.locator(".badge.pass").count() == len(digests)
    screenshot(page, "registry-version")

    page.get_by_role("button", name="Show as Markdown").click()
    report = page.get_by_label("Compliance report (Markdown)")
    report.wait_for()
    assert f"# Compliance report: {MODEL} version 1" in report.inner_text()
    with page.context.expect_page() as opened:
        page.get_by_role("link", name="Open report (HTML)").click()
    tab = opened.value
    tab.wait_for_load_state()
    assert f"{MODEL} version 1" in tab.content()
    tab.close()


def test_markup_in_a_model_shows_as_text(page: Any, registry: Site) -> None:
    login(page, to="/models")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=XSS_MODEL))
    row.get_by_text(XSS).first.wait_for()
    _no_injection(page)
    row.get_by_role("link", name=XSS_MODEL).click()
    page.get_by_role("heading", name=XSS_MODEL).wait_for()
    page.get_by_text(XSS).first.wait_for()
    _no_injection(page)
    page.get_by_role("table", name="Versions").get_by_role("link", name="v1").click()
    page.get_by_role("article", name="Model card").get_by_text(XSS).first.wait_for()
    page.get_by_text("The version has no MLmodel file the API can read.").wait_for()
    _no_injection(page)


@pytest.fixture(scope="module")
def governed(registry: Site) -> Site:
    """The demo's model under a policy that protects ``champion``; REVIEWER a maintainer of it
    (the policy's approver role), VIEWER only a viewer."""
    with registry.api() as api:
        api.put(f"/registered-models/{MODEL}/policy", json={"document": POLICY}).raise_for_status()
        api.put("/role-bindings", json={"principal": REVIEWER, "role": "maintainer",
                                        "scope_type": "registered_model", "scope_id": MODEL}
                ).raise_for_status()  # fmt: skip
        api.post("/users", json={"name": VIEWER, "password": VIEWER_PASSWORD}).raise_for_status()
        api.put("/role-bindings", json={"principal": VIEWER, "role": "viewer",
                                        "scope_type": "registered_model", "scope_id": MODEL}
                ).raise_for_status()  # fmt: skip
    return registry


def test_a_promotion_requested_by_one_person_is_approved_by_another_and_applied(
    page: Any, second_page: Any, governed: Site
) -> None:
    registry = governed
    with registry.api() as api:
        refused = api.put(f"/registered-models/{MODEL}/aliases/champion", json={"version": 1})
        assert refused.status_code == 403  # protected: not even an admin moves it directly

    # the admin asks, from the version's page
    login(page, to=f"/models/{MODEL}/versions/1")
    form = page.get_by_role("form", name="Request a promotion")
    assert form.get_by_label("Target alias").input_value() == "champion"
    form.get_by_label("Justification").fill("Clears 0.9 test accuracy on the holdout; see report.")
    form.get_by_role("button", name="Request promotion").click()
    page.wait_for_url("**/promotions/*")
    request_id = page.url.rsplit("/", 1)[1]
    page.get_by_role("heading", name=f"Promote {MODEL} v1 to @champion").wait_for()
    page.locator(".badge.state-PENDING").wait_for()
    checks = page.get_by_role("region", name="Checks when requested")
    checks.get_by_text("all 3 checks pass").wait_for()
    for name in ("metrics", "tags", "digests"):
        checks.get_by_role("heading", name=name, exact=True).wait_for()
    evidence = checks.get_by_role("table", name="Evidence of the metrics check")
    assert "test_accuracy" in evidence.inner_text()
    digests = checks.get_by_role("table", name="Evidence of the digests check").inner_text()
    assert "model.skops" in digests and "sha256:" in digests
    page.get_by_text("You asked for this promotion, so someone else must approve it.").wait_for()
    assert page.get_by_role("button", name="Approve").count() == 0
    assert page.get_by_role("button", name="Cancel request").is_visible()

    # someone else approves, in a browser of their own
    login(second_page, REVIEWER, REVIEWER_PASSWORD, to=f"/promotions/{request_id}")
    second_page.get_by_role("heading", name=f"Promote {MODEL} v1 to @champion").wait_for()
    # the reviewer maintains the model, so the server would let them withdraw it too
    assert second_page.get_by_role("button", name="Cancel request").is_visible()
    second_page.get_by_label("Comment").fill("Checked the evaluation report.")
    second_page.get_by_role("button", name="Approve").click()
    second_page.locator(".badge.state-APPROVED").wait_for()
    second_page.get_by_text("Checked the evaluation report.").wait_for()
    assert second_page.get_by_role("button", name="Approve").count() == 0
    screenshot(second_page, "registry-promotion-approved")

    # the requester applies it: the alias moves
    page.reload()
    page.get_by_text("Checked the evaluation report.").wait_for()
    page.get_by_role("button", name="Apply").click()
    page.locator(".badge.state-APPLIED").wait_for()
    page.get_by_role("region", name="Checks when applied").get_by_text(
        "all 3 checks pass"
    ).wait_for()
    page.get_by_role("button", name="Show audit trail").click()
    trail = page.get_by_role("list", name="Audit events of this request")
    for action in ("promotion.request", "promotion.approve", "promotion.apply"):
        trail.get_by_text(action).wait_for()
    screenshot(page, "registry-promotion")

    with registry.api() as api:
        assert api.get(f"/registered-models/{MODEL}/aliases/champion").json()["version"] == 1
        events = api.get("/audit/events", params={"resource_type": "promotion",
                                                  "resource_id": request_id}).json()["events"]  # fmt: skip
        assert {(e["action"], e["actor"]) for e in events} >= {
            ("promotion.request", ADMIN), ("promotion.approve", REVIEWER), ("promotion.apply", ADMIN),
        }  # fmt: skip
        moves = api.get("/audit/events", params={"action": "registered_model.alias.set"}).json()
        assert any(e["summary"].get("alias") == "champion" for e in moves["events"])

    # the model page shows who moved the alias and who approved the move
    page.goto(f"/models/{quote(MODEL)}")
    champion = page.get_by_role("region", name="@champion")
    champion.get_by_text("set to v1").wait_for()
    champion.get_by_role("button", name="Provenance of @champion").click()
    champion.get_by_text(f"approved by {REVIEWER}").first.wait_for()
    page.get_by_text("Protects @champion").wait_for()
    as_of = page.get_by_label("Aliases as of")
    as_of.fill(page.evaluate(LOCAL_MINUTE, 120_000))  # in two minutes: both aliases held
    held = page.get_by_role("status").filter(has=page.get_by_role("link", name="@champion v1"))
    held.get_by_role("link", name="@challenger v1").wait_for()
    as_of.fill("2020-01-01T00:00")
    page.get_by_text("no alias was set then").wait_for()
    as_of.fill("")
    as_of.blur()
    screenshot(page, "registry-model-governed")

    # the list filters by state and model
    page.goto("/promotions")
    page.get_by_role("combobox", name="State").select_option("APPLIED")
    page.get_by_role("combobox", name="Model").select_option(MODEL)
    page.wait_for_url("**/promotions?state=APPLIED&model=*")
    page.get_by_role("link", name=request_id[:8]).wait_for()
    page.get_by_role("combobox", name="State").select_option("PENDING")
    page.get_by_text("No promotion requests match.").wait_for()

    # and the audit page, where it is built, lists the request's events
    page.goto("/audit")
    page.get_by_role("heading").first.wait_for()
    if page.get_by_role("table").count():
        page.get_by_text("promotion.apply").first.wait_for()


def test_a_request_is_rejected_canceled_and_a_refusal_shows_its_code(
    page: Any, second_page: Any, governed: Site
) -> None:
    with governed.api() as api:
        made = [api.post("/promotion-requests", json={
            "model": MODEL, "version": 1, "alias": "champion", "justification": f"try {i}",
        }).raise_for_status().json()["id"] for i in (1, 2, 3)]  # fmt: skip

    # a viewer is not the requester, but their role cannot decide: no buttons, and it says why
    login(second_page, VIEWER, VIEWER_PASSWORD, to=f"/promotions/{made[0]}")
    second_page.get_by_text("Your role on this model does not let you decide").wait_for()
    assert second_page.get_by_role("button", name="Approve").count() == 0
    assert second_page.get_by_role("button", name="Reject").count() == 0

    # the reviewer rejects it, with a reason
    second_page.get_by_role("button", name="Sign out").click()
    login(second_page, REVIEWER, REVIEWER_PASSWORD, to=f"/promotions/{made[0]}")
    second_page.get_by_label("Comment").fill("Wait for the second holdout.")
    second_page.get_by_role("button", name="Reject").click()
    second_page.locator(".badge.state-REJECTED").wait_for()
    decision = second_page.locator("ol.decisions li.reject")
    assert (
        REVIEWER in decision.inner_text()
        and "Wait for the second holdout." in decision.inner_text()
    )
    second_page.get_by_text("Nothing to do: the request is REJECTED.").wait_for()

    # a page left open while the requester withdrew the request: the refusal shows its code
    second_page.goto(f"/promotions/{made[2]}")
    second_page.get_by_role("button", name="Approve").wait_for()
    with governed.api() as api:
        api.post(f"/promotion-requests/{made[2]}/cancel").raise_for_status()
    second_page.get_by_role("button", name="Approve").click()
    second_page.get_by_role("alert").filter(has_text="INVALID_STATE").wait_for()
    second_page.errors.clear()  # the browser logs the 409 it was given on purpose

    # the requester withdraws the other
    login(page, to=f"/promotions/{made[1]}")
    page.get_by_role("button", name="Cancel request").click()
    page.locator(".badge.state-CANCELED").wait_for()
    with governed.api() as api:
        states = {r["id"]: r["state"] for r in api.get("/promotion-requests",
                                                       params={"model": MODEL}).json()["requests"]}  # fmt: skip
    assert [states[m] for m in made] == ["REJECTED", "CANCELED", "CANCELED"]
    _apply_one(governed)  # the list shows every state, whichever tests ran before this one
    page.goto("/promotions")
    for state in ("APPLIED", "REJECTED", "CANCELED"):
        page.locator(f".badge.state-{state}").first.wait_for()
    screenshot(page, "registry-promotions")


def _apply_one(site: Site) -> None:
    """A request asked by the admin, approved by the reviewer and applied, over the API."""
    with site.api() as api:
        made = api.post("/promotion-requests", json={
            "model": MODEL, "version": 1, "alias": "champion", "justification": "for the list",
        }).raise_for_status().json()["id"]  # fmt: skip
        api.post(
            f"/promotion-requests/{made}/approve",
            json={"comment": "ok"},
            auth=(REVIEWER, REVIEWER_PASSWORD),
        ).raise_for_status()  # Basic, not the token
        api.post(f"/promotion-requests/{made}/apply", json={}).raise_for_status()
