"""What a user's browser does at the reporting portal, as small steps the tests share."""

from __future__ import annotations

import re
from typing import Any

import httpx

from ..harness import PortalWorld

SESSION_ATTRIBUTE = re.compile(r'<body[^>]*\bdata-session="([A-Za-z0-9_-]+)"')
HOOKS = (
    "tenant-banner",
    "kpi-active-customers",
    "kpi-transactions",
    "kpi-volume",
    "kpi-logins",
    "chart-activity",
    "session-ended",
    "logout",
)


def session_of(html: str) -> str:
    """The public id of the session a page was loaded for (`<body data-session>`)."""
    found = SESSION_ATTRIBUTE.search(html)
    assert found, "the page names no session"
    return found.group(1)


def banner_of(html: str) -> str:
    found = re.search(r'data-testid="tenant-banner"[^>]*>.*?class="fi-name">([^<]+)<', html, re.S)
    assert found, "the page has no tenant banner"
    return found.group(1)


def employee_of_fi(reporting: PortalWorld, fi_name: str) -> str:
    world = reporting.identity
    return next(
        u.username
        for u in world.seed.users
        if u.kind.value == "employee" and u.tenants[0]["name"] == fi_name
    )


def fi_names(reporting: PortalWorld) -> list[str]:
    return list(reporting.identity.seed.tenants)


async def dashboard(reporting: PortalWorld, query: str = "") -> httpx.Response:
    return await reporting.browser.get(f"/dashboard{query}")


async def employee_login(reporting: PortalWorld, username: str) -> str:
    """Sign in directly; returns the dashboard's session public id."""
    answer = await reporting.login(username)
    assert answer.status_code == 200, answer.text
    page = await dashboard(reporting)
    assert page.status_code == 200, page.text
    return session_of(page.text)


async def mint_sso(reporting: PortalWorld, fi_name: str, admin: str = "admin") -> str:
    world = reporting.identity
    scoped = await world.admin_in(fi_name, admin)
    minted = await world.mint_sso(scoped["access_token"])
    assert minted.status_code == 200, minted.text
    token: str = minted.json()["access_token"]
    return token


async def land(reporting: PortalWorld, sso_token: str, **headers: str) -> httpx.Response:
    """The admin portal's auto-posting form, arriving from another origin."""
    return await reporting.browser.post(
        "/sso/landing",
        data={"sso_token": sso_token},
        headers={"Origin": "http://127.0.0.1:8701", **headers},
    )


async def sso_session(reporting: PortalWorld, fi_name: str) -> str:
    landed = await land(reporting, await mint_sso(reporting, fi_name))
    assert landed.status_code == 200, landed.text
    page = await dashboard(reporting)
    assert page.status_code == 200, page.text
    return session_of(page.text)


async def api(
    reporting: PortalWorld, path: str, session: str | None, **params: str
) -> httpx.Response:
    headers = {"X-Reporting-Session": session} if session is not None else {}
    return await reporting.browser.get(path, params=params, headers=headers)


async def summary(reporting: PortalWorld, session: str | None, **params: str) -> dict[str, Any]:
    answer = await api(reporting, "/api/summary", session, **params)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body
