"""The HTTP pieces every portal shares: security headers, the session dependency,
CSRF checks, login/callback/logout routes, health and error pages."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Annotated, Any

import jinja2
import structlog
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .identity_client import IdentityUnavailable
from .portal import LoginRejected, Portal, SessionEnded
from .sessions import PortalSession

log = structlog.get_logger("tenantgate.portal")
HERE = Path(__file__).parent
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Forbidden(Exception):
    """A CSRF or origin check failed (403)."""


def content_security_policy(form_targets: Sequence[str] = ()) -> str:
    targets = " ".join(["'self'", *form_targets])
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self'; font-src 'self'; form-action {targets}; "
        "frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    )


class PortalSecurityHeaders:
    def __init__(self, app: ASGIApp, form_targets: Sequence[str] = ()) -> None:
        self.app = app
        self.csp = content_security_policy(form_targets)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = str(scope.get("path", "")).startswith("/static/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("content-security-policy", self.csp)
                headers.setdefault("x-content-type-options", "nosniff")
                headers.setdefault("referrer-policy", "no-referrer")
                headers.setdefault("x-frame-options", "DENY")
                headers.setdefault("cross-origin-opener-policy", "same-origin")
                headers.setdefault("cross-origin-resource-policy", "same-origin")
                headers.setdefault("permissions-policy", "camera=(), microphone=(), geolocation=()")
                if not static:
                    headers.setdefault("cache-control", "no-store")
            await send(message)

        await self.app(scope, receive, with_headers)


def portal_templates(portal_dir: Path) -> Jinja2Templates:
    loader = jinja2.ChoiceLoader(
        [
            jinja2.FileSystemLoader(portal_dir / "templates"),
            jinja2.FileSystemLoader(HERE / "templates"),
        ]
    )
    env = jinja2.Environment(loader=loader, autoescape=True)
    return Jinja2Templates(env=env)


def portal_of(request: Request) -> Portal:
    portal: Portal = request.app.state.portal
    return portal


async def require_session(request: Request) -> PortalSession:
    """FastAPI dependency: the live session behind the cookie, or SessionEnded."""
    portal = portal_of(request)
    return await portal.current_session(request.cookies.get(portal.config.session_cookie))


SessionDep = Annotated[PortalSession, Depends(require_session)]
"""Declare a route parameter `session: SessionDep` to require a live session."""


def check_csrf(request: Request, session: PortalSession, form_token: str | None = None) -> None:
    """State-changing requests: POST, same origin, and the session's CSRF token."""
    if request.method in SAFE_METHODS:
        raise Forbidden("state change over a safe method")
    origin = request.headers.get("origin")
    # Chromium sends "Origin: null" for form posts from our pages (Referrer-Policy
    # no-referrer); the CSRF token below still decides, and the cookie is SameSite=Strict.
    if origin not in (None, "null") and origin != portal_of(request).config.public_url:
        raise Forbidden(f"cross-origin request from {origin[:80]!r}")
    presented = request.headers.get("x-csrf-token") or form_token or ""
    if not hmac.compare_digest(presented.encode(), session.csrf_token.encode()):
        raise Forbidden("missing or wrong CSRF token")


def set_session_cookie(response: Response, portal: Portal, value: str) -> None:
    response.set_cookie(
        portal.config.session_cookie,
        value,
        httponly=True,
        secure=portal.config.cookie_secure,
        samesite="strict",
        path="/",
        max_age=portal.config.session_absolute_ttl,
    )


def clear_session_cookie(response: Response, portal: Portal) -> None:
    response.delete_cookie(
        portal.config.session_cookie,
        path="/",
        secure=portal.config.cookie_secure,
        httponly=True,
        samesite="strict",
    )


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get(
        "accept", ""
    )


def page(
    request: Request, name: str, context: dict[str, Any] | None = None, status: int = 200
) -> HTMLResponse:
    templates: Jinja2Templates = request.app.state.templates
    values = {"portal": portal_of(request).config, **(context or {})}
    return templates.TemplateResponse(request, name, values, status_code=status)


def message_page(request: Request, title: str, message: str, status: int) -> HTMLResponse:
    return page(request, "message.html", {"title": title, "message": message}, status)


