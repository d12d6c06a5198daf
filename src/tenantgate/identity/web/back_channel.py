"""The client-authenticated back channel, dispatched ahead of the framework's router.

``POST /token``, ``/revoke``, ``/introspect`` and ``/tenant-refs/resolve`` are what portal
backends call machine to machine: every refresh, every tenant selection, both halves of
every SSO hand-off.  Their handlers take the ``Request``, read their form by hand
(forms.py) and return a finished response; they use none of FastAPI's parameter binding,
dependency solving or response models.  Yet under the benchmark's refresh load the path
from uvicorn to the handler (FastAPI's router, dependency solver and exception middleware)
was about an eighth of the identity server's CPU (py-spy, ``make profile``).

So an exact method and path match goes straight to the same handler functions, inside the
same size limit and security headers, and every failure is answered by the same mapping the
app's exception handlers use (errors.answer_for).  Everything else (another method, a
trailing slash, every page) goes through FastAPI as before, which also keeps documenting
these routes in its OpenAPI schema.
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


class BackChannel:
    """Serves ``POST`` to exactly the paths of *handlers* (check with :meth:`serves`)."""

    def __init__(self, handlers: Mapping[str, Handler]) -> None:
        self.handlers = dict(handlers)
        self._stack = BodyLimit(SecurityHeaders(self._serve))

    def serves(self, scope: Scope) -> bool:
        return (
            scope["type"] == "http" and scope["method"] == "POST" and scope["path"] in self.handlers
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._stack(scope, receive, send)

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        try:
            response = await self.handlers[path](Request(scope, receive))
        except BodyTooLarge:
            raise  # BodyLimit answers 413
        except ClientDisconnect:
            return  # nobody is left to answer
        except Exception as exc:
            response = answer_for(exc, path)
        await response(scope, receive, send)
