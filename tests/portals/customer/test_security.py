"""Browser-facing security of the customer portal: CSRF, cookies, headers, logout."""

from __future__ import annotations

import httpx
import pytest

from tenantgate.bff.sessions import digest

from ..harness import PortalWorld
from .support import Customer, balances, ensure_two_accounts, overview, transaction_count

pytestmark = pytest.mark.anyio


def assert_security_headers(answer: httpx.Response) -> None:
    where = f"{answer.request.method} {answer.request.url.path} → {answer.status_code}"
    csp = answer.headers.get("content-security-policy", "")
    assert csp, where
    assert "'unsafe-inline'" not in csp, where
    assert "'unsafe-eval'" not in csp, where
    assert "frame-ancestors 'none'" in csp, where
    assert "script-src 'self'" in csp, where
    assert answer.headers.get("x-content-type-options") == "nosniff", where
    assert answer.headers.get("referrer-policy") == "no-referrer", where
    assert answer.headers.get("x-frame-options") == "DENY", where


async def test_csrf_is_required_for_every_transfer(portal: PortalWorld, me: Customer) -> None:
    own = (await overview(portal))["accounts"]
    body = {"from": own[0]["id"], "to": own[1]["id"], "amount": "0.01"}
    before, lines = balances(await overview(portal)), await transaction_count(portal)
    attempts = [
        portal.browser.post("/api/transfers", json=body),  # no token
        portal.post_json("/api/transfers", body, "wrong-token"),
        portal.post_json("/api/transfers", body, me.csrf + "x"),
        portal.post_json("/api/transfers", body, ""),
        # The right token from a foreign page still fails the origin check.
        portal.post_json("/api/transfers", body, me.csrf, Origin="https://evil.example"),
        portal.browser.post("/transfers", data=body),
        portal.browser.post("/transfers", data={**body, "csrf_token": "nope"}),
        portal.browser.post(
            "/transfers",
            data={**body, "csrf_token": me.csrf},
            headers={"Origin": "http://127.0.0.1:1"},
        ),
    ]
    for attempt in attempts:
        answer = await attempt
        assert answer.status_code == 403, answer.request.url
        assert_security_headers(answer)
    assert balances(await overview(portal)) == before
    assert await transaction_count(portal) == lines


async def test_session_cookie_attributes(portal: PortalWorld) -> None:
    callback = await portal.login(portal.identity.customer_of(0).username)
    assert callback.status_code == 200
    name = portal.portal.config.session_cookie
    cookie = next(c for c in callback.headers.get_list("set-cookie") if c.startswith(f"{name}="))
    attributes = {part.strip().split("=")[0].lower(): part for part in cookie.split(";")[1:]}
    assert "httponly" in attributes
    assert attributes["samesite"].strip().lower() == "samesite=strict"
    assert attributes["path"].strip() == "Path=/"
    assert "domain" not in attributes
    # Plain-HTTP demo mode: a Secure cookie would never come back over http://.
    assert "secure" not in attributes
    assert not name.startswith("__Host-")
    assert len(cookie.split(";")[0].split("=", 1)[1]) >= 40  # high-entropy session id


async def test_security_headers_on_every_response(portal: PortalWorld) -> None:
    answers = [
        await portal.browser.get("/"),
        await portal.browser.get("/api/accounts"),
        await portal.browser.get("/auth/login"),
        await portal.browser.get("/healthz"),
        await portal.browser.get("/static/customer.js"),
        await portal.browser.get("/static/customer.css"),
        await portal.browser.get("/static/common/csrf.js"),
        await portal.browser.get("/no/such/page"),
    ]
    await ensure_two_accounts(portal, 0)
    answers.append(await portal.login(portal.identity.customer_of(0).username))
    home = await portal.browser.get("/")
    csrf = portal.csrf(home.text)
    own = (await overview(portal))["accounts"]
    answers += [
        home,
        await portal.browser.get("/api/accounts"),
        await portal.browser.get(f"/api/accounts/{own[0]['id']}"),
        await portal.browser.get("/api/accounts/acc_nope"),
        await portal.browser.get("/api/transfers"),
        await portal.post_json(
            "/api/transfers", {"from": own[0]["id"], "to": own[1]["id"], "amount": "x"}, csrf
        ),
        await portal.post_json(
            "/api/transfers", {"from": own[0]["id"], "to": own[1]["id"], "amount": "0.01"}, csrf
        ),
        await portal.browser.post("/auth/logout", data={"csrf_token": csrf}),
    ]
    assert {a.status_code for a in answers} >= {200, 302, 401, 404, 405, 400}
    for answer in answers:
        assert_security_headers(answer)
        if not answer.request.url.path.startswith("/static/"):
            assert answer.headers.get("cache-control") == "no-store", answer.request.url
    script = next(a for a in answers if a.request.url.path == "/static/customer.js")
    assert "javascript" in script.headers["content-type"]
    assert "localStorage" not in script.text
    assert "sessionStorage" not in script.text


async def test_logout_ends_the_session_and_its_tokens(portal: PortalWorld, me: Customer) -> None:
    name = portal.portal.config.session_cookie
    cookie = portal.browser.cookies[name]
    session = await portal.portal.sessions.load(digest(cookie))
    assert session is not None
    refresh_token = session.tokens.refresh_token

    refused = await portal.browser.post("/auth/logout", data={"csrf_token": "wrong"})
    assert refused.status_code == 403
    assert (await portal.browser.get("/")).status_code == 200  # still signed in

    out = await portal.browser.post("/auth/logout", data={"csrf_token": me.csrf})
    assert out.status_code == 200
    assert "signed out" in out.text
    assert name not in portal.browser.cookies

    # The old cookie, presented again, opens nothing.
    portal.browser.cookies.set(name, cookie)
    again = await portal.browser.get("/")
    assert again.status_code == 302
    assert again.headers["location"] == "/auth/login"
    api = await portal.browser.get("/api/accounts")
    assert api.status_code == 401
    assert api.json()["error"] == "session_ended"
    transfer = await portal.post_json("/api/transfers", {}, me.csrf)
    assert transfer.status_code == 401
    # The identity server revoked the refresh token behind the session.
    refreshed = await portal.identity.refresh("customer-portal", refresh_token)
    assert refreshed.status_code == 400
    assert refreshed.json()["error"] == "invalid_grant"


async def test_a_new_login_gets_a_new_session_id(portal: PortalWorld) -> None:
    name = portal.portal.config.session_cookie
    await portal.login(portal.identity.customer_of(0).username)
    first = portal.browser.cookies[name]
    await portal.login(portal.identity.customer_of(0).username)
    second = portal.browser.cookies[name]
    assert first != second
