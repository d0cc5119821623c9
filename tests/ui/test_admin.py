"""The admin pages, as an admin would use them: a user, a token whose secret shows once, a team
with the user in it, a role granted and revoked, and all of it in the audit log afterwards; a
non-admin is told clearly that these pages are an admin's."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from .conftest import REVIEWER, REVIEWER_PASSWORD, XSS, Site, login, screenshot

USER = "ui-alice"
PASSWORD = "a sufficiently long passphrase"
TEAM = "ui-team"


def _eventually(check: Callable[[], bool], within_s: float = 60) -> bool:
    deadline = time.monotonic() + within_s
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.25)
    return True


def _form(page: Any, heading: str) -> Any:
    return page.locator("form.admin-form", has=page.get_by_role("heading", name=heading))


def test_admin_shows_its_sections(page: Any) -> None:
    login(page, to="/admin")
    page.get_by_role("heading", name="Admin", exact=True).wait_for()
    sub = page.get_by_role("navigation", name="Admin")
    assert sub.get_by_role("link").all_inner_texts() == ["Users", "Tokens", "Teams", "Roles"]
    sub.get_by_role("link", name="Tokens").click()
    page.wait_for_url("**/admin/tokens")
    page.get_by_role("heading", name="Tokens").wait_for()


def test_an_admin_manages_users_tokens_teams_and_roles(page: Any, site: Site) -> None:
    login(page, to="/admin/users")
    page.get_by_role("heading", name="Users").wait_for()
    page.get_by_role("cell", name=REVIEWER, exact=True).wait_for()

    # a user: the password rules show, and a short password is refused before the server
    form = _form(page, "New user")
    form.get_by_label("Name", exact=True).fill(USER)
    form.get_by_label("Password").fill("short")
    assert "at least 12" in form.locator("#password-rule").inner_text()
    assert form.get_by_role("button", name="Create user").is_disabled()
    form.get_by_label("Password").fill(PASSWORD)
    form.get_by_label("Display name").fill("Alice of the UI tests")
    form.get_by_role("button", name="Create user").click()
    form.get_by_role("status").get_by_text(f"Made user {USER}.").wait_for()
    page.get_by_role("cell", name=USER, exact=True).wait_for()
    screenshot(page, "admin-users")

    # a service account: no password field at all
    form.get_by_label("Service account").check()
    assert form.get_by_label("Password").count() == 0

    # a token for the user: the secret once, with a warning and a copy button
    page.get_by_role("navigation", name="Admin").get_by_role("link", name="Tokens").click()
    form = _form(page, "New token")
    form.get_by_label("For user").select_option(USER)
    form.get_by_label("Token name").fill("ci-deploy")
    form.get_by_label("Expires after").select_option(label="30 days")
    form.get_by_role("button", name="Create token").click()
    once = page.locator(".secret-once")
    once.wait_for()
    assert "shown only once" in once.inner_text()
    secret = once.get_by_label("Token secret").input_value()
    assert secret.startswith("clew_pat_")
    assert once.get_by_role("button", name="Copy").is_visible()
    row = page.get_by_role("row").filter(has_text="ci-deploy")
    row.wait_for()
    assert USER in row.inner_text() and "active" in row.inner_text()
    with site.api() as api:  # the token works
        me = api.get("/auth/me", headers={"authorization": f"Bearer {secret}"}).json()
    assert me["name"] == USER
    screenshot(page, "admin-tokens")
    page.reload()
    page.get_by_role("row").filter(has_text="ci-deploy").wait_for()
    assert secret not in page.content()
    assert page.locator(".secret-once").count() == 0

    # revoke it: asked first, then it shows as revoked and stops working
    row = page.get_by_role("row").filter(has_text="ci-deploy")
    row.get_by_role("button", name=f"Revoke ci-deploy of {USER}").click()
    row.get_by_role("button", name="Yes, revoke").click()
    row.get_by_text("revoked").wait_for()
    with site.api() as api:  # once the server's credential cache (auth_cache_s) lets go
        assert _eventually(
            lambda: (
                api.get("/auth/me", headers={"authorization": f"Bearer {secret}"}).status_code
                == 401
            )
        )

    # a team with the user in it (its description carries the payload: shown as text)
    page.get_by_role("navigation", name="Admin").get_by_role("link", name="Teams").click()
    form = _form(page, "New team")
    form.get_by_label("Team name").fill(TEAM)
    form.get_by_label("Description").fill(XSS)
    form.get_by_role("button", name="Create team").click()
    card = page.locator(".team-card", has=page.get_by_role("heading", name=TEAM))
    card.wait_for()
    card.get_by_label(f"User to add to {TEAM}").select_option(USER)
    card.get_by_role("button", name=f"Add to {TEAM}").click()
    card.get_by_role("list", name=f"Members of {TEAM}").get_by_text(USER).wait_for()
    assert card.get_by_text(XSS).is_visible()
    assert page.evaluate("window.__xss") is None and page.locator("img[src=x]").count() == 0
    screenshot(page, "admin-teams")

    # a role for the user on the demo's experiment, then one for the team on everything
    with site.api() as api:
        experiment = api.post("/experiments/search", json={"max_results": 1000}).json()
    eid = next(e["experiment_id"] for e in experiment["experiments"] if e["name"] != XSS)
    page.get_by_role("navigation", name="Admin").get_by_role("link", name="Roles").click()
    form = _form(page, "Grant a role")
    form.get_by_label("User", exact=True).select_option(USER)
    form.get_by_label("Role").select_option("editor")
    form.get_by_label("Scope").select_option("experiment")
    form.get_by_label("Experiment ID").fill(eid)
    form.get_by_role("button", name="Grant role").click()
    form.get_by_role("status").get_by_text(
        f"Granted editor to {USER} on experiment {eid}."
    ).wait_for()
    row = page.get_by_role("row").filter(has_text=USER)
    row.get_by_text("editor").wait_for()
    form.get_by_label("A team").check()
    form.get_by_label("Team", exact=True).select_option(TEAM)
    form.get_by_label("Role").select_option("viewer")
    form.get_by_label("Scope").select_option("all")
    form.get_by_role("button", name="Grant role").click()
    page.get_by_role("row").filter(has_text=TEAM).get_by_text("everything").wait_for()
    screenshot(page, "admin-roles")

    # revoke the user's
    row = page.get_by_role("row").filter(has_text=USER)
    row.get_by_role("button", name=f"Revoke editor of {USER} on experiment {eid}").click()
    row.get_by_role("button", name="Yes, revoke").click()
    row.wait_for(state="detached")
    with site.api() as api:
        held = api.get("/role-bindings").json()["bindings"]
    assert [(b["principal"], b["role"]) for b in held if b["principal"] in (USER, TEAM)] == [
        (TEAM, "viewer")
    ]

    # the audit log has every step, by the admin
    page.goto(f"/audit?resource_id={USER}")
    page.locator("table.audit-table tbody tr").first.wait_for()
    actions = page.locator("table.audit-table tbody td:nth-child(4)").all_inner_texts()
    assert actions == ["role.revoke", "role.grant", "token.revoke", "token.create", "user.create"]
    summaries = page.locator("table.audit-table tbody td:nth-child(6)").all_inner_texts()
    assert "role: editor" in summaries[1] and f"scope_id: {eid}" in summaries[1]
    assert secret not in page.content()
    page.goto(f"/audit?resource_type=team&resource_id={TEAM}")
    page.locator("table.audit-table tbody tr").first.wait_for()
    team_actions = page.locator("table.audit-table tbody td:nth-child(4)").all_inner_texts()
    assert team_actions == ["role.grant", "team.member.add", "team.create"]

    # deleting the team takes its binding with it
    page.goto("/admin/teams")
    card = page.locator(".team-card", has=page.get_by_role("heading", name=TEAM))
    card.get_by_role("button", name=f"Delete team {TEAM}").click()
    card.get_by_role("button", name="Yes, delete it and its role bindings").click()
    card.wait_for(state="detached")
    with site.api() as api:
        assert all(b["principal"] != TEAM for b in api.get("/role-bindings").json()["bindings"])


def test_a_non_admin_is_refused_clearly(page: Any) -> None:
    login(page, REVIEWER, REVIEWER_PASSWORD, to="/admin/users")
    for section in ("Users", "Tokens", "Teams", "Roles"):
        page.get_by_role("navigation", name="Admin").get_by_role("link", name=section).click()
        page.get_by_role("heading", name=section).wait_for()
        refused = page.get_by_role("alert").filter(has_text="Admins only")
        refused.wait_for()
        assert "PERMISSION_DENIED" in refused.inner_text()
        assert page.locator("form.admin-form").count() == 0
    screenshot(page, "admin-refused")
    page.errors.clear()  # the browser logs the 403s it was given on purpose


def test_an_admin_promotes_disables_enables_and_resets_a_user(page: Any, site: Site) -> None:
    user, first, second = "ui-bob", "bob's first long passphrase", "bob's second long passphrase"
    with site.api() as api:
        api.post("/users", json={"name": user, "password": first}).raise_for_status()
        token = api.post(f"/users/{user}/tokens", json={"name": "t"},
                         auth=(user, first)).raise_for_status().json()["secret"]  # fmt: skip
    login(page, to="/admin/users")
    row = page.get_by_role("row").filter(has=page.get_by_role("cell", name=user, exact=True))
    row.wait_for()

    row.get_by_role("button", name=f"Make {user} an admin").click()
    row.locator(".admin-badge").wait_for()
    row.get_by_role("button", name=f"Remove admin from {user}").click()
    row.get_by_role("button", name="Yes, remove admin").click()
    row.locator(".admin-badge").wait_for(state="detached")

    row.get_by_role("button", name=f"Disable {user} (revokes their tokens)").click()
    row.get_by_role("button", name="Yes, disable").click()
    row.get_by_text("disabled", exact=True).wait_for()
    page.get_by_text(f"Disabled {user}: their tokens are revoked.").wait_for()
    with site.api() as api:
        refused = api.get("/auth/me", headers={"authorization": f"Bearer {token}"})
        assert refused.status_code == 401
    row.get_by_role("button", name=f"Enable {user}").click()
    row.get_by_text("disabled", exact=True).wait_for(state="detached")

    row.get_by_role("button", name=f"Set the password of {user}").click()
    field = row.get_by_role("textbox", name=f"New password for {user}")
    field.fill("short")
    assert row.get_by_role("button", name="Save").is_disabled()
    field.fill(second)
    row.get_by_role("button", name="Save").click()
    page.get_by_text(f"Set the password of {user}; their sessions ended.").wait_for()
    with site.api() as api:
        assert api.get("/auth/me", auth=(user, second)).json()["name"] == user
        assert api.get("/auth/me", auth=(user, first)).status_code == 401
        actions = {e["action"] for e in api.get("/audit/events", params={
            "resource_type": "user", "resource_id": user}).json()["events"]}  # fmt: skip
    assert {"user.update", "user.password"} <= actions
