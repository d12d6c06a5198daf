"""Sessions (Hardening "session overview"): an admin with `sessions:manage` finds an
employee's live sessions at the FI the tab acts on and ends one; everything around it is
refused like every other admin action (CSRF 403, wrong method 405, no permission 403, a
tab showing another FI 409), and another FI's sessions never show up or end from here."""

from __future__ import annotations

from typing import Any

import pytest

from ..harness import PortalWorld
from .steps import Shown, choose, show, sign_in, submit

pytestmark = pytest.mark.anyio
FIRST = "First Harbor Bank"


def other_fi(admin: PortalWorld) -> str:
    return sorted(set(admin.identity.seed.tenants) - {FIRST})[0]


def employee_at(admin: PortalWorld, fi: str) -> str:
    return next(
        u.username
        for u in admin.identity.seed.users
        if u.kind.value == "employee" and u.tenants[0]["name"] == fi
    )


async def employee_signs_in_to_reporting(admin: PortalWorld, fi: str = FIRST) -> dict[str, Any]:
    """The employee's own login at reporting (through the identity server directly)."""
    return await admin.identity.login("reporting-portal", employee_at(admin, fi))


async def still_live(admin: PortalWorld, tokens: dict[str, Any]) -> bool:
    """Whether the employee's session can still refresh (rotating its pair in place)."""
    answer = await admin.identity.refresh("reporting-portal", tokens["refresh_token"])
    if answer.status_code != 200:
        return False
    tokens.update(answer.json())
    return True


async def sessions_of(admin: PortalWorld, username: str, status: int = 200) -> Shown:
    return await show(admin, f"/sessions?username={username}", status)


async def test_an_employees_session_is_listed_and_ended_from_the_page(
    admin: PortalWorld,
) -> None:
    employee = await employee_signs_in_to_reporting(admin)
    await sign_in(admin)
    home = await choose(admin, FIRST)
    assert home.page.one("nav-sessions").attrs["href"] == "/sessions"

    empty = await show(admin, "/sessions")
    assert empty.page.all("session-row") == []
    assert f"Sessions at {FIRST}" in empty.response.text
    username = employee_at(admin, FIRST)
    listing = await sessions_of(admin, username)
    [row] = listing.page.all("session-row")
    assert row.attrs["data-client"] == "reporting-portal"
    assert "Reporting Dashboard" in row.text
    assert FIRST in row.text
    assert "UTC" in row.text
    assert listing.page.all("current-session") == []

    ended = await submit(admin, listing.page.one("revoke-session"))
    assert ended.status_code == 303, ended.text
    assert ended.headers["location"] == f"/sessions?username={username}&revoked=1"
    after = await show(admin, ended.headers["location"])
    assert after.page.all("session-row") == []
    assert after.page.one("session-revoked")
    assert f"No live session of “{username}” acts on {FIRST}." in after.page.html
    assert not await still_live(admin, employee)
    [event] = await admin.identity.audit_events("session.revoked")
    assert event["tenant_id"] == admin.identity.seed.tenants[FIRST]


async def test_a_script_gets_json_answers(admin: PortalWorld) -> None:
    employee = await employee_signs_in_to_reporting(admin)
    await sign_in(admin)
    await choose(admin, FIRST)
    listing = await sessions_of(admin, employee_at(admin, FIRST))
    form = listing.page.one("revoke-session").form
    assert form is not None
    answer = await admin.browser.post(
        "/sessions/revoke",
        data={"sid": form.fields["sid"]},
        headers={
            "Accept": "application/json",
            "Origin": admin.url,
            "X-CSRF-Token": listing.csrf,
            "X-Tenant-Ref": listing.tenant_ref,
        },
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"revoked": form.fields["sid"]}
    assert not await still_live(admin, employee)
    again = await admin.browser.post(
        "/sessions/revoke",
        data={"sid": form.fields["sid"]},
        headers={
            "Accept": "application/json",
            "Origin": admin.url,
            "X-CSRF-Token": listing.csrf,
            "X-Tenant-Ref": listing.tenant_ref,
        },
    )
    assert again.status_code == 404
    assert again.json()["error"] == "not_found"


