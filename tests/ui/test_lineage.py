"""The lineage explorer in a browser: from the demo's model version, expanded upstream until
its data set shows; search; a run named with markup."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import XSS, Site, login, screenshot

MODEL, ALIAS = "breast-cancer-forest", "challenger"


@pytest.fixture(scope="module")
def challenger(site: Site) -> dict[str, Any]:
    with site.api() as api:
        found = api.get(f"/registered-models/{MODEL}/aliases/{ALIAS}")
        found.raise_for_status()
        return dict(found.json())


def _nodes(page: Any) -> int:
    return int(page.locator(".lineage-frame").get_attribute("data-nodes"))


def test_walking_upstream_from_the_model_version_reaches_its_dataset(
    page: Any, challenger: dict[str, Any]
) -> None:
    version = challenger["version"]
    login(page, to=f"/lineage?model={MODEL}&version={version}")
    start = page.get_by_role("button", name=f"model {MODEL}/{version}", exact=True)
    start.wait_for()
    page.get_by_label("Direction").select_option("upstream")
    page.wait_for_url("**direction=upstream**")
    start.wait_for()
    dataset = page.get_by_role("button", name="dataset breast-cancer", exact=True)
    controls = page.locator(".lin-expand")
    for _ in range(20):
        # the upstream walk may still be drawing: wait for the data set or something to expand
        dataset.or_(controls.first).first.wait_for()
        if dataset.count():
            break
        # the furthest upstream node still to expand: the leftmost control
        lefts = controls.evaluate_all("els => els.map(e => e.getBoundingClientRect().x)")
        before = [_nodes(page), len(lefts)]
        controls.nth(lefts.index(min(lefts))).click()
        page.wait_for_function(
            "([n, e]) => Number(document.querySelector('.lineage-frame').dataset.nodes) > n"
            " || document.querySelectorAll('.lin-expand').length !== e",
            arg=before,
        )
    dataset.click()
    panel = page.get_by_role("complementary")
    panel.get_by_role("heading", name="breast-cancer").wait_for()
    assert "dataset" in panel.inner_text()
    assert "sklearn.datasets.load_breast_cancer" in panel.inner_text()
    screenshot(page, "lineage")
    # The step that read it is one click away, with its pipeline run.
    page.get_by_role("button", name="run load", exact=True).click()
    panel.get_by_role("link", name="Open pipeline run").wait_for()
    panel.get_by_role("link", name="Open run").click()
    page.wait_for_url("**/runs/*")


def test_a_node_is_found_by_name_and_its_page_is_linked(
    page: Any, challenger: dict[str, Any]
) -> None:
    login(page, to=f"/lineage?run={challenger['run_id']}&depth=10")
    page.get_by_role("button", name=f"model {MODEL}/{challenger['version']}", exact=True).wait_for()
    page.get_by_label("Find").fill("split")
    page.get_by_role("list", name="Matching nodes").get_by_role("button").first.click()
    panel = page.get_by_role("complementary")
    panel.get_by_role("heading", name="split").wait_for()
    # and the model version links to its page
    page.get_by_label("Find").fill(f"{MODEL}/")
    page.get_by_role("list", name="Matching nodes").get_by_role("button").first.click()
    link = panel.get_by_role("link", name="Open model version")
    assert link.get_attribute("href") == f"/models/{MODEL}/versions/{challenger['version']}"


def test_a_run_named_with_markup_shows_it_as_text(page: Any, site: Site) -> None:
    with site.api() as api:
        found = api.post("/runs/search", json={"filter": f"attributes.run_name = '{XSS}'"})
        run_id = found.json()["runs"][0]["info"]["run_id"]
    login(page, to=f"/lineage?run={run_id}")
    page.get_by_role("button", name=f"run {XSS}", exact=True).wait_for()
    page.get_by_role("complementary").get_by_role("heading", name=XSS).wait_for()
    assert page.evaluate("window.__xss") is None
    assert page.locator("img[src=x]").count() == 0


def test_the_explorer_asks_where_to_start(page: Any) -> None:
    login(page, to="/lineage")
    page.get_by_role("heading", name="Lineage").wait_for()
    page.get_by_label("Start from").select_option("model")
    page.get_by_label("Model name", exact=True).fill(MODEL)
    page.get_by_label("Version", exact=True).fill("1")
    page.get_by_role("button", name="Show lineage").click()
    page.wait_for_url(f"**/lineage?model={MODEL}&version=1")
    page.get_by_role("button", name=f"model {MODEL}/1", exact=True).wait_for()
