"""The authorization endpoint and its hosted login page (RFC 6749 §4.1.1–4.1.2)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from ..domain.errors import OAuthError
from ..services.authorization import (
    AuthorizationRequest,
    LoginFailed,
    LoginThrottled,
    RedirectableError,
    SecondFactorExpired,
    SecondFactorFailed,
    SecondFactorRequired,
    UnsafeAuthorizationRequest,
    log_in,
    validate_authorization_request,
    verify_second_factor,
)
from . import login_csrf
from .forms import parse_form
from .oauth_routes import caller_of, deps_of

router = APIRouter()
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
# The templates ship with the package: no stat() of every template file on every render.
templates.env.auto_reload = False
LOGIN_FAILED_TEXT = "The username or password is not correct."
# Shown only once a limit is hit; keyed by the typed username, never by whether it exists.
THROTTLED_TEXT = "Too many sign-in attempts. Please wait a few minutes and try again."
TOTP_FAILED_TEXT = "The code is not correct."
TOTP_RESTART_TEXT = "Please sign in again."
TOTP_STEP = "totp"
UNAVAILABLE_TEXT = "Sign-in is not available right now. Please try again in a few minutes."
NOT_PROCESSED_TEXT = "The sign-in request could not be processed."
FAILED_TEXT = "Something went wrong on our side. Please try again."


def _pending_cookie(secure: bool) -> str:
    """The pending TOTP login's random id: HttpOnly, SameSite=Strict, minutes-long, and
    worthless without the password step that created it and the request it is bound to."""
    return "__Host-tg_mfa" if secure else "tg_mfa"


def _secure(request: Request) -> bool:
    return bool(request.app.state.cookie_secure)


def _csp(request: AuthorizationRequest | None) -> str:
    # Chrome applies form-action to the redirect that follows the POST, so the
    # client's registered origin must be allowed — and only that one.
    targets = "'self'"
    if request is not None:
        parts = urlsplit(request.redirect_uri)
        targets += f" {parts.scheme}://{parts.netloc}"
    return (
        "default-src 'none'; style-src 'self'; img-src 'self'; "
        f"form-action {targets}; frame-ancestors 'none'; base-uri 'none'"
    )


def _error_page(request: Request, message: str, status: int = 400) -> HTMLResponse:
    response = templates.TemplateResponse(
        request, "error.html", {"message": message}, status_code=status
    )
    response.headers["Content-Security-Policy"] = _csp(None)
    return response


def _login_page(
    request: Request,
    auth: AuthorizationRequest,
    *,
    error: str | None,
    username: str = "",
    template: str = "login.html",
) -> HTMLResponse:
    key = request.app.state.csrf_key
    nonce = login_csrf.new_nonce()
    context: dict[str, Any] = {
        "fields": auth.hidden_fields(),
        "csrf": login_csrf.form_token(key, nonce),
        "client_name": auth.client.name or auth.client.client_id,
        "error": error,
        "username": username,
        "step": TOTP_STEP,
    }
    response = templates.TemplateResponse(
        request, template, context, status_code=401 if error else 200
    )
    response.set_cookie(
        login_csrf.cookie_name(_secure(request)),
        nonce,
        max_age=login_csrf.LOGIN_CSRF_TTL,
        httponly=True,
        secure=_secure(request),
        samesite="strict",
        path="/",
    )
    response.headers["Content-Security-Policy"] = _csp(auth)
    return response


async def _validated(request: Request, params: dict[str, str]) -> AuthorizationRequest | Response:
    try:
        return await validate_authorization_request(deps_of(request), params)
    except UnsafeAuthorizationRequest as exc:
        return _error_page(request, f"This sign-in link is not valid: {exc}.")
    except RedirectableError as exc:
        return RedirectResponse(exc.location, status_code=302)


@router.get("/authorize", response_class=HTMLResponse, tags=["oauth"])
async def authorize(request: Request) -> Response:
    params: dict[str, str] = {}
    for key, value in request.query_params.multi_items():
        if key in params:
            return _error_page(request, "This sign-in link is not valid: a parameter repeats.")
        params[key] = value
    auth = await _validated(request, params)
    if isinstance(auth, Response):
        return auth
    return _login_page(request, auth, error=None)


@router.post("/authorize", response_class=HTMLResponse, tags=["oauth"])
async def submit_login(request: Request) -> Response:
    try:
        form = parse_form(await request.body())
    except OAuthError:
        return _error_page(request, "The sign-in form could not be read.")
    auth = await _validated(request, form)
    if isinstance(auth, Response):
        return auth
    nonce = request.cookies.get(login_csrf.cookie_name(_secure(request)))
    if not login_csrf.form_token_matches(request.app.state.csrf_key, nonce, form.get("csrf", "")):
        return _login_page(request, auth, error="Your sign-in form expired. Please sign in again.")
    deps, caller = deps_of(request), caller_of(request)
    if form.get("step") == TOTP_STEP:
        return await _second_step(request, auth, form)
    username = form.get("username", "")
    try:
        outcome = await log_in(deps, auth, username, form.get("password", ""), caller)
    except LoginThrottled:
        return _login_page(request, auth, error=THROTTLED_TEXT, username=username[:128])
    except LoginFailed:
        return _login_page(request, auth, error=LOGIN_FAILED_TEXT, username=username[:128])
    if isinstance(outcome, SecondFactorRequired):
        page = _login_page(request, auth, error=None, template="login_totp.html")
        page.set_cookie(
            _pending_cookie(_secure(request)),
            outcome.pending_id,
            max_age=deps.config.pending_login_ttl,
            httponly=True,
            secure=_secure(request),
            samesite="strict",
            path="/",
        )
        return page
    return _completed(request, outcome)


# Served ahead of FastAPI's router (direct_routes.py); the routes above document them.
DIRECT_ROUTES = {("GET", "/authorize"): authorize, ("POST", "/authorize"): submit_login}


def failure_page(request: Request, status: int) -> Response:
    """What a browser sees when sign-in fails on our side, in place of the JSON answer
    (same status; the cause is logged, never shown)."""
    if status == 503:
        return _error_page(request, UNAVAILABLE_TEXT, status)
    return _error_page(request, NOT_PROCESSED_TEXT if status < 500 else FAILED_TEXT, status)


FAILURE_PAGES = dict.fromkeys(DIRECT_ROUTES, failure_page)


async def _second_step(
    request: Request, auth: AuthorizationRequest, form: dict[str, str]
) -> Response:
    pending_id = request.cookies.get(_pending_cookie(_secure(request)), "")
    try:
        location = await verify_second_factor(
            deps_of(request), auth, pending_id, form.get("code", ""), caller_of(request)
        )
    except SecondFactorFailed:
        return _login_page(request, auth, error=TOTP_FAILED_TEXT, template="login_totp.html")
    except SecondFactorExpired as exc:
        text = THROTTLED_TEXT if exc.throttled else TOTP_RESTART_TEXT
        page = _login_page(request, auth, error=text)
        _drop_cookie(request, page, _pending_cookie(_secure(request)))
        return page
    return _completed(request, location)


def _completed(request: Request, location: str) -> Response:
    response = RedirectResponse(location, status_code=302)
    # No browser session survives the code: the login cookies go with it.
    _drop_cookie(request, response, login_csrf.cookie_name(_secure(request)))
    _drop_cookie(request, response, _pending_cookie(_secure(request)))
    return response


def _drop_cookie(request: Request, response: Response, name: str) -> None:
    response.delete_cookie(
        name, path="/", secure=_secure(request), httponly=True, samesite="strict"
    )
