"""The identity server's hot routes, dispatched ahead of the framework's router.

Two kinds of request carry the identity server's load: the client-authenticated back
channel (``POST /token``, ``/revoke``, ``/introspect``, ``/tenant-refs/resolve``: every
refresh, tenant selection and both halves of every SSO hand-off) and the hosted login page
(``GET`` and ``POST /authorize``).  Their handlers take the ``Request``, read query and form
by hand (forms.py) and return a finished response; they use none of FastAPI's parameter
binding, dependency solving or response models.  Yet under the benchmark's refresh load the
path from uvicorn to the handler (FastAPI's router, dependency solver and exception
middleware) was about an eighth of the server's CPU (py-spy, ``make profile``).

So an exact method and path match goes straight to the same handler functions, inside the
same size limit and security headers, and every failure is answered by the same mapping the
app's exception handlers use (errors.answer_for).  Everything else (another method, a
trailing slash, every other route) goes through FastAPI as before, which also keeps
documenting these routes in its OpenAPI schema.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from ...web_limits import BodyLimit, BodyTooLarge
from .errors import answer_for
from .headers import SecurityHeaders

Handler = Callable[[Request], Awaitable[Response]]
Routes = Mapping[tuple[str, str], Handler]  # (method, path) -> handler
# A page for a browser in place of the JSON failure answer, with the same status.
FailurePage = Callable[[Request, int], Response]


class DirectRoutes:
    """Serves exactly the (method, path) pairs of *routes* (check with :meth:`serves`).

    A failure is answered as errors.answer_for answers it (and logged there); for the
    routes in *failure_pages*, which browsers load, a readable page with that status takes
    the JSON body's place."""

    def __init__(
        self, routes: Routes, *, failure_pages: Mapping[tuple[str, str], FailurePage] | None = None
    ) -> None:
        self.routes = dict(routes)
        self.failure_pages = dict(failure_pages or {})
        self._stack = BodyLimit(SecurityHeaders(self._serve))

    def serves(self, scope: Scope) -> bool:
        return scope["type"] == "http" and (scope["method"], scope["path"]) in self.routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._stack(scope, receive, send)

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        key: tuple[str, str] = (scope["method"], scope["path"])
        request = Request(scope, receive)
        try:
            response = await self.routes[key](request)
        except BodyTooLarge:
            raise  # BodyLimit answers 413
        except ClientDisconnect:
            return  # nobody is left to answer
        except Exception as exc:
            response = answer_for(exc, key[1])
            page = self.failure_pages.get(key)
            if page is not None:
                response = page(request, response.status_code)
        await response(scope, receive, send)
