"""One reporting session per browser (DESIGN §3), the server's half.

Whenever a new reporting session starts — an SSO landing or a direct login — the
session behind the cookie the browser still carries is ended and its tokens revoked at
the identity server. The browser's tabs learn about it over BroadcastChannel (UX), but
the guarantee is here and in the `X-Reporting-Session` check (guards.py).

The direct login's callback is the bff's shared route, so this app wraps it with a small
ASGI middleware instead of copying it: when the callback's answer sets a new session
cookie, the session of the old cookie is ended before the answer leaves."""

from __future__ import annotations

import structlog
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ...bff.portal import Portal
from ...bff.sessions import digest

log = structlog.get_logger("tenantgate.reporting")
CALLBACK_PATH = "/auth/callback"


async def end_previous_session(portal: Portal, old_cookie: str | None, reason: str) -> bool:
    """End the session behind `old_cookie`, if it is still live. True if one was ended."""
    if not old_cookie or len(old_cookie) > 128:
        return False
    old = await portal.sessions.load(digest(old_cookie))
    if old is None:
        return False
    await portal.end_session(old, reason)
    # The public id is not a secret (pages carry it); it lets operators follow a replacement.
    log.info("reporting_session_replaced", old_session=old.public_id, reason=reason)
    return True


def _sets_new_session(message: Message, cookie_name: str) -> bool:
    prefix = f"{cookie_name}="
    for header in MutableHeaders(scope=message).getlist("set-cookie"):
        if header.startswith(prefix):
            value = header[len(prefix) :].split(";", 1)[0].strip().strip('"')
            if value:  # a deletion sets an empty value
                return True
    return False


class ReplaceOnLogin:
    """Around the bff's `/auth/callback`: a successful direct login replaces the old session."""

    def __init__(self, app: ASGIApp, portal: Portal) -> None:
        self.app = app
        self.portal = portal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") != CALLBACK_PATH:
            await self.app(scope, receive, send)
            return
        old_cookie = HTTPConnection(scope).cookies.get(self.portal.config.session_cookie)
        if not old_cookie:
            await self.app(scope, receive, send)
            return

        async def replacing(message: Message) -> None:
            if message["type"] == "http.response.start" and _sets_new_session(
                message, self.portal.config.session_cookie
            ):
                await end_previous_session(self.portal, old_cookie, "replaced")
            await send(message)

        await self.app(scope, receive, replacing)
