"""The audit log page: the demo's events, filters in the URL, chain verification live, export,
a refusal for non-admins, and a tampered row named as the first broken link (on a site of its
own: the shared one must stay intact)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from tests.conftest import need
from tests.server.test_real_server import Server

from .conftest import (
    ADMIN,
    ADMIN_PASSWORD,
    REVIEWER,
    REVIEWER_PASSWORD,
    XSS,
    Site,
    login,
    screenshot,
)


def expect(locator: Any) -> Any:
    """Playwright's retrying assertions (a page's CSP forbids wait_for_function's eval)."""
    return need("playwright.sync_api").expect(locator)


def _rows(page: Any) -> Any:
    return page.locator("table.audit-table tbody tr")


def _column(page: Any, index: int) -> list[str]:
    return [t.strip() for t in _rows(page).locator(f"td:nth-child({index})").all_inner_texts()]


def test_the_audit_log_shows_the_demos_events_and_a_verified_chain(page: Any, site: Site) -> None:
    login(page, to="/audit")
    page.get_by_role("heading", name="Audit log").wait_for()
    status = page.locator(".verify [role=status]")
    status.get_by_text("Chain verified").wait_for()
    with site.api() as api:
        head = api.get("/audit/verify").json()
    assert head["ok"] and f"{head['checked']} events" in status.inner_text()
    assert head["head_hash"] in status.inner_text()
    assert _rows(page).count() == 100  # a full page, newest first
    seqs = [int(s) for s in _column(page, 1)]
    assert seqs == sorted(seqs, reverse=True) and seqs[0] == head["head_seq"]
    # the XSS experiment's audited name shows as text
    assert page.evaluate("window.__xss") is None
    assert page.locator("img[src=x]").count() == 0
    screenshot(page, "audit-log")

    # Verify now: runs again and says so
    page.get_by_role("button", name="Verify now").click()
    status.get_by_text("Chain verified").wait_for()

    export = page.get_by_role("link", name="Export (JSON Lines)")
    assert export.get_attribute("href") == "/api/v1/audit/export"


def test_filters_live_in_the_url_and_narrow_the_table(page: Any, site: Site) -> None:
    login(page, to="/audit")
    _rows(page).first.wait_for()
    page.get_by_label("Action").fill("experiment.create")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url("**/audit?action=experiment.create")
    with site.api() as api:
        made = api.get("/audit/events", params={"action": "experiment.create"}).json()["events"]
    assert len(made) >= 2
    expect(_rows(page).locator("td:nth-child(1)")).to_have_text([str(e["seq"]) for e in made])
    assert set(_column(page, 4)) == {"experiment.create"}
    assert any(XSS in t for t in _column(page, 6))  # the payload's name, as text
    assert page.evaluate("window.__xss") is None and page.locator("img[src=x]").count() == 0

    # a shared link with the actor filter opens the same view, with the form filled in
    page.goto(f"/audit?actor={ADMIN}")
    _rows(page).first.wait_for()
    assert page.get_by_label("Actor").input_value() == ADMIN
    assert set(_column(page, 3)) == {ADMIN}
    assert "session.login" in _column(page, 4)

    # clicking an action in the table filters by it and keeps the actor
    _rows(page).locator("td:nth-child(4) a", has_text="session.login").first.click()
    page.wait_for_url("**/audit?actor=*&action=session.login")
    query = parse_qs(urlparse(page.url).query)
    assert query == {"actor": [ADMIN], "action": ["session.login"]}
    page.get_by_role("button", name="Clear").click()
    page.wait_for_url("**/audit")

    # a time range that holds nothing
    page.goto("/audit?until=2000-01-01T00:00:00.000Z")
    page.get_by_text("No events match these filters.").wait_for()


def test_paging_goes_older_and_back(page: Any) -> None:
    login(page, to="/audit")
    _rows(page).first.wait_for()
    first = _column(page, 1)
    page.get_by_role("button", name="Older →").click()
    page.wait_for_url("**/audit?after=*")
    expect(_rows(page).first.locator("td").first).not_to_have_text(first[0])
    older = _column(page, 1)
    assert int(older[0]) == int(first[-1]) - 1
    page.get_by_role("button", name="← Newer").click()
    expect(_rows(page).first.locator("td").first).to_have_text(first[0])


def test_a_reviewer_is_told_the_audit_log_is_for_admins(page: Any) -> None:
    login(page, REVIEWER, REVIEWER_PASSWORD, to="/audit")
    page.get_by_role("heading", name="Admins only").wait_for()
    assert "PERMISSION_DENIED" in page.get_by_role("alert").first.inner_text()
    page.errors.clear()  # the browser logs the 403s it was given on purpose


# ---- a site whose audit log is tampered with ----------------------------------------------------


@pytest.fixture(scope="module")
def tampered_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A small site of its own, with a few audited changes, then one row edited in SQLite."""
    home = tmp_path_factory.mktemp("ui-tampered") / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLEW_")}
    env["CLEW_HOME"] = str(home)
    script = """
import clew
for i in range(3):
    clew.set_experiment(f"tamper-{i}")
    with clew.start_run():
        clew.log_metric("m", i)
"""
    subprocess.run([sys.executable, "-c", script], env=env, check=True)
    server = Server(home, extra_env={
        "CLEW_AUTH": "true", "CLEW_ADMIN_USERNAME": ADMIN, "CLEW_ADMIN_PASSWORD": ADMIN_PASSWORD,
    })  # fmt: skip
    try:
        made = httpx.post(f"{server.url}/api/v1/users/{ADMIN}/tokens", json={"name": "t"},
                          auth=(ADMIN, ADMIN_PASSWORD), timeout=30)  # fmt: skip
        made.raise_for_status()
        yield Site(server.url, home, made.json()["secret"])
    finally:
        server.stop()


def _tamper(db: Path, seq: int) -> None:
    """What someone with the database file can do: drop the append-only guard, edit a row."""
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
        conn.execute("UPDATE audit_events SET actor = 'mallory' WHERE seq = ?", (seq,))


def test_a_tampered_row_shows_as_the_first_broken_link(browser: Any, tampered_site: Site) -> None:
    context = browser.new_context(
        base_url=tampered_site.url, viewport={"width": 1280, "height": 800}
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        login(page, to="/audit")
        page.locator(".verify [role=status]").get_by_text("Chain verified").wait_for()
        _tamper(tampered_site.home / "clew.db", 3)
        page.get_by_role("button", name="Verify now").click()
        broken = page.locator(".verify [role=status]")
        broken.get_by_text("Chain broken at event #3").wait_for()
        assert "content was altered" in broken.inner_text()
        assert "2 events verified before it" in broken.inner_text()
        screenshot(page, "audit-broken")
        broken.get_by_role("link", name="Show event #3").click()
        page.wait_for_url("**/audit?after=4")
        expect(_rows(page).first.locator("td").first).to_have_text("3")
        assert _column(page, 3)[0] == "mallory"
    finally:
        context.close()
    assert errors == []