def auth_router(home: str = "/") -> APIRouter:
    router = APIRouter()

    @router.get("/auth/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        portal = portal_of(request)
        url, sealed = portal.begin_login()
        response = RedirectResponse(url, status_code=302)
        # Lax, not Strict: it must come back on the identity server's top-level redirect.
        response.set_cookie(
            portal.config.login_cookie,
            sealed,
            httponly=True,
            secure=portal.config.cookie_secure,
            samesite="lax",
            path="/",
            max_age=600,
        )
        return response

    @router.get("/auth/callback", include_in_schema=False)
    async def callback(request: Request) -> Response:
        portal = portal_of(request)
        code, state = request.query_params.get("code"), request.query_params.get("state")
        if request.query_params.get("error") or not code or not state:
            return message_page(request, "Sign-in was not completed", "Please sign in again.", 400)
        try:
            cookie = await portal.complete_login(
                code[:512], state[:512], request.cookies.get(portal.config.login_cookie)
            )
        except LoginRejected as exc:
            return message_page(request, "Sign-in was not completed", str(exc), 400)
        # A same-origin page, not a redirect, carries the browser on: a navigation begun
        # on this origin sends the SameSite=Strict session cookie in any deployment.
        response = page(request, "continue.html", {"target": home})
        set_session_cookie(response, portal, cookie)
        response.delete_cookie(portal.config.login_cookie, path="/")
        return response

    @router.post("/auth/logout", include_in_schema=False)
    async def logout(request: Request) -> Response:
        portal = portal_of(request)
        try:
            session = await require_session(request)
        except SessionEnded:
            session = None
        if session is not None:
            form = await request.form()
            token = form.get("csrf_token")
            check_csrf(request, session, token if isinstance(token, str) else None)
            await portal.end_session(session, "logout")
        response = message_page(request, "You are signed out", "You can close this tab.", 200)
        clear_session_cookie(response, portal)
        return response

    return router


def health_router() -> APIRouter:
    router = APIRouter()

    @router.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> JSONResponse:
        try:
            await portal_of(request).sessions.ping()
        except Exception:
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ready"})

    return router


Handler = Callable[[Request, Exception], Awaitable[Response]]


def install_portal_error_handlers(app: FastAPI) -> None:
    async def on_session_ended(request: Request, exc: Exception) -> Response:
        if wants_json(request):
            return JSONResponse(
                {"error": "session_ended", "error_description": "Your session has ended."},
                status_code=401,
            )
        return page(request, "signed_out.html", {}, 401)

    async def on_forbidden(request: Request, exc: Exception) -> Response:
        log.info("request_forbidden", path=request.url.path, detail=str(exc))
        if wants_json(request):
            return JSONResponse(
                {"error": "forbidden", "error_description": "This request is not allowed."},
                status_code=403,
            )
        return message_page(request, "Not allowed", "This request is not allowed.", 403)

    async def on_identity_down(request: Request, exc: Exception) -> Response:
        log.warning("identity_unavailable", path=request.url.path, detail=str(exc))
        text = "The sign-in service is unavailable. Please try again shortly."
        if wants_json(request):
            return JSONResponse(
                {"error": "temporarily_unavailable", "error_description": text}, status_code=503
            )
        return message_page(request, "Temporarily unavailable", text, 503)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 400
        text = "There is nothing here." if status == 404 else "The request could not be processed."
        if wants_json(request):
            return JSONResponse({"error": "invalid_request", "error_description": text}, status)
        return message_page(request, "Not found" if status == 404 else "Bad request", text, status)

    async def on_anything(request: Request, exc: Exception) -> Response:
        log.exception("unhandled_error", path=request.url.path)
        text = "Something went wrong. Please try again."
        if wants_json(request):
            return JSONResponse({"error": "server_error", "error_description": text}, 500)
        return message_page(request, "Something went wrong", text, 500)

    handlers: list[tuple[type[Exception], Handler]] = [
        (SessionEnded, on_session_ended),
        (Forbidden, on_forbidden),
        (IdentityUnavailable, on_identity_down),
        (HTTPException, on_http_error),
        (Exception, on_anything),
    ]
    for exc_type, handler in handlers:
        app.add_exception_handler(exc_type, handler)


def mount_static(app: FastAPI, portal_dir: Path) -> None:
    app.mount("/static/common", StaticFiles(directory=HERE / "static"), name="common")
    if (portal_dir / "static").is_dir():
        app.mount("/static", StaticFiles(directory=portal_dir / "static"), name="static")
