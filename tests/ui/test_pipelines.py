"""The pipelines pages in a browser: the demo's runs, their DAG with cached steps marked, a
step's panel and its run; versions, a job the server runs (live, with its steps' logs),
schedules."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.server.test_real_server import Server

from .conftest import ADMIN, ADMIN_PASSWORD, Site, login, screenshot, watched_page

PIPELINE = "breast-cancer-forest"


def _search(site: Site, filter_: str, **extra: Any) -> list[dict[str, Any]]:
    with site.api() as api:
        found = api.post("/runs/search", json={"filter": filter_, "max_results": 100, **extra})
        found.raise_for_status()
        return list(found.json()["runs"])


@pytest.fixture(scope="module")
def demo_runs(site: Site) -> list[str]:
    """The demo's two pipeline runs, newest (the mostly cached one) first."""
    runs = _search(site, f"tags.\"clew.pipeline\" = '{PIPELINE}'",
                   order_by=["attributes.start_time DESC"])  # fmt: skip
    assert len(runs) >= 2
    return [r["info"]["run_id"] for r in runs]


@pytest.fixture(scope="module")
def version(site: Site, demo_runs: list[str]) -> dict[str, Any]:
    """The demo pipeline registered as a server version (its run's pipeline.json)."""
    with site.api() as api:
        spec = api.get(f"/runs/{demo_runs[0]}/artifacts/pipeline.json")
        spec.raise_for_status()
        made = api.post("/pipelines/versions", json={"spec": spec.json()})
        made.raise_for_status()
        return dict(made.json())


def test_the_cached_run_draws_its_dag_and_a_step_opens_its_run(page: Any, site: Site,
                                                               demo_runs: list[str]) -> None:  # fmt: skip
    run_id = demo_runs[0]
    login(page, to="/pipelines")
    page.get_by_role("heading", name="Pipelines", exact=True).wait_for()
    page.get_by_role("link", name=run_id[:12]).click()
    page.wait_for_url(f"**/pipelines/runs/{run_id}")
    page.locator("[data-step]").first.wait_for()
    states = page.eval_on_selector_all("[data-step]", "els => els.map(e => e.dataset.state)")
    assert len(states) == 18  # load, validate, split, 12 train, evaluate, gate, register
    assert states.count("CACHED") == 17 and states.count("SUCCEEDED") == 1
    assert page.locator(".dag-cached-mark").count() == 17
    assert page.locator(".dag-group-loop").count() == 1  # the 12 iterations in one box
    gate = page.get_by_role("button", name="quality_gate: SUCCEEDED")
    assert gate.count() == 1
    screenshot(page, "pipeline-run")

    # Keyboard: focus a step and press Enter.
    step = page.get_by_role("button", name=re.compile(r"^evaluate: CACHED"))
    step.focus()
    page.keyboard.press("Enter")
    panel = page.get_by_role("complementary")
    panel.get_by_role("heading", name="evaluate").wait_for()
    assert "CACHED" in panel.inner_text()
    panel.get_by_text("Cached from").wait_for()
    panel.get_by_role("heading", name="Outputs").wait_for()
    screenshot(page, "pipeline-run-step")
    step_run = _search(site, f"tags.\"clew.pipeline.run\" = '{run_id}' and "
                             "tags.\"clew.pipeline.step\" = 'evaluate'")[0]  # fmt: skip
    panel.get_by_role("link", name="Open step run").click()
    page.wait_for_url(f"**/runs/{step_run['info']['run_id']}")


def test_the_first_run_ran_every_step(page: Any, demo_runs: list[str]) -> None:
    login(page, to=f"/pipelines/runs/{demo_runs[1]}")
    page.locator("[data-step]").first.wait_for()
    states = set(page.eval_on_selector_all("[data-step]", "els => els.map(e => e.dataset.state)"))
    assert states == {"SUCCEEDED"}
    page.get_by_role("button", name=re.compile(r"^train\[3\]")).click()
    panel = page.get_by_role("complementary")
    panel.get_by_role("heading", name="train[3]").wait_for()
    panel.get_by_role("rowheader", name="params").wait_for()  # the grid point, an input


def test_the_pipelines_page_lists_versions_runs_and_what_a_job_needs(
    page: Any, version: dict[str, Any], demo_runs: list[str]
) -> None:
    login(page, to="/pipelines")
    runs = page.get_by_role("table", name="Recent pipeline runs")
    runs.get_by_role("link", name=demo_runs[0][:12]).wait_for()
    assert runs.get_by_text("SUCCEEDED").count() >= 2
    page.get_by_text(version["digest"][:12]).wait_for()
    screenshot(page, "pipelines")
    page.get_by_role("button", name=f"Start {PIPELINE} {version['digest'][:12]}").click()
    form = page.get_by_role("form", name=f"Start {PIPELINE}")
    assert form.get_by_label("folds").input_value() == "3"  # the graph's default
    assert '"n_estimators": 50' in form.get_by_label("grid").input_value()
    form.get_by_label("folds").fill("2.5")
    form.get_by_role("button", name="Start job").click()
    assert "folds must be a whole number" in form.get_by_role("alert").inner_text()
    form.get_by_label("folds").fill("3")
    form.get_by_role("button", name="Start job").click()
    # This server has no CLEW_PIPELINE_MODULES: it refuses, and says why.
    form.get_by_text("CLEW_PIPELINE_MODULES to the modules").wait_for()
    page.errors.clear()  # the browser logs the 400 on purpose


