"""The compare page: metric charts, parallel coordinates and the diff of two demo runs, and a
stored payload shown as text in the legend and the diff."""

from __future__ import annotations

from typing import Any

from .conftest import XSS, Site, login, screenshot


def _train_runs(site: Site) -> list[dict[str, Any]]:
    """Two of the demo's training runs that logged fold metrics and differ in a param."""
    with site.api() as api:
        answer = api.post(
            "/runs/search", json={"filter": "metrics.fold_accuracy >= 0", "max_results": 100}
        )
        found = answer.raise_for_status().json()["runs"]

    def fold_accuracy(run: dict[str, Any]) -> Any:
        return next(m["value"] for m in run["data"]["metrics"] if m["key"] == "fold_accuracy")

    def depth(run: dict[str, Any]) -> Any:
        return run["data"]["params"]["max_depth"]

    first = found[0]
    other = next(
        r for r in found if depth(r) != depth(first) and fold_accuracy(r) != fold_accuracy(first)
    )
    return [first, other]


def _wait_query(page: Any, part: str) -> None:
    """The view state reaches the URL a moment after a control changes (debounced)."""
    page.wait_for_function("part => location.search.includes(part)", arg=part)


def _wait_drawn(page: Any) -> None:
    page.locator(".chart-grid[data-rendered=true]").wait_for(state="attached")


def test_two_runs_compare_in_charts_and_a_diff(page: Any, site: Site) -> None:
    runs = _train_runs(site)
    ids = ",".join(r["info"]["run_id"] for r in runs)
    names = [r["info"]["run_name"] for r in runs]
    login(page, to=f"/compare?runs={ids}")
    page.get_by_role("heading", name="Compare runs").wait_for()
    _wait_drawn(page)
    assert f"runs={ids}" in page.url  # the run table's link form, commas and all
    assert page.evaluate("performance.getEntriesByName('clew:chart-rendered').length") == 1

    chart = page.get_by_role("figure", name="Chart of fold_accuracy")
    assert chart.locator("canvas").count() == 1
    legend = chart.get_by_role("list", name="Legend of fold_accuracy")
    assert legend.get_by_role("listitem").all_inner_texts()[0].startswith(names[0])
    assert [
        t.split("\n")[0].strip() for t in legend.get_by_role("listitem").all_inner_texts()
    ] == names

    # Hovering the canvas shows each run's value at the cursor in the legend.
    before = legend.inner_text()
    box = chart.locator(".u-over").bounding_box()
    page.mouse.move(box["x"] + 2, box["y"] + box["height"] / 2)
    page.wait_for_function(
        "t => document.querySelector('[aria-label=\"Legend of fold_accuracy\"]').innerText !== t",
        arg=before,
    )

    # Log scale and smoothing go into the URL (shareable) and redraw the charts.
    page.get_by_label("Log scale").check()
    _wait_query(page, "log=1")
    slider = page.get_by_label("Smoothing")
    slider.focus()
    for _ in range(60):
        page.keyboard.press("ArrowRight")
    _wait_query(page, "smooth=0.6")
    assert (
        page.locator(".metric-chart output, .compare-controls output").first.inner_text() == "0.60"
    )

    # The diff marks a param the two runs set differently.
    diff = page.locator("table.diff-table")
    row = diff.locator("tr[data-differs=true]", has=page.locator("th", has_text="max_depth"))
    assert row.count() == 1
    assert "differs" in row.locator("th").inner_text()
    # Only differences by default: a param the runs share is hidden until asked for.
    shared = diff.locator("tbody tr", has=page.locator("th[scope=row]", has_text="folds"))
    assert shared.count() == 0
    page.get_by_label("Only differences").uncheck()
    _wait_query(page, "diff=all")
    assert shared.count() == 1 and shared.get_attribute("data-differs") is None

    # The parallel-coordinates axes are focusable and filter by keyboard.
    axis = page.get_by_role("slider", name="Param max_depth: filter range")
    axis.focus()
    page.keyboard.press("ArrowUp")
    page.get_by_text("of 2 runs in the filtered ranges").wait_for()
    page.keyboard.press("Escape")
    page.get_by_text("2 runs. Drag along an axis").wait_for()

    # A reload of the URL restores the view.
    page.reload()
    _wait_drawn(page)
    assert page.get_by_label("Log scale").is_checked()
    assert not page.get_by_label("Only differences").is_checked()
    page.get_by_role("figure", name="Chart of fold_accuracy").scroll_into_view_if_needed()
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "compare")


def test_the_x_axis_switches_to_time(page: Any, site: Site) -> None:
    ids = ",".join(r["info"]["run_id"] for r in _train_runs(site))
    login(page, to=f"/compare?runs={ids}&metric=fold_roc_auc")
    _wait_drawn(page)
    assert page.get_by_role("figure").count() == 1
    page.get_by_label("X axis").select_option("wall")
    _wait_query(page, "x=wall")
    _wait_drawn(page)
    assert "wall time" in page.get_by_role("figure", name="Chart of fold_roc_auc").inner_text()


def test_a_run_named_with_markup_shows_it_as_text(page: Any, site: Site) -> None:
    with site.api() as api:
        found = api.post("/runs/search", json={"filter": f"attributes.run_name = '{XSS}'"})
        run = found.raise_for_status().json()["runs"][0]
    login(page, to=f"/compare?runs={run['info']['run_id']}")
    _wait_drawn(page)
    legend = page.get_by_role("list", name="Legend of loss")
    assert legend.get_by_text(XSS, exact=True).count() == 1
    diff = page.locator("table.diff-table")
    assert page.get_by_label("Only differences").is_disabled()  # one run: every row shows
    assert diff.get_by_role("columnheader", name=XSS).count() == 1
    assert diff.get_by_role("cell", name=XSS).count() >= 1  # the param's value and the tags
    assert page.get_by_text(XSS, exact=True).count() >= 3
    assert page.evaluate("window.__xss") is None
    assert page.locator("img[src=x]").count() == 0
    screenshot(page, "compare-payload")


def test_the_page_without_runs_asks_for_them(page: Any) -> None:
    login(page, to="/compare")
    page.get_by_role("heading", name="Compare runs").wait_for()
    assert page.get_by_role("button", name="Compare").is_disabled()


def test_a_server_without_the_bulk_route_gets_the_same_charts(page: Any, site: Site) -> None:
    """An older Clew answers the bulk route 404: the page reads each history and thins it
    in the browser. The route is refused here as such a server would refuse it."""
    refused: list[str] = []

    def older_server(route: Any) -> None:
        refused.append(route.request.url)
        route.fulfill(
            status=404,
            content_type="application/json",
            body='{"error": {"code": "ENDPOINT_NOT_FOUND", "message": "No such endpoint"}}',
        )

    page.route("**/api/v1/metrics/history-bulk", older_server)
    runs = _train_runs(site)
    login(page, to=f"/compare?runs={','.join(r['info']['run_id'] for r in runs)}")
    _wait_drawn(page)
    assert refused
    legend = page.get_by_role("list", name="Legend of fold_accuracy")
    assert legend.get_by_role("listitem").count() == 2
    assert "\u2013" not in legend.inner_text()  # every run has its values (no dash)
    page.errors[:] = [e for e in page.errors if "404" not in e]  # the refusal, on purpose