async def test_another_institutions_sessions_neither_show_nor_end(admin: PortalWorld) -> None:
    other = other_fi(admin)
    theirs = await employee_signs_in_to_reporting(admin, other)
    ours = await employee_signs_in_to_reporting(admin)
    await sign_in(admin)
    await choose(admin, FIRST)
    listing = await sessions_of(admin, employee_at(admin, other))
    assert listing.page.all("session-row") == []
    assert f"acts on {FIRST}" in listing.page.html

    their_sid = str(
        (await admin.identity.introspect("reporting-portal", theirs["access_token"]))["sid"]
    )
    button = (await sessions_of(admin, employee_at(admin, FIRST))).page.one("revoke-session")
    forged = await submit(admin, button, sid=their_sid)
    assert forged.status_code == 404
    assert f"There is no such live session at {FIRST}." in forged.text
    for junk in ("' OR 1=1 --", "x" * 64):
        assert (await submit(admin, button, sid=junk)).status_code == 404
    assert (await submit(admin, button, sid="x" * 65)).status_code == 400
    assert (await submit(admin, button, sid=None)).status_code == 400
    assert await still_live(admin, theirs)
    assert await still_live(admin, ours)


async def test_without_sessions_manage_there_is_no_link_and_no_access(
    admin: PortalWorld,
) -> None:
    employee = await employee_signs_in_to_reporting(admin)
    ops_fi = admin.identity.user("ops").tenants[0]["name"]
    await sign_in(admin, "ops")
    home = await choose(admin, ops_fi)
    assert home.page.all("nav-sessions") == []
    refused = await sessions_of(admin, employee_at(admin, FIRST), 403)
    assert f"Your access to {ops_fi} does not allow you to see or end sessions." in (
        refused.page.html
    )
    sid = str(
        (await admin.identity.introspect("reporting-portal", employee["access_token"]))["sid"]
    )
    posted = await admin.browser.post(
        "/sessions/revoke",
        data={"csrf_token": home.csrf, "tenant_ref": home.tenant_ref, "sid": sid},
        headers={"Origin": admin.url},
    )
    assert posted.status_code == 403
    assert await still_live(admin, employee)


async def test_csrf_method_and_missing_institution_are_refused(admin: PortalWorld) -> None:
    employee = await employee_signs_in_to_reporting(admin)
    before = await sign_in(admin)
    assert (await show(admin, "/sessions", 409)).page.all("session-row") == []
    no_fi = await admin.browser.post(
        "/sessions/revoke",
        data={"csrf_token": before.page.forms[0].fields["csrf_token"], "sid": "x"},
        headers={"Origin": admin.url},
    )
    assert no_fi.status_code == 409

    await choose(admin, FIRST)
    button = (await sessions_of(admin, employee_at(admin, FIRST))).page.one("revoke-session")
    assert (await submit(admin, button, csrf_token=None)).status_code == 403
    assert (await submit(admin, button, csrf_token="wrong")).status_code == 403
    assert button.form is not None
    cross_site = await admin.browser.post(
        "/sessions/revoke", data=button.form.fields, headers={"Origin": "https://evil.example"}
    )
    assert cross_site.status_code == 403
    assert (await admin.browser.get("/sessions/revoke")).status_code == 405
    assert (await submit(admin, button, tenant_ref=None)).status_code == 400
    assert (await show(admin, "/sessions?username=" + "x" * 151, 400)).response.status_code
    assert await still_live(admin, employee)


async def test_a_tab_showing_another_institution_is_refused_with_409(admin: PortalWorld) -> None:
    employee = await employee_signs_in_to_reporting(admin)
    await sign_in(admin)
    await choose(admin, FIRST)
    old_tab = await sessions_of(admin, employee_at(admin, FIRST))
    other = other_fi(admin)
    await choose(admin, other)  # "another tab" of the same browser session

    refused = await submit(admin, old_tab.page.one("revoke-session"))
    assert refused.status_code == 409
    assert f"You switched to {other} in another tab; this tab showed {FIRST}." in refused.text
    assert await still_live(admin, employee)
    # The session now acts on the other FI, so the same employee is not visible from here.
    assert (await sessions_of(admin, employee_at(admin, FIRST))).page.all("session-row") == []


async def test_ending_ones_own_session_signs_the_admin_out(admin: PortalWorld) -> None:
    await sign_in(admin)
    await choose(admin, FIRST)
    listing = await sessions_of(admin, "admin")
    [row] = listing.page.all("session-row")
    assert row.attrs["data-client"] == "admin-portal"
    assert listing.page.one("current-session")
    ended = await submit(admin, listing.page.one("revoke-session"))
    assert ended.status_code == 303
    signed_out = await admin.browser.get(ended.headers["location"])
    assert signed_out.status_code == 401
    assert (await admin.browser.get("/")).status_code == 401
