"""End-to-end UI tests: headless Debian Chromium, driven by Playwright, against a real
``clew server --auth`` whose home the demo pipeline filled.

One server per test session (the demo takes a while); each test gets a fresh browser context,
so cookies never leak between tests. Every page records its console errors and uncaught
exceptions, and the ``page`` fixture fails a test that produced any. Screenshots go to
``build/ui-screenshots`` (``make screenshots`` copies them into ``docs/screenshots`` for the
README).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from clew.server.ui import UI_DIST
from tests.conftest import need, require
from tests.server.test_real_server import Server

CHROMIUM = os.environ.get("CLEW_TEST_CHROMIUM", "/usr/bin/chromium")
#: The flags a sandboxed, offline machine needs (no background fetches to Google).
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "ui-screenshots"
ADMIN, ADMIN_PASSWORD = "admin", "correct horse battery staple"
REVIEWER, REVIEWER_PASSWORD = "reviewer", "another long passphrase"
#: Stored in names, tags, params, descriptions and artifact names; must show as text.
XSS = '<img src=x onerror="window.__xss=1">'

pytestmark = pytest.mark.server


@dataclass(frozen=True)
class Site:
    url: str
    home: Path
    admin_token: str

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=self.url + "/api/v1", timeout=30,
                            headers={"authorization": f"Bearer {self.admin_token}"})  # fmt: skip


def _fill_with_payloads(home: Path) -> None:
    """Runs whose every user-written field carries an XSS payload."""
    script = f"""
import clew
from clew.client.client import Client
with Client() as c, clew.use_client(c):
    clew.set_experiment({XSS!r})
    with clew.start_run(run_name={XSS!r}):
        clew.log_param({XSS!r}, {XSS!r})
        clew.set_tag({XSS!r}, {XSS!r})
        clew.set_tag("mlflow.note.content", {XSS!r})
        clew.log_metric("loss", 0.5)
        clew.log_text({XSS!r}, "payload.txt")
"""
    env = {**os.environ, "CLEW_HOME": str(home)}
    subprocess.run([sys.executable, "-c", script], env=env, check=True)


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    require((UI_DIST / "index.html").is_file(), "the UI is not built (make ui)")
    require(Path(CHROMIUM).is_file(), f"Debian's chromium is not installed at {CHROMIUM}")
    home = tmp_path_factory.mktemp("ui-site") / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLEW_")}
    env["CLEW_HOME"] = str(home)
    subprocess.run([sys.executable, "-m", "clew.demo", "--no-serve"], env=env, check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    _fill_with_payloads(home)
    server = Server(home, extra_env={
        "CLEW_AUTH": "true", "CLEW_ADMIN_USERNAME": ADMIN, "CLEW_ADMIN_PASSWORD": ADMIN_PASSWORD,
    })  # fmt: skip
    try:
        made = httpx.post(f"{server.url}/api/v1/users/{ADMIN}/tokens", json={"name": "ui-tests"},
                          auth=(ADMIN, ADMIN_PASSWORD), timeout=30)  # fmt: skip
        made.raise_for_status()
        site = Site(server.url, home, made.json()["secret"])
        with site.api() as api:
            api.post("/users", json={"name": REVIEWER, "password": REVIEWER_PASSWORD}
                     ).raise_for_status()  # fmt: skip
        yield site
    finally:
        server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium, never a browser Playwright downloads."""
    require(Path(CHROMIUM).is_file(), f"Debian's chromium is not installed at {CHROMIUM}")
    sync_api = need("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@contextmanager
def watched_page(browser: Any, base_url: str) -> Iterator[Any]:
    """A page in a fresh context at 1280x800; on leaving, fails if the page logged an error
    or threw. ``page.errors`` is the list, for a test that expects one on purpose; an error
    that may come late (a second request refused like the first) is better named in
    ``page.expected_errors``, text it contains, whenever it comes."""
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 800})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    opened.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
    opened.errors = errors
    opened.expected_errors = []
    yield opened
    context.close()
    unexpected = [e for e in errors if not any(text in e for text in opened.expected_errors)]
    assert unexpected == [], f"console errors: {unexpected}"


@pytest.fixture
def page(browser: Any, site: Site) -> Iterator[Any]:
    """The site in a watched page (:func:`watched_page`)."""
    with watched_page(browser, site.url) as opened:
        yield opened


@pytest.fixture
def second_page(browser: Any, site: Site) -> Iterator[Any]:
    """Another person's browser: a watched page in a context of its own."""
    with watched_page(browser, site.url) as opened:
        yield opened


def login(page: Any, user: str = ADMIN, password: str = ADMIN_PASSWORD, to: str = "/") -> None:
    page.goto(to)
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("navigation", name="Main").wait_for()


def screenshot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=False)
