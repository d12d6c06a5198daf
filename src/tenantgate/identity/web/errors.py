"""One place that turns failures into answers.

Protocol errors become RFC 6749 §5.2 JSON with their public text; the private
detail goes to the log.  A database outage is 503 with a clear message.
Anything else is a generic 500 that says nothing about the cause.
"""

from __future__ import annotations

import structlog
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..domain.errors import (
    InvalidClient,
    InvalidRequest,
    InvalidToken,
    OAuthError,
    TemporarilyUnavailable,
)

log = structlog.get_logger("tenantgate.identity")
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def oauth_error_response(exc: OAuthError) -> JSONResponse:
    headers = dict(NO_STORE)
    if isinstance(exc, InvalidClient):
        headers["WWW-Authenticate"] = 'Basic realm="tenantgate", charset="UTF-8"'
    elif isinstance(exc, InvalidToken):
        headers["WWW-Authenticate"] = 'Bearer realm="tenantgate", error="invalid_token"'
    return JSONResponse(exc.as_json(), status_code=exc.status, headers=headers)


DATABASE_DOWN = (DBAPIError, PoolTimeout)  # OperationalError is a DBAPIError
SERVER_ERROR = {"error": "server_error", "error_description": "The request could not be processed."}


def answer_for(exc: Exception, path: str) -> Response:
    """The answer to *exc*, raised while serving *path*: the framework's exception handlers
    and the directly dispatched routes (direct_routes.py) both answer through this."""
    if isinstance(exc, OAuthError):
        log.info("request_refused", path=path, error=exc.error, detail=exc.detail)
        return oauth_error_response(exc)
    if isinstance(exc, DATABASE_DOWN):
        log.warning("database_unavailable", path=path, error=type(exc).__name__)
        return oauth_error_response(TemporarilyUnavailable("database unavailable"))
    log.error("unhandled_error", path=path, exc_info=exc)
    return JSONResponse(SERVER_ERROR, status_code=500, headers=NO_STORE)


def install_error_handlers(app: FastAPI) -> None:
    async def on_failure(request: Request, exc: Exception) -> Response:
        return answer_for(exc, request.url.path)

    async def on_validation_error(request: Request, exc: Exception) -> Response:
        return oauth_error_response(InvalidRequest("request validation failed"))

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        body = {"error": "invalid_request", "error_description": str(exc.detail)}
        if exc.status_code == 404:
            body = {"error": "not_found", "error_description": "There is nothing here."}
        elif exc.status_code == 405:
            body = {"error": "invalid_request", "error_description": "Method not allowed."}
        return JSONResponse(body, status_code=exc.status_code, headers=NO_STORE)

    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(HTTPException, on_http_error)
    for failure in (OAuthError, *DATABASE_DOWN, Exception):
        app.add_exception_handler(failure, on_failure)
