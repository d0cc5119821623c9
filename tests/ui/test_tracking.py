"""Experiments and runs in the browser: the run table (filter typed with completion, server
sorting, chosen columns, grouping, the view kept in the URL), a run's page (parents, children,
metric history, artifact previews) and stored payloads shown as text."""

from __future__ import annotations

import re
import struct
import zlib
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from .conftest import XSS, Site, login, screenshot

DEMO = "breast-cancer-forest"


def _experiment_id(site: Site, name: str) -> str:
    with site.api() as api:
        found = api.get("/experiments/by-name", params={"name": name})
        found.raise_for_status()
        return str(found.json()["experiment_id"])


def _runs(site: Site, experiment_id: str, filter_string: str = "") -> list[dict[str, Any]]:
    with site.api() as api:
        page = api.post("/runs/search", json={"experiment_ids": [experiment_id],
                                             "filter": filter_string, "max_results": 1000})  # fmt: skip
        page.raise_for_status()
        return list(page.json()["runs"])


@pytest.fixture(scope="module")
def demo(site: Site) -> dict[str, Any]:
    """The demo experiment's id, a pipeline root run and one of its training step runs."""
    eid = _experiment_id(site, DEMO)
    roots = _runs(site, eid, f"tags.`clew.pipeline` = '{DEMO}'")
    root = roots[-1]  # the first pipeline run: its steps really ran (the second is cached)
    children = _runs(site, eid, f"tags.`mlflow.parentRunId` = '{root['info']['run_id']}'")
    train = next(r for r in children if r["info"]["run_name"] == "train[0]")
    return {"experiment_id": eid, "root": root, "train": train, "children": children}


