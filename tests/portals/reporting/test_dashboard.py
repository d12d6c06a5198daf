"""An FI employee signs in directly and sees only its own FI (CONTRACT §4.4, §4.5)."""

from __future__ import annotations

import pytest

from tenantgate.banking import TenantScope, summarize
from tenantgate.portals.reporting.periods import preset_period, today_utc

from ..harness import PortalWorld
from .steps import (
    HOOKS,
    banner_of,
    dashboard,
    employee_login,
    employee_of_fi,
    fi_names,
    session_of,
    summary,
)

pytestmark = pytest.mark.anyio


async def test_employee_sees_every_hook_and_only_its_own_fi(reporting: PortalWorld) -> None:
    first, second = fi_names(reporting)[:2]
    session = await employee_login(reporting, employee_of_fi(reporting, second))
    page = await dashboard(reporting)
    for hook in HOOKS:
        assert f'data-testid="{hook}"' in page.text, hook
    assert banner_of(page.text) == second
    assert first not in page.text
    assert session_of(page.text) == session
    # Static assets the page needs are served by the app itself (no CDN).
    for asset in (
        "/static/vendor/chartjs/chart.umd.min.js",
        "/static/dashboard.js",
        "/static/reporting.css",
    ):
        assert asset in page.text
        assert (await reporting.browser.get(asset)).status_code == 200, asset
    assert "<script>" not in page.text
    assert 'style="' not in page.text

    body = await summary(reporting, session)
    assert body["tenant"]["name"] == second
    assert body["tenant"]["ref"]
    assert body["session"] == session
    # The figures are exactly the banking KPIs of the session's FI, and of no other FI.
    period = preset_period(30, today_utc(reporting.portal.clock()))
    expected = await summarize(
        reporting.banking,
        TenantScope(reporting.identity.seed.tenants[second]),
        period.start,
        period.end,
    )
    kpis = body["kpis"]
    assert kpis["transactions"] == expected.transactions > 0
    assert kpis["active_customers"] == expected.active_customers
    assert kpis["logins"] == expected.logins
    assert kpis["volume"]["minor"] == expected.volume_minor
    assert kpis["volume"]["formatted"].startswith("$")
    assert len(body["activity"]) == 30
    assert body["period"] == {
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
        "days": 30,
        "preset": 30,
    }
    assert sum(k["transactions"] for k in body["by_kind"]) == expected.transactions


async def test_without_a_session_pages_ask_to_sign_in_and_the_api_says_401(
    reporting: PortalWorld,
) -> None:
    page = await dashboard(reporting)
    assert page.status_code == 401
    assert "/auth/login" in page.text
    answer = await reporting.browser.get("/api/summary", headers={"X-Reporting-Session": "x" * 16})
    assert answer.status_code == 401
    assert answer.json()["error"] == "session_ended"
    root = await reporting.browser.get("/")
    assert root.status_code == 302
    assert root.headers["location"] == "/dashboard"


async def test_session_cookie_attributes(reporting: PortalWorld) -> None:
    callback = await reporting.login(employee_of_fi(reporting, fi_names(reporting)[0]))
    cookies = [c for c in callback.headers.get_list("set-cookie") if c.startswith("tg_reporting=")]
    assert len(cookies) == 1
    attributes = {part.strip().lower() for part in cookies[0].split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/"} <= attributes
    # Plain-HTTP demo mode: no Secure, no __Host- prefix; the secure mode is the bff's.
    assert reporting.portal.config.session_cookie == "tg_reporting"


async def test_security_headers_on_every_route(reporting: PortalWorld) -> None:
    session = await employee_login(reporting, employee_of_fi(reporting, fi_names(reporting)[0]))
    routes = [
        ("GET", "/dashboard", {}),
        ("GET", "/dashboard?range=12", {}),
        ("GET", "/api/summary", {"X-Reporting-Session": session}),
        ("GET", "/api/summary", {}),
        ("GET", "/api/session", {"X-Reporting-Session": session}),
        ("GET", f"/api/export.csv?session={session}", {}),
        ("GET", "/nowhere", {}),
        ("GET", "/sso/landing", {}),
        ("POST", "/sso/landing", {}),
        ("GET", "/healthz", {}),
        ("GET", "/", {}),
    ]
    for method, path, headers in routes:
        answer = await reporting.browser.request(method, path, headers=headers)
        assert answer.status_code < 500, (path, answer.status_code)
        csp = answer.headers["content-security-policy"]
        assert "script-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "no-referrer"
        assert answer.headers["cache-control"] == "no-store"
        assert answer.headers["x-frame-options"] == "DENY"
    static = await reporting.browser.get("/static/dashboard.js")
    assert static.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" in static.headers


async def test_tenant_ref_rotation_keeps_the_session_and_shows_the_current_ref(
    reporting: PortalWorld,
) -> None:
    world = reporting.identity
    name = fi_names(reporting)[0]
    session = await employee_login(reporting, employee_of_fi(reporting, name))
    before = await summary(reporting, session)
    # Two steps of 1000 s: never idle past the portal's 30 minutes, always across a rotation
    # (30 minutes) and past the access token's 20 minutes, so the bff refreshes.
    world.clock.advance(1000)
    assert (await summary(reporting, session))["tenant"]["ref"] == before["tenant"]["ref"]
    world.clock.advance(1000)
    after = await summary(reporting, session)
    assert after["session"] == session
    assert after["tenant"]["name"] == name
    assert after["tenant"]["ref"] != before["tenant"]["ref"]
    current = await world.deps.current_ref(world.seed.tenants[name])
    assert after["tenant"]["ref"] == current
    page = await dashboard(reporting)
    assert page.status_code == 200
    assert banner_of(page.text) == name
