"""The identity server's hot routes (the back channel and the hosted login page) are
dispatched ahead of FastAPI's router (web/direct_routes.py) and answer exactly as the
framework would: same handlers, same size limit and headers, same failure mapping; anything
else still reaches FastAPI."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from fastapi import APIRouter
from fastapi.routing import APIRoute
from sqlalchemy.exc import OperationalError
from starlette.types import Message, Receive, Scope, Send
from structlog.testing import capture_logs

from tenantgate.identity.web import login_routes, oauth_routes
from tenantgate.identity.web.app import IdentityApp

from ..harness import World

pytestmark = pytest.mark.anyio

SECURITY_HEADERS = {
    "content-security-policy",
    "x-content-type-options",
    "referrer-policy",
    "x-frame-options",
    "cross-origin-opener-policy",
}


def _registered(router: APIRouter) -> dict[tuple[str, str], Any]:
    return {
        (method, route.path): route.endpoint
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in route.methods or ()
    }


async def test_every_direct_route_is_the_documented_route_with_the_same_handler(
    world: World,
) -> None:
    documented = world.app.openapi()["paths"]
    for module in (oauth_routes, login_routes):
        registered = _registered(module.router)
        assert {key: registered.get(key) for key in module.DIRECT_ROUTES} == module.DIRECT_ROUTES
        for method, path in module.DIRECT_ROUTES:
            assert method.lower() in documented[path]
    assert isinstance(world.app, IdentityApp)
    assert world.app.direct_routes.routes == {
        **oauth_routes.DIRECT_ROUTES,
        **login_routes.DIRECT_ROUTES,
    }


async def _framework_unreachable(scope: Scope, receive: Receive, send: Send) -> None:
    raise AssertionError(f"{scope['method']} {scope['path']} went through the framework")


async def test_hot_requests_never_enter_the_framework(world: World) -> None:
    assert isinstance(world.app, IdentityApp)
    scoped = await world.admin_in("First Harbor Bank")  # lists FIs: GET /tenants
    world.app.middleware_stack = _framework_unreachable

    # The login page and the code exchange; then a refresh and both halves of an SSO.
    assert (await world.login("admin-portal", "admin"))["access_token"]
    minted = await world.mint_sso(scoped["access_token"])
    answers = [
        await world.refresh("admin-portal", scoped["refresh_token"]),
        minted,
        await world.redeem_sso(minted.json()["access_token"]),
        await world.token("admin-portal", grant_type="password"),
        await world.http.post("/revoke", data={"token": "x"}, auth=world.basic("admin-portal")),
        await world.http.post("/introspect", data={"token": "x"}, auth=world.basic("admin-portal")),
        await world.http.post(
            "/tenant-refs/resolve", data={"ref": "x"}, auth=world.basic("admin-portal")
        ),
    ]
    assert [a.status_code for a in answers] == [200, 200, 200, 400, 200, 200, 400]
    # The guard is real: a route that is not dispatched directly does reach it.
    with pytest.raises(AssertionError, match="went through the framework"):
        await world.http.get("/healthz")


async def test_the_login_page_keeps_its_own_policy_and_cookie(world: World) -> None:
    page, _ = await world.login_page("admin-portal")
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert "form-action 'self' http" in policy  # the client's origin, not the default
    assert set(page.headers) >= SECURITY_HEADERS
    assert "set-cookie" in page.headers


async def test_back_channel_answers_carry_the_security_headers(world: World) -> None:
    scoped = await world.admin_in("First Harbor Bank")
    fine = await world.refresh("admin-portal", scoped["refresh_token"])
    refused = await world.token("admin-portal", grant_type="refresh_token", refresh_token="x")
    unauthenticated = await world.http.post("/token", data={"grant_type": "refresh_token"})
    for answer in (fine, refused, unauthenticated):
        assert set(answer.headers) >= SECURITY_HEADERS, answer.headers
        assert answer.headers["cache-control"] == "no-store"
    assert fine.status_code == 200
    assert refused.status_code == 400
    assert unauthenticated.status_code == 401
    assert unauthenticated.headers["www-authenticate"].startswith("Basic ")


async def test_an_unexpected_failure_is_a_generic_500_and_logged(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_: Any) -> Any:
        raise ValueError("secret internals: /srv/keys")

    monkeypatch.setattr(oauth_routes, "grant_tokens", broken)
    with capture_logs() as logs:
        answer = await world.token("admin-portal", grant_type="refresh_token", refresh_token="x")
    assert answer.status_code == 500
    assert answer.json() == {
        "error": "server_error",
        "error_description": "The request could not be processed.",
    }
    assert "secret internals" not in answer.text
    assert set(answer.headers) >= SECURITY_HEADERS
    [logged] = [entry for entry in logs if entry["event"] == "unhandled_error"]
    assert logged["path"] == "/token"
    assert "secret internals" in str(logged["exc_info"])


async def test_a_database_outage_is_503_temporarily_unavailable(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def outage(*_: Any) -> Any:
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(oauth_routes, "grant_tokens", outage)
    answer = await world.token("admin-portal", grant_type="refresh_token", refresh_token="x")
    assert answer.status_code == 503
    assert answer.json()["error"] == "temporarily_unavailable"
    assert "connection refused" not in answer.text


async def test_other_methods_and_near_paths_still_get_the_framework_answers(world: World) -> None:
    wrong_method = await world.http.get("/token")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"] == "invalid_request"
    near = await world.http.post("/token/x", data={"grant_type": "refresh_token"})
    assert near.status_code == 404
    assert near.json()["error"] == "not_found"


async def test_a_client_that_leaves_mid_body_gets_no_answer_and_breaks_nothing(
    world: World,
) -> None:
    sent: list[Message] = []
    messages: list[Message] = [
        {"type": "http.request", "body": b"grant_type=refresh", "more_body": True},
        {"type": "http.disconnect"},
    ]

    async def receive() -> Message:
        return messages.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    user, secret = world.basic("admin-portal")
    basic = base64.b64encode(f"{user}:{secret}".encode())
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/token",
        "raw_path": b"/token",
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"authorization", b"Basic " + basic),
            (b"content-type", b"application/x-www-form-urlencoded"),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }
    await world.app(scope, receive, send)
    assert sent == []
    # The server goes on answering.
    assert (await world.token("admin-portal", grant_type="password")).status_code == 400


async def test_the_login_page_fails_with_a_readable_page(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def outage(*_: Any) -> Any:
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    async def broken(*_: Any) -> Any:
        raise ValueError("secret internals: /srv/keys")

    page, _ = await world.login_page("admin-portal")
    monkeypatch.setattr(login_routes, "validate_authorization_request", outage)
    with capture_logs() as logs:
        unavailable, _ = await world.login_page("admin-portal")
    monkeypatch.undo()
    monkeypatch.setattr(login_routes, "log_in", broken)
    failed = await world.submit_login(page, "admin", "whatever")

    assert unavailable.status_code == 503
    assert unavailable.headers["content-type"].startswith("text/html")
    assert login_routes.UNAVAILABLE_TEXT in unavailable.text
    assert failed.status_code == 500
    assert login_routes.FAILED_TEXT in failed.text
    for answer in (unavailable, failed):
        assert "connection refused" not in answer.text
        assert "secret internals" not in answer.text
        assert answer.headers["cache-control"] == "no-store"
        assert "form-action 'self';" in answer.headers["content-security-policy"]
    assert [entry["path"] for entry in logs if entry["event"] == "database_unavailable"] == [
        "/authorize"
    ]
