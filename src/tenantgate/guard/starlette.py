"""A thin Starlette/FastAPI binding: read ``Authorization: Bearer``, verify, answer RFC 6750.

Usage with FastAPI::

    bearer = BearerAuth(verifier)
    app.add_exception_handler(GuardError, guard_error_handler)

    @app.get("/api/customers")
    async def customers(token: VerifiedToken = Depends(bearer)) -> ...:
        require_permission(token, "customers:read")

Everything about tokens lives in :class:`~tenantgate.guard.verify.TokenVerifier`; this module
only extracts the credential (RFC 6750 §2.1) and renders refusals (RFC 6750 §3).
"""

from __future__ import annotations

import re
from typing import Final

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tenantgate.guard.compact import DEFAULT_MAX_TOKEN_BYTES
from tenantgate.guard.errors import GuardError, InsufficientScope, InvalidRequest, MissingToken
from tenantgate.guard.tokens import VerifiedToken
from tenantgate.guard.verify import TokenVerifier

__all__ = ["BearerAuth", "guard_error_handler", "guard_error_response"]

# RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token; the scheme is case-insensitive
# (RFC 9110 §11.1). A JWS only ever uses the base64url subset plus ".".
_BEARER: Final = re.compile(r"[Bb][Ee][Aa][Rr][Ee][Rr] +([A-Za-z0-9._~+/-]+=*)")
# "Bearer " + token: anything larger is refused before the regex runs (SECURITY.md, DoS row).
MAX_AUTHORIZATION_BYTES: Final = DEFAULT_MAX_TOKEN_BYTES + 16


class BearerAuth:
    """Callable dependency returning the request's :class:`VerifiedToken` or raising."""

    def __init__(
        self, verifier: TokenVerifier, *, max_header_bytes: int = MAX_AUTHORIZATION_BYTES
    ) -> None:
        self._verifier = verifier
        self._max_header_bytes = max_header_bytes

    async def __call__(self, request: Request) -> VerifiedToken:
        values = request.headers.getlist("authorization")
        if not values:
            raise MissingToken("no Authorization header")
        if len(values) > 1:  # RFC 6750 §2: one method, one credential per request
            raise InvalidRequest("more than one Authorization header")
        value = values[0]
        if len(value) > self._max_header_bytes:
            raise InvalidRequest(f"Authorization header longer than {self._max_header_bytes}")
        match = _BEARER.fullmatch(value)
        if match is None:
            raise InvalidRequest("Authorization header is not a Bearer credential")
        token = await self._verifier.verify(match.group(1))
        request.state.guard_token = token
        return token


def _quote(value: str) -> str:
    # auth-param values are quoted-strings (RFC 9110 §5.6.4); ours are fixed ASCII sentences
    # and permission names, but escape anyway so a caller-provided scope cannot break out.
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def guard_error_response(exc: GuardError, *, realm: str = "tenantgate") -> Response:
    """Render a refusal: RFC 6749 §5.2-style JSON body plus the RFC 6750 §3 challenge."""
    headers = {"Cache-Control": "no-store"}
    if exc.status_code in (400, 401, 403):
        params = [f"realm={_quote(realm)}"]
        # RFC 6750 §3.1: a request without any credential gets no error code.
        if not isinstance(exc, MissingToken):
            params.append(f"error={_quote(exc.error)}")
            params.append(f"error_description={_quote(exc.description)}")
        if isinstance(exc, InsufficientScope) and exc.scope:
            params.append(f"scope={_quote(exc.scope)}")
        headers["WWW-Authenticate"] = "Bearer " + ", ".join(params)
    body = {"error": exc.error, "error_description": exc.description}
    return JSONResponse(body, status_code=exc.status_code, headers=headers)


async def guard_error_handler(request: Request, exc: Exception) -> Response:
    """Exception handler for ``app.add_exception_handler(GuardError, guard_error_handler)``."""
    if not isinstance(exc, GuardError):  # pragma: no cover - registered for GuardError only
        raise exc
    return guard_error_response(exc)
