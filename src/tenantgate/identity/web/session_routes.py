"""The operators' session overview for the admin portal's backend (RFC 6750 bearer use).

`GET /admin/sessions?username=...` and `POST /admin/sessions/revoke` (form: `sid`), with
`Authorization: Bearer` a tenant-scoped admin access token for the admin API that carries
`sessions:manage`. Rules and tenant isolation: `services/session_overview.py`.

Why a bearer token and no client authentication on top: the token is audience-bound to the
admin API (only the admin portal's client gets such tokens), bound to its session and
client (`bearer.accept_access_token`), and never leaves the admin BFF, where the client
secret lives too; a second credential would need a non-standard second header for no gain.

Answers: JSON; 401 `invalid_token` (missing, garbage, expired, revoked or foreign-audience
token), 403 `insufficient_scope` (not an FI-scoped admin token with `sessions:manage`), 400
`invalid_request` (bad input), 404 for a `sid` that is no live session acting on the
token's FI — exactly the answer of any unknown path."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from ..domain.errors import InvalidRequest
from ..services.session_overview import (
    authorize_operator,
    list_live_sessions,
    revoke_live_session,
)
from .errors import NO_STORE
from .forms import bearer_token, read_form
from .oauth_routes import ADMIN_AUDIENCE, caller_of, deps_of

router = APIRouter(prefix="/admin/sessions", tags=["sessions"])


def single_parameter(values: list[str], name: str) -> str:
    if len(values) > 1:
        raise InvalidRequest(f"{name} appears more than once")
    value = values[0] if values else ""
    if "\x00" in value:
        raise InvalidRequest(f"malformed {name}")
    return value


@router.get("")
async def live_sessions(request: Request) -> JSONResponse:
    deps = deps_of(request)
    operator = await authorize_operator(deps, bearer_token(request), (ADMIN_AUDIENCE,))
    username = single_parameter(request.query_params.getlist("username"), "username")
    body = await list_live_sessions(deps, operator, username)
    return JSONResponse(body, headers=NO_STORE)


@router.post("/revoke")
async def revoke_session(request: Request) -> JSONResponse:
    deps = deps_of(request)
    operator = await authorize_operator(deps, bearer_token(request), (ADMIN_AUDIENCE,))
    sid = (await read_form(request)).get("sid", "")
    if not await revoke_live_session(deps, operator, sid, caller_of(request)):
        raise HTTPException(status_code=404)
    return JSONResponse({"revoked": sid}, headers=NO_STORE)
