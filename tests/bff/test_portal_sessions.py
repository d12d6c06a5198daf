"""The shared backend-for-frontend, tested through a minimal portal built on it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantgate.bff.app import create_portal_app
from tenantgate.bff.portal import Portal
from tenantgate.bff.session_schema import portal_sessions
from tenantgate.bff.web import SessionDep, check_csrf, page

from ..identity.harness import World
from ..portals.harness import PortalWorld, running_portal

pytestmark = pytest.mark.anyio
HERE = Path(__file__).parent
COMPACT_JOSE = re.compile(r"eyJ[\w-]*\.[\w-]*\.")


def tiny_portal(portal: Portal, banking: AsyncEngine) -> FastAPI:
    del banking
    router = APIRouter()

    @router.get("/")
    async def home(request: Request, session: SessionDep) -> Any:
        return page(request, "message.html", {"session": session, "title": "Home", "message": "hi"})

    @router.get("/api/me")
    async def me(session: SessionDep) -> dict[str, Any]:
        return {"tenant": session.tenant_name, "ref": session.tenant_ref, "kind": session.kind}

    @router.post("/api/action")
    async def action(request: Request, session: SessionDep) -> dict[str, str]:
        check_csrf(request, session)
        return {"done": "yes"}

    return create_portal_app(portal, HERE, [router])


@pytest.fixture
async def pw(world: World, banking_url: str, sessions_url: str) -> AsyncIterator[PortalWorld]:
    async with running_portal(
        world, "reporting", tiny_portal, banking_url=banking_url, sessions_url=sessions_url
    ) as running:
        yield running


async def signed_in(pw: PortalWorld) -> str:
    answer = await pw.login(pw.identity.employee_of().username)
    assert answer.status_code == 200, answer.text
    return pw.csrf((await pw.browser.get("/")).text)


async def test_login_sets_a_strict_httponly_session_cookie_and_no_token(pw: PortalWorld) -> None:
    answer = await pw.login(pw.identity.employee_of().username)
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("tg_reporting="))
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
    assert "Path=/" in cookie
    assert "eyJ" not in answer.text
    me = (await pw.browser.get("/api/me")).json()
    assert me["tenant"] == pw.identity.employee_of().tenants[0]["name"]
    assert me["ref"].startswith("fi_")


async def test_tokens_are_sealed_at_rest(pw: PortalWorld) -> None:
    await signed_in(pw)
    async with pw.portal.sessions.engine.connect() as conn:
        rows = (await conn.execute(select(portal_sessions))).all()
    assert rows
    for row in rows:
        # No compact JWS/JWE (dot-separated base64url starting with a JSON header). A bare
        # "eyJ" is no evidence: sealed bytes are base64url and contain it by chance (~0.4%
        # of runs failed that way).
        assert not COMPACT_JOSE.search(row.sealed_tokens)
        assert "refresh_token" not in row.sealed_tokens
        assert row.id_digest not in pw.browser.cookies.values()


async def test_a_login_callback_with_a_foreign_state_is_refused(pw: PortalWorld) -> None:
    await pw.browser.get("/auth/login")
    answer = await pw.browser.get("/auth/callback?code=abc&state=not-ours")
    assert answer.status_code == 400
    assert "Sign-in was not completed" in answer.text


async def test_a_callback_without_the_login_cookie_is_refused(pw: PortalWorld) -> None:
    answer = await pw.browser.get("/auth/callback?code=abc&state=xyz")
    assert answer.status_code == 400


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 403),
        ({"X-CSRF-Token": "wrong"}, 403),
        ({"Origin": "http://evil.example"}, 403),
    ],
)
async def test_state_changes_need_the_csrf_token_and_our_origin(
    pw: PortalWorld, headers: dict[str, str], status: int
) -> None:
    csrf = await signed_in(pw)
    sent = dict(headers)
    if "X-CSRF-Token" not in sent and "Origin" in sent:
        sent["X-CSRF-Token"] = csrf
    answer = await pw.browser.post("/api/action", json={}, headers=sent)
    assert answer.status_code == status
    assert answer.json()["error"] == "forbidden"
    ok = await pw.post_json("/api/action", {}, csrf)
    assert ok.status_code == 200


async def test_no_session_means_401_json_for_apis_and_a_page_for_browsers(pw: PortalWorld) -> None:
    api = await pw.browser.get("/api/me")
    assert api.status_code == 401
    assert api.json()["error"] == "session_ended"
    html = await pw.browser.get("/")
    assert html.status_code == 401
    assert "/auth/login" in html.text


async def test_the_access_token_is_refreshed_transparently_and_carries_the_current_ref(
    pw: PortalWorld,
) -> None:
    await signed_in(pw)
    before = (await pw.browser.get("/api/me")).json()["ref"]
    config = pw.identity.deps.config
    pw.identity.clock.advance(config.tenant_ref_rotation)  # beyond the access-token lifetime too
    after = await pw.browser.get("/api/me")
    assert after.status_code == 200
    assert after.json()["ref"] != before
    assert await pw.identity.audit_events("token.refreshed")


async def test_idle_sessions_end(pw: PortalWorld) -> None:
    await signed_in(pw)
    pw.identity.clock.advance(pw.portal.config.session_idle_ttl + 1)
    assert (await pw.browser.get("/api/me")).status_code == 401
    assert await pw.identity.audit_events("token.revoked")


async def test_logout_ends_the_session_and_revokes_its_tokens(pw: PortalWorld) -> None:
    csrf = await signed_in(pw)
    cookie = dict(pw.browser.cookies)
    answer = await pw.browser.post(
        "/auth/logout", data={"csrf_token": csrf}, headers={"Origin": pw.url}
    )
    assert answer.status_code == 200
    assert "signed out" in answer.text
    pw.browser.cookies.update(cookie)  # replaying the old cookie must not work
    assert (await pw.browser.get("/api/me")).status_code == 401
    assert await pw.identity.audit_events("token.revoked")


async def test_logout_without_csrf_is_refused(pw: PortalWorld) -> None:
    await signed_in(pw)
    answer = await pw.browser.post("/auth/logout", data={}, headers={"Origin": pw.url})
    assert answer.status_code == 403
    assert (await pw.browser.get("/api/me")).status_code == 200


async def test_every_response_carries_the_security_headers(pw: PortalWorld) -> None:
    await signed_in(pw)
    for path in ("/", "/api/me", "/healthz", "/nope", "/static/common/portal.css"):
        answer = await pw.browser.get(path)
        csp = answer.headers["content-security-policy"]
        assert "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "no-referrer"
