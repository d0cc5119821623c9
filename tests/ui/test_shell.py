"""The app's frame: sign-in, navigation to every area, themes, and stored payloads as text."""

from __future__ import annotations

from typing import Any

from .conftest import ADMIN, XSS, login, screenshot

AREAS = ["Experiments", "Models", "Promotions", "Pipelines", "Lineage", "Audit log", "Admin"]


def test_signing_in_leads_back_to_the_page_asked_for(page: Any) -> None:
    page.goto("/experiments")
    page.wait_for_url("**/login?next=%2Fexperiments")
    screenshot(page, "login")
    page.get_by_label("User name").fill(ADMIN)
    page.get_by_label("Password").fill("wrong password, surely")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("alert").wait_for()
    assert "UNAUTHENTICATED" in page.get_by_role("alert").inner_text()
    page.errors.clear()  # the browser logs the 401 it was given on purpose
    login(page, to="/experiments")
    page.wait_for_url("**/experiments")
    assert page.get_by_role("heading", name="Experiments").is_visible()


def test_every_area_renders_in_both_themes(page: Any) -> None:
    login(page)
    seen = []
    for _ in range(2):
        for area in AREAS:
            page.get_by_role("navigation", name="Main").get_by_role("link", name=area).click()
            page.get_by_role("heading").first.wait_for()
        seen.append(page.evaluate("document.documentElement.dataset.theme"))
        page.get_by_role("button", name="Toggle theme").click()
    assert sorted(seen) == ["dark", "light"]


def test_an_experiment_named_with_markup_shows_it_as_text(page: Any) -> None:
    login(page, to="/experiments")
    page.get_by_role("link", name=XSS).wait_for()
    assert page.evaluate("window.__xss") is None
    assert page.locator("img[src=x]").count() == 0
