"""The identity server's ASGI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from ...web_limits import BodyLimit
from ..services.context import Deps
from ..storage.sql_store import SqlIdentityStore
from .direct_routes import DirectRoutes
from .errors import install_error_handlers
from .headers import SecurityHeaders
from .login_csrf import derive_csrf_key
from .login_routes import DIRECT_ROUTES as LOGIN_PAGE
from .login_routes import FAILURE_PAGES as LOGIN_FAILURE_PAGES
from .login_routes import router as login_router
from .oauth_routes import DIRECT_ROUTES as BACK_CHANNEL
from .oauth_routes import router as oauth_router
from .session_routes import router as session_router


class IdentityApp(FastAPI):
    """FastAPI, with the back channel and the hosted login page dispatched ahead of its
    router (direct_routes.py)."""

    direct_routes = DirectRoutes({**BACK_CHANNEL, **LOGIN_PAGE}, failure_pages=LOGIN_FAILURE_PAGES)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.direct_routes.serves(scope):
            scope["app"] = self  # the handlers find the app's state through the request
            await self.direct_routes(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def create_identity_app(deps: Deps, *, cookie_secure: bool = True) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await deps.keyring.refresh()
        yield
        deps.hashing.close()
        if isinstance(deps.store, SqlIdentityStore):
            await deps.store.engine.dispose()

    app = IdentityApp(
        title="Tenantgate identity server",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.deps = deps
    app.state.cookie_secure = cookie_secure
    app.state.csrf_key = derive_csrf_key(deps.config.key_encryption_key)
    install_error_handlers(app)
    app.include_router(oauth_router)
    app.include_router(login_router)
    app.include_router(session_router)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    app.add_middleware(SecurityHeaders)
    app.add_middleware(BodyLimit)
    return app
