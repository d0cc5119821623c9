"""The frame around every page, by keyboard and at laptop sizes (issue 7, item 8): a skip link
that lands in the content, every navigation link and control reachable with Tab and named, tab
titles per area, and no page wider than a 1280 px window or a 1440x900 laptop screen."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Site, login

PAGES = ["/experiments", "/models", "/promotions", "/pipelines", "/lineage", "/audit", "/admin",
         "/admin/users", "/admin/tokens", "/admin/teams", "/admin/roles"]  # fmt: skip


def test_the_skip_link_and_tab_order_reach_every_area(page: Any) -> None:
    login(page, to="/audit")
    page.get_by_role("heading", name="Audit log").wait_for()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"

    page.reload()  # Tab from the top of the page again
    page.get_by_role("heading", name="Audit log").wait_for()
    reached = []
    for _ in range(14):
        page.keyboard.press("Tab")
        reached.append(page.evaluate("document.activeElement.textContent.trim()"))
    for label in ["Experiments", "Models", "Promotions", "Pipelines", "Lineage", "Audit log",
                  "Admin", "Sign out"]:  # fmt: skip
        assert label in reached, (label, reached)
    # the current area is marked for assistive technology, and names the tab
    current = page.get_by_role("navigation", name="Main").locator("[aria-current=page]")
    assert current.inner_text() == "Audit log"
    assert page.title() == "Audit log · Clew"


def test_every_control_on_the_admin_pages_has_a_name(page: Any) -> None:
    login(page, to="/admin/users")
    for path in ("/audit", "/admin/users", "/admin/tokens", "/admin/teams", "/admin/roles"):
        page.goto(path)
        page.locator("main h1").first.wait_for()
        page.locator("main form, main table").first.wait_for()
        unnamed = page.evaluate(
            """() => [...document.querySelectorAll('main input, main select, main textarea, main button')]
                .filter(el => el.type !== 'hidden' && !(el.labels && el.labels.length)
                              && !el.getAttribute('aria-label') && !el.textContent.trim())
                .map(el => el.outerHTML.slice(0, 120))"""
        )
        assert unnamed == [], (path, unnamed)


@pytest.mark.parametrize("size", [(1280, 800), (1440, 900)], ids=["1280", "1440x900"])
def test_no_page_is_wider_than_the_window(browser: Any, site: Site, size: tuple[int, int]) -> None:
    width, height = size
    context = browser.new_context(base_url=site.url, viewport={"width": width, "height": height})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        login(page)
        for path in PAGES:
            page.goto(path)
            page.locator("main h1").first.wait_for()
            page.wait_for_load_state("networkidle")
            scroll = page.evaluate("document.documentElement.scrollWidth")
            assert scroll <= width, (path, scroll)
            topbar = page.locator("header.topbar").bounding_box()
            assert topbar is not None and topbar["height"] <= 60, (path, topbar)  # one line
    finally:
        context.close()
    assert errors == []
