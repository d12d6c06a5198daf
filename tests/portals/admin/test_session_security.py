"""The browser side of the admin session: cookie attributes, security headers on every
response, no token anywhere a script could see it, and logout."""

from __future__ import annotations

import re

import pytest

from ..harness import PortalWorld
from .steps import choose, show, sign_in, some_customer_of, submit

pytestmark = pytest.mark.anyio
FIRST = "First Harbor Bank"


async def test_the_session_cookie_is_http_only_and_strict(admin: PortalWorld) -> None:
    callback = await admin.login("admin")
    name = admin.portal.config.session_cookie
    cookie = next(c for c in callback.headers.get_list("set-cookie") if c.startswith(f"{name}="))
    attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/"} <= attributes
    assert not any(a.startswith("domain") for a in attributes)


async def test_every_response_carries_the_security_headers_and_no_token(
    admin: PortalWorld,
) -> None:
    await sign_in(admin)
    home = await choose(admin, FIRST)
    launched = await submit(admin, home.page.one("reporting-button"))
    other = await some_customer_of(admin, sorted(set(admin.identity.seed.tenants) - {FIRST})[0])
    responses = [home.response, launched]
    for path in ("/", "/tenants", f"/customers/{other}", "/?page=0", "/api/context", "/nowhere"):
        responses.append(await admin.browser.get(path))
    responses.append(await admin.browser.get("/static/admin.js"))
    for response in responses:
        where = response.request.url.path
        csp = response.headers["content-security-policy"]
        for directive in ("script-src 'self';", "style-src 'self';", "frame-ancestors 'none'"):
            assert directive in csp, where
        assert "unsafe-inline" not in csp, where
        assert response.headers["x-content-type-options"] == "nosniff", where
        assert response.headers["referrer-policy"] == "no-referrer", where
        assert response.headers["x-frame-options"] == "DENY", where
        assert response.status_code < 500, where
        if response is launched or where.startswith("/static/"):
            continue
        assert response.headers["cache-control"] == "no-store", where
        # Tokens stay in the BFF: nothing JWT-like ever reaches a page or a script.
        assert "eyJ" not in response.text, where
        assert not re.search(r"<script(?![^>]*\ssrc=)[^>]*>", response.text), where
        assert not re.search(r"\sstyle=", response.text), where
        assert not re.search(r"\son[a-z]+=", response.text), where


async def test_logout_ends_the_session(admin: PortalWorld) -> None:
    await sign_in(admin)
    home = await choose(admin, FIRST)
    logout = home.page.one("logout")
    assert (await submit(admin, logout, csrf_token=None)).status_code == 403
    assert (await show(admin, "/")).page.one("current-tenant").text == FIRST
    cookie = admin.browser.cookies.get(admin.portal.config.session_cookie)
    assert cookie

    signed_out = await submit(admin, logout)
    assert signed_out.status_code == 200
    assert "signed out" in signed_out.text
    assert (await admin.browser.get("/")).status_code == 401
    # The old cookie is worth nothing afterwards, not even replayed by hand.
    admin.browser.cookies.set(admin.portal.config.session_cookie, cookie)
    assert (await admin.browser.get("/")).status_code == 401
    assert (await admin.browser.get("/api/context")).json()["error"] == "session_ended"
    row = home.page.all("lock-customer")[0]
    assert (await submit(admin, row)).status_code == 401


async def test_without_a_session_nothing_is_shown(admin: PortalWorld) -> None:
    anonymous = await admin.browser.get("/")
    assert anonymous.status_code == 401
    assert 'href="/auth/login"' in anonymous.text
    assert (await admin.browser.get("/tenants")).status_code == 401
    forged = await admin.browser.post(
        "/tenants/select", data={"tenant": "t_x", "csrf_token": "x"}, headers={"Origin": admin.url}
    )
    assert forged.status_code == 401
