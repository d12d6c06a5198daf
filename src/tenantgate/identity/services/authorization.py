"""The authorization endpoint and its hosted login (RFC 6749 §4.1, RFC 7636, RFC 9207).

Checks run in a fixed order and fall in two classes (RFC 6749 §4.1.2.1): while the
client or redirect URI is not proven, nothing is redirected anywhere — the user
sees an error page; after that, errors go back to the client's redirect URI.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from ..domain import totp
from ..domain.accounts import Account, Client
from ..domain.keys import KeyUnsealError
from ..domain.opaque_tokens import digest_opaque_token, new_opaque_token
from ..domain.passwords import MAX_PASSWORD_LENGTH
from ..domain.pkce import is_valid_challenge
from . import audit_events, throttling
from .context import Caller, Deps
from .records import AuthorizationCode, PendingLogin

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

    def binding(self) -> str:
        """What a pending TOTP login is bound to: this very request."""
        canonical = json.dumps(self.hidden_fields(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


class RedirectableError(Exception):
    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location


class LoginFailed(Exception):
    """Unknown user, wrong password, disabled account or wrong portal: one answer."""


class LoginThrottled(LoginFailed):
    """Too many attempts for this username or address; decided before any password check,
    so it is the same for unknown and known usernames."""


@dataclass(frozen=True, slots=True)
class SecondFactorRequired:
    """The password was right; the account needs a TOTP code.  ``pending_id`` goes to the
    browser (a short-lived cookie) and names the pending login."""

    pending_id: str


class SecondFactorFailed(Exception):
    """A wrong or reused code: ask again (attempts remain)."""


class SecondFactorExpired(Exception):
    """No usable pending login (unknown, expired, out of attempts, other request, throttled):
    back to the password step."""

    def __init__(self, *, throttled: bool = False) -> None:
        super().__init__("throttled" if throttled else "expired")
        self.throttled = throttled


async def validate_authorization_request(
    deps: Deps, params: Mapping[str, str]
) -> AuthorizationRequest:
    client = await deps.client(params.get("client_id", "")[:128])
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
) -> str | SecondFactorRequired:
    """Check the credentials; on success return where to send the browser (with a code),
    or, for an account with TOTP, the pending login that waits for the code."""
    username = username[: MAX_USERNAME_LENGTH + 1]
    attempt = await throttling.begin_attempt(deps, username, caller)
    if attempt.throttled:
        await deps.audit(
            audit_events.LOGIN_THROTTLED,
            caller,
            client_id=request.client.client_id,
            username=username[:MAX_USERNAME_LENGTH],
            stage="password",
        )
        raise LoginThrottled
    account = await _authenticate(deps, request.client, username, password)
    if account is None:
        await deps.audit(
            audit_events.LOGIN_FAILED,
            caller,
            client_id=request.client.client_id,
            username=username[:MAX_USERNAME_LENGTH],
        )
        raise LoginFailed
    if account.requires_totp:
        await throttling.not_a_failure(deps, attempt)
        pending_id = new_opaque_token()
        now = deps.now()
        await deps.store.start_pending_login(
            PendingLogin(
                id_digest=digest_opaque_token(pending_id),
                account_id=account.id,
                binding=request.binding(),
                created_at=now,
                expires_at=now + deps.config.pending_login_ttl,
            )
        )
        await deps.audit(
            audit_events.LOGIN_TOTP_REQUIRED,
            caller,
            account_id=account.id,
            client_id=request.client.client_id,
        )
        return SecondFactorRequired(pending_id)
    return await _issue_code(deps, request, account, caller, attempt)


async def verify_second_factor(
    deps: Deps, request: AuthorizationRequest, pending_id: str, code: str, caller: Caller
) -> str:
    """The TOTP step: on success where to send the browser (with a code)."""
    config = deps.config
    digest = digest_opaque_token(pending_id) if 0 < len(pending_id) <= 128 else ""
    pending = await deps.store.take_pending_attempt(digest, deps.now(), config.totp_max_attempts)
    if pending is None:
        raise SecondFactorExpired
    account = await deps.store.account_by_id(pending.account_id)
    if (
        pending.binding != request.binding()
        or account is None
        or account.totp_sealed is None
        or not account.active
        or not request.client.admits(account.kind)
    ):
        await deps.store.finish_pending_login(digest)
        raise SecondFactorExpired
    attempt = await throttling.begin_attempt(deps, account.username, caller)
    if attempt.throttled:
        await deps.store.finish_pending_login(digest)
        await deps.audit(
            audit_events.LOGIN_THROTTLED,
            caller,
            account_id=account.id,
            client_id=request.client.client_id,
            username=account.username,
            stage="totp",
        )
        raise SecondFactorExpired(throttled=True)
    now = deps.now()
    try:
        secret = totp.open_secret(account.totp_sealed, account.subject, config.key_encryption_key)
    except KeyUnsealError:
        secret = None
    step = totp.matching_step(secret, code[:64], now) if secret is not None else None
    reused = step is not None and not await deps.store.claim_totp_step(account.id, step)
    if step is None or reused:
        await deps.audit(
            audit_events.LOGIN_TOTP_FAILED,
            caller,
            account_id=account.id,
            client_id=request.client.client_id,
            reason="code already used" if reused else "wrong code",
            attempt=pending.attempts,
        )
        if pending.attempts >= config.totp_max_attempts:
            await deps.store.finish_pending_login(digest)
            raise SecondFactorExpired
        raise SecondFactorFailed
    if not await deps.store.finish_pending_login(digest):
        raise SecondFactorExpired  # a parallel request got there first
    return await _issue_code(deps, request, account, caller, attempt, second_factor="totp")


async def _issue_code(
    deps: Deps,
    request: AuthorizationRequest,
    account: Account,
    caller: Caller,
    attempt: throttling.Attempt,
    **detail: str,
) -> str:
    code = new_opaque_token()
    now = deps.now()
    issued = AuthorizationCode(
        digest=digest_opaque_token(code),
        client_id=request.client.client_id,
        account_id=account.id,
        redirect_uri=request.redirect_uri,
        code_challenge=request.code_challenge,
        issued_at=now,
        expires_at=now + deps.config.authorization_code_ttl,
    )
    event = deps.audit_event(
        audit_events.LOGIN_SUCCEEDED,
        caller,
        account_id=account.id,
        client_id=request.client.client_id,
        tenant_id=account.tenant_id,
        **detail,
    )
    await throttling.login_completed(deps, attempt, issued, event)
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