@pytest.fixture(scope="module")
def job_server(site: Site, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A second server on the site's store that may run the demo's steps (its worker runs
    the jobs)."""
    server = Server(site.home, extra_env={
        "CLEW_AUTH": "true", "CLEW_PIPELINE_MODULES": "clew.demo,clew.pipelines.gates",
        "CLEW_ADMIN_USERNAME": ADMIN, "CLEW_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "CLEW_PIPELINE_LEASE_S": "9",  # renewed every 3 s: a cancel lands soon
    })  # fmt: skip
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def job_page(browser: Any, job_server: str) -> Iterator[Any]:
    with watched_page(browser, job_server) as opened:
        yield opened


def test_a_job_runs_live_on_the_server_and_its_steps_have_logs(
    job_page: Any, version: dict[str, Any]
) -> None:
    page = job_page
    login(page, to="/pipelines")
    page.get_by_role("button", name=f"Start {PIPELINE} {version['digest'][:12]}").click()
    page.get_by_role("form", name=f"Start {PIPELINE}").get_by_role(
        "button", name="Start job"
    ).click()
    jobs = page.get_by_role("table", name="Pipeline jobs")
    jobs.wait_for()
    # Polled while it is queued or running; the demo's cache makes it quick.
    newest = jobs.get_by_role("row").nth(1)
    newest.locator(".state-SUCCEEDED, .state-FAILED, .state-CANCELED").wait_for(timeout=240_000)
    assert "SUCCEEDED" in newest.inner_text(), newest.inner_text()
    jobs.get_by_role("link", name="DAG").first.click()
    page.locator("[data-step]").first.wait_for()
    page.get_by_role("button", name=re.compile(r"^quality_gate: SUCCEEDED")).click()
    panel = page.get_by_role("complementary")
    panel.get_by_role("heading", name="Log").wait_for()
    panel.locator("pre.step-log").or_(panel.get_by_text("The step printed nothing.")).wait_for()
    assert "Logs are kept for steps of server-run jobs" not in panel.inner_text()


def test_a_queued_job_is_canceled(job_page: Any, version: dict[str, Any]) -> None:
    """Canceled before a worker took it; with no pipeline run there is nothing to resume."""
    page = job_page
    login(page, to="/pipelines")
    jobs = page.get_by_role("table", name="Pipeline jobs")
    # The table shows once there is a job; on its own (another worker may have run the job
    # test) the section says there are none.
    jobs.or_(page.get_by_text("No jobs:")).wait_for()
    before = jobs.get_by_role("row").count() if jobs.count() else 0
    page.get_by_role("button", name=f"Start {PIPELINE} {version['digest'][:12]}").click()
    page.get_by_role("form", name=f"Start {PIPELINE}").get_by_role(
        "button", name="Start job"
    ).click()
    page.wait_for_function(
        "(n) => document.querySelectorAll('table[aria-label=\"Pipeline jobs\"] tr').length > n",
        arg=before,
    )
    newest = jobs.get_by_role("row").nth(1)  # newest first, under the header
    newest.get_by_role("button", name=re.compile("^Cancel job")).click()
    newest.locator(".state-CANCELED, .state-SUCCEEDED, .state-FAILED").wait_for(timeout=120_000)
    text = newest.inner_text()
    if "canceled before it started" in text:
        assert newest.get_by_role("button", name=re.compile("^Resume job")).count() == 0
    elif "SUCCEEDED" not in text:  # a worker had it: it stops at its next lease renewal
        assert "CANCELED" in text, text
        newest.get_by_role("button", name=re.compile("^Resume job")).click()
        page.wait_for_function(
            "(n) => document.querySelectorAll('table[aria-label=\"Pipeline jobs\"] tr').length > n",
            arg=before + 1,
        )


def test_schedules_are_made_paused_and_deleted(job_page: Any, version: dict[str, Any]) -> None:
    page = job_page
    login(page, to="/pipelines")
    page.get_by_role("button", name="New schedule").click()
    form = page.get_by_role("form", name="New schedule")
    form.get_by_label("Schedule name").fill("nightly-ui")
    form.get_by_label("Cron expression").fill("0 3 * * *")
    form.get_by_role("button", name="Create schedule").click()
    table = page.get_by_role("table", name="Schedules")
    row = table.get_by_role("row").filter(has_text="nightly-ui")
    row.get_by_text("active").wait_for()
    row.get_by_role("button", name="Pause").click()
    row.get_by_text("paused").wait_for()
    row.get_by_role("button", name="Resume").click()
    row.get_by_text("active").wait_for()
    row.get_by_role("button", name="Delete schedule nightly-ui").click()
    row.get_by_role("button", name="Delete nightly-ui?").click()
    page.get_by_text("No schedules.").wait_for()
