"""The authorization endpoint and its hosted login (RFC 6749 §4.1, RFC 7636, RFC 9207).

Checks run in a fixed order and fall in two classes (RFC 6749 §4.1.2.1): while the
client or redirect URI is not proven, nothing is redirected anywhere — the user
sees an error page; after that, errors go back to the client's redirect URI.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from ..domain.accounts import Account, Client
from ..domain.opaque_tokens import digest_opaque_token, new_opaque_token
from ..domain.passwords import MAX_PASSWORD_LENGTH
from ..domain.pkce import is_valid_challenge
from . import audit_events
from .context import Caller, Deps
from .records import AuthorizationCode

MAX_STATE_LENGTH = 512
MAX_USERNAME_LENGTH = 128
GRANT_TYPE = "authorization_code"


class UnsafeAuthorizationRequest(Exception):
    """The client or redirect URI cannot be trusted: show an error page, never redirect."""


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    client: Client
    redirect_uri: str
    state: str
    code_challenge: str

    def error_redirect(self, error: str, issuer: str) -> str:
        return _with_query(self.redirect_uri, {"error": error, "state": self.state, "iss": issuer})

    def hidden_fields(self) -> dict[str, str]:
        return {
            "response_type": "code",
            "client_id": self.client.client_id,
            "redirect_uri": self.redirect_uri,
            "state": self.state,
            "code_challenge": self.code_challenge,
            "code_challenge_method": "S256",
        }


class RedirectableError(Exception):
    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location


class LoginFailed(Exception):
    """Unknown user, wrong password, disabled account or wrong portal: one answer."""


async def validate_authorization_request(
    deps: Deps, params: Mapping[str, str]
) -> AuthorizationRequest:
    client = await deps.store.client_by_id(params.get("client_id", "")[:128])
    if client is None:
        raise UnsafeAuthorizationRequest("unknown client")
    redirect_uri = params.get("redirect_uri", "")
    if not client.allows_redirect_uri(redirect_uri):
        raise UnsafeAuthorizationRequest("redirect_uri is not registered for this client")
    state = params.get("state", "")
    request = AuthorizationRequest(client, redirect_uri, state, params.get("code_challenge", ""))
    issuer = deps.config.issuer
    if not (0 < len(state) <= MAX_STATE_LENGTH):
        # Without a usable state the client cannot bind our answer to its request.
        raise UnsafeAuthorizationRequest("state is missing or too long")
    if params.get("response_type") != "code":
        raise RedirectableError(request.error_redirect("unsupported_response_type", issuer))
    if not client.allows_grant(GRANT_TYPE):
        raise RedirectableError(request.error_redirect("unauthorized_client", issuer))
    method = params.get("code_challenge_method", "")
    if not is_valid_challenge(request.code_challenge, method):
        raise RedirectableError(request.error_redirect("invalid_request", issuer))
    return request


async def log_in(
    deps: Deps, request: AuthorizationRequest, username: str, password: str, caller: Caller
) -> str:
    """Check the credentials; on success return where to send the browser (with a code)."""
    account = await _authenticate(deps, request.client, username, password)
    if account is None:
        await deps.audit(
            audit_events.LOGIN_FAILED,
            caller,
            client_id=request.client.client_id,
            username=username[:MAX_USERNAME_LENGTH],
        )
        raise LoginFailed
    code = new_opaque_token()
    now = deps.now()
    await deps.store.save_code(
        AuthorizationCode(
            digest=digest_opaque_token(code),
            client_id=request.client.client_id,
            account_id=account.id,
            redirect_uri=request.redirect_uri,
            code_challenge=request.code_challenge,
            issued_at=now,
            expires_at=now + deps.config.authorization_code_ttl,
        )
    )
    await deps.audit(
        audit_events.LOGIN_SUCCEEDED,
        caller,
        account_id=account.id,
        client_id=request.client.client_id,
        tenant_id=account.tenant_id,
    )
    query = {"code": code, "state": request.state, "iss": deps.config.issuer}
    return _with_query(request.redirect_uri, query)


async def _authenticate(deps: Deps, client: Client, username: str, password: str) -> Account | None:
    if len(username) > MAX_USERNAME_LENGTH or len(password) > MAX_PASSWORD_LENGTH:
        username, password = "", ""
    account = await deps.store.account_by_username(username) if username else None
    stored_hash = account.password_hash if account else None
    # Always one Argon2 verification, whatever happened above (no timing oracle).
    valid = await deps.off_loop(deps.passwords.verify, stored_hash, password)
    if account is None or not valid or not account.active or not client.admits(account.kind):
        return None
    if deps.passwords.needs_rehash(account.password_hash):
        new_hash = await deps.off_loop(deps.passwords.hash, password)
        await deps.store.replace_password_hash(account.id, new_hash)
    return account


def _with_query(uri: str, params: Mapping[str, str]) -> str:
    separator = "&" if "?" in uri else "?"
    return uri + separator + urlencode(params)