def _png(width: int, height: int) -> bytes:
    """A real PNG of a blue gradient, made here so the test needs no image file."""
    line = bytes(c for x in range(width) for c in (x * 255 // width, 90, 200))
    rows = b"".join(b"\0" + line for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@pytest.fixture(scope="module")
def files_run(site: Site) -> str:
    """A run whose artifacts are a nested CSV table, an image and a text file."""
    with site.api() as api:
        made = api.post("/experiments", json={"name": "ui-artifact-previews"})
        made.raise_for_status()
        run = api.post("/runs", json={"experiment_id": made.json()["experiment_id"],
                                      "run_name": "with-files"})  # fmt: skip
        run.raise_for_status()
        run_id = str(run.json()["info"]["run_id"])
        csv = "fold,accuracy,note\n" + "".join(f'{i},0.9{i},"row, {i}"\n' for i in range(300))
        for path, data in (
            ("eval/folds.csv", csv.encode()),
            ("plots/gradient.png", _png(64, 24)),
            ("notes/readme.txt", b"Plain text, shown as it is.\n"),
        ):
            put = api.put(f"/runs/{run_id}/artifacts/{path}", content=data,
                          headers={"content-type": "application/octet-stream"})  # fmt: skip
            put.raise_for_status()
    return run_id


def _query(page: Any) -> dict[str, list[str]]:
    return parse_qs(urlparse(page.url).query)


def test_the_run_table_filters_sorts_chooses_columns_and_keeps_the_view(
    page: Any, site: Site, demo: dict[str, Any]
) -> None:
    matching = len(_runs(site, demo["experiment_id"], "metrics.cv_accuracy > 0.9"))
    login(page, to="/experiments")
    page.get_by_role("link", name=DEMO, exact=True).click()
    page.get_by_role("heading", name=re.compile(DEMO)).wait_for()
    table = page.locator("table.runs-grid")
    table.get_by_role("link", name="train[0]").first.wait_for()

    # A filter typed with completion: a bare word finds the metric, the operators follow.
    box = page.get_by_role("combobox", name="Filter runs")
    box.click()
    box.press_sequentially("cv_acc")
    listbox = page.get_by_role("listbox", name="Suggestions")
    listbox.get_by_role("option", name=re.compile(r"^metrics\.cv_accuracy")).wait_for()
    box.press("ArrowDown")
    assert box.get_attribute("aria-activedescendant")
    box.press("Enter")
    assert box.input_value() == "metrics.cv_accuracy "
    listbox.get_by_role("option", name=">=").wait_for()
    box.press_sequentially("> 0.9")
    box.press("Enter")
    page.wait_for_url(re.compile(r"filter=metrics\.cv_accuracy"))
    page.get_by_role("status").filter(has_text=f"{matching} runs.").wait_for()

    # Sorting is the server's: a header click orders by the metric, descending first.
    header = page.get_by_role("button", name="Sort by metrics.cv_accuracy")
    header.click()
    page.wait_for_url(re.compile(r"order=metrics\.cv_accuracy.*dir=desc"))
    sorted_header = page.locator("th[aria-sort=descending]")
    sorted_header.wait_for()
    _wait_for_runs(page, matching)
    column = _column_index(page, "cv_accuracy")
    values = _column_values(page, column)
    assert values == sorted(values, reverse=True) and len(values) == matching

    # A column chosen from the experiment's params, then rows grouped by it.
    page.get_by_role("button", name=re.compile(r"^Columns")).click()
    chooser = page.get_by_role("dialog", name="Choose columns")
    chooser.get_by_role("searchbox", name="Find a column").fill("max_d")
    chooser.get_by_role("checkbox", name="max_depth", exact=True).check()
    chooser.get_by_role("button", name="Done").click()
    page.locator("th", has_text="max_depth").wait_for()
    assert "params.max_depth" in _query(page)["col"]
    page.get_by_label("Group by").select_option("max_depth")
    page.get_by_role("button", name=re.compile(r"params\.max_depth = 6")).wait_for()
    screenshot(page, "tracking-runs")

    # The URL is the saved view: a reload shows the same table.
    url = page.url
    page.reload()
    page.get_by_role("button", name=re.compile(r"params\.max_depth = 6")).wait_for()
    assert page.url == url
    assert (
        page.get_by_role("combobox", name="Filter runs").input_value()
        == "metrics.cv_accuracy > 0.9"
    )
    assert re.sub(r"\s+", " ", page.locator("th[aria-sort=descending]").inner_text()).endswith(
        "cv_accuracy ▼"
    )
    assert page.locator("th", has_text="max_depth").count() == 1

    # Runs selected (a shift-click takes the range): Compare links to them.
    page.get_by_label("Group by").select_option("")
    _wait_for_runs(page, matching)
    boxes = page.get_by_role("checkbox", name=re.compile(r"^Select run "))
    boxes.nth(0).check()
    boxes.nth(2).click(modifiers=["Shift"])
    compare = page.get_by_role("link", name="Compare 3 runs")
    href = compare.get_attribute("href") or ""
    assert href.startswith("/compare?runs=") and len(href.split("=")[1].split(",")) == 3


def test_experiments_picked_on_the_list_share_one_run_table(page: Any, site: Site) -> None:
    demo_id, xss_id = _experiment_id(site, DEMO), _experiment_id(site, XSS)
    login(page, to="/experiments")
    page.get_by_role("checkbox", name=f"Select experiment {DEMO}").check()
    page.get_by_role("checkbox", name=f"Select experiment {XSS}").check()
    page.get_by_role("link", name="Runs of 2 selected").click()
    page.get_by_role("heading", name="Runs of 2 experiments").wait_for()
    assert set(_query(page)["experiments"][0].split(",")) == {demo_id, xss_id}
    # Newest first, the payload's run may sit below the rows drawn once other tests ran jobs
    # in the demo's experiment; it alone has `loss`, so ordering by it brings it to the top.
    page.goto(page.url + "&order=metrics.loss&dir=desc")
    table = page.locator("table.runs-grid")
    table.get_by_role("link", name=XSS).first.wait_for()  # the run, and its experiment's column
    assert table.get_by_role("link", name=DEMO).count() > 0
    assert page.evaluate("window.__xss") is None


def test_a_bad_filter_shows_the_servers_message_inline(page: Any, demo: dict[str, Any]) -> None:
    # The browser logs each 400 the bad filter earns: the table's request and any that follow.
    page.expected_errors.append("status of 400 (Bad Request)")
    login(page, to=f"/experiments/{demo['experiment_id']}")
    box = page.get_by_role("combobox", name="Filter runs")
    box.fill("metrics.cv_accuracy >> 1")
    box.press("Escape")
    box.press("Enter")
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "INVALID_FILTER" in alert.inner_text()
    assert "position" in alert.inner_text()
    assert box.get_attribute("aria-invalid") == "true"


def test_a_run_page_links_parent_children_pipeline_and_lineage(
    page: Any, demo: dict[str, Any]
) -> None:
    root, train = demo["root"], demo["train"]
    root_id = root["info"]["run_id"]
    login(page, to=f"/runs/{root_id}")
    page.get_by_role("heading", name=DEMO, level=1).wait_for()
    related = page.get_by_role("navigation", name="Related")
    assert (
        related.get_by_role("link", name="Lineage").get_attribute("href")
        == f"/lineage?run={root_id}"
    )
    assert (
        related.get_by_role("link", name="Pipeline run").get_attribute("href")
        == f"/pipelines/runs/{root_id}"
    )
    children = page.locator("h2:has-text('Child runs') + table")
    children.get_by_role("link", name="train[0]").wait_for()
    assert children.locator("tbody tr").count() == len(demo["children"])

    # A JSON artifact, pretty-printed; every file has a download link.
    page.get_by_role("navigation", name="Artifact files").get_by_role(
        "button", name="params.json"
    ).click()
    preview = page.get_by_role("region", name="Preview of params.json")
    preview.locator("pre[data-kind=json]").wait_for()
    assert "\n  " in preview.locator("pre").inner_text()
    assert "artifact=params.json" in page.url
    download = page.get_by_role("link", name="Download params.json").first
    assert download.get_attribute("href") == f"/api/v1/runs/{root_id}/artifacts/params.json"
    preview.scroll_into_view_if_needed()
    screenshot(page, "tracking-artifact")

    # A step run: its parent, its pipeline run, a metric's history chart.
    page.get_by_role("link", name="train[0]").click()
    page.get_by_role("heading", name="train[0]", level=1).wait_for()
    related = page.get_by_role("navigation", name="Related")
    assert (
        related.get_by_role("link", name="Parent run").get_attribute("href") == f"/runs/{root_id}"
    )
    pipeline_link = related.get_by_role("link", name=re.compile(r"^Pipeline run \(step train\)"))
    assert pipeline_link.get_attribute("href") == f"/pipelines/runs/{root_id}"
    assert train["info"]["run_id"] in page.url
    page.get_by_role("link", name="History of fold_accuracy").click()
    figure = page.get_by_role("figure", name="History of fold_accuracy")
    figure.locator("canvas").first.wait_for()
    assert "3 points" in figure.inner_text()
    page.get_by_role("heading", name="train[0]").scroll_into_view_if_needed()
    screenshot(page, "tracking-run")


def test_artifact_previews_of_a_table_and_an_image(page: Any, files_run: str) -> None:
    login(page, to=f"/runs/{files_run}")
    tree = page.get_by_role("navigation", name="Artifact files")
    tree.get_by_role("button", name="eval/").click()
    tree.get_by_role("button", name="folds.csv").click()
    preview = page.get_by_role("region", name="Preview of eval/folds.csv")
    preview.locator("table").wait_for()
    assert preview.locator("thead th").all_inner_texts() == ["fold", "accuracy", "note"]
    assert preview.locator("tbody tr").count() == 100
    assert preview.locator("tbody tr").first.locator("td").all_inner_texts() == [
        "0",
        "0.90",
        "row, 0",
    ]
    assert "100 rows of 300" in preview.inner_text()

    tree.get_by_role("button", name="plots/").click()
    tree.get_by_role("button", name="gradient.png").click()
    image = page.get_by_role("img", name="plots/gradient.png")
    image.wait_for()
    page.wait_for_function("() => document.querySelector('img.preview-image')?.naturalWidth === 64")
    assert (image.get_attribute("src") or "").startswith("blob:")
    page.get_by_role("button", name="Toggle theme").click()
    screenshot(page, "tracking-artifact-image-dark")


def test_payloads_show_as_text_on_the_run_table_and_run_page(page: Any, site: Site) -> None:
    eid = _experiment_id(site, XSS)
    (run,) = _runs(site, eid)
    login(page, to=f"/experiments/{eid}")
    page.get_by_role("heading", name=XSS).wait_for()
    page.locator("table.runs-grid").get_by_role("link", name=XSS).click()
    page.get_by_role("heading", name=XSS, level=1).wait_for()
    assert run["info"]["run_id"] in page.url
    # The param and the tag (key and value), and the description.
    assert page.locator("th.mono", has_text=XSS).count() >= 2
    assert page.locator("td.value-cell", has_text=XSS).count() >= 2
    assert page.locator("p.description").inner_text() == XSS
    page.get_by_role("button", name="payload.txt").click()
    preview = page.get_by_role("region", name="Preview of payload.txt")
    preview.locator("pre").filter(has_text=XSS).wait_for()
    assert page.evaluate("window.__xss") is None
    assert page.locator("img[src=x]").count() == 0


def _wait_for_runs(page: Any, n: int) -> None:
    """Until the table shows `n` run rows (a new order refetches them)."""
    page.wait_for_function(  # a function, not an expression: the page's CSP forbids eval
        f"() => document.querySelectorAll('table.runs-grid tbody tr[aria-selected]').length === {n}"
    )


def _column_index(page: Any, name: str) -> int:
    headers = page.locator("table.runs-grid thead th").all_inner_texts()
    return next(i for i, h in enumerate(headers) if re.sub(r"[\s▼▲]+$", "", h).endswith(name))


def _column_values(page: Any, index: int) -> list[float]:
    cells = page.locator(f"table.runs-grid tbody tr:not(.spacer) td:nth-child({index + 1})")
    return [float(t) for t in cells.all_inner_texts() if t.strip()]
