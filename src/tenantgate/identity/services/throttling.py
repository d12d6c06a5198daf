"""Login throttling per account and per client address (ASVS 6.3; SECURITY.md
"Authentication").

A sliding window of ``login_window`` seconds (15 min): an attempt is refused when the
username has seen more than ``login_account_limit`` (5) counted attempts in the window, or
the client address more than ``login_address_limit`` (20).  Attempts are rows in the
database, so every instance sees the same counts; an attempt is written *before* the
password is checked and counted after its commit, so parallel guesses cannot slip past the
limit together (the k-th one sees at least k rows).

What counts: a failed password, a wrong TOTP code.  What does not: a correct password (its
row is dropped at once), a throttled attempt (dropped too — hammering a throttled account
never extends the lock), and after a complete login the account's failures are cleared.
So a victim is locked out for at most one window after the attacker's last *counted*
failure, and the attacker gets at most 5 guesses per account per 15 minutes and 20 per
address.

The username key is the typed username, whether an account has it or not: unknown and
known usernames are throttled alike (no enumeration).  Keys are stored as SHA-256 digests,
so a password typed into the username field never lands in this table in clear.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from .context import Caller, Deps
from .records import AuditEvent, AuthorizationCode

ACCOUNT = "account"
ADDRESS = "address"


def account_key(username: str) -> str:
    return hashlib.sha256(b"account\x00" + username.encode("utf-8", "replace")).hexdigest()


def address_key(address: str | None) -> str:
    return hashlib.sha256(b"address\x00" + (address or "-").encode("utf-8", "replace")).hexdigest()


@dataclass(frozen=True, slots=True)
class Attempt:
    username: str
    ids: tuple[int, ...]
    throttled: bool
    counts: dict[str, int]


async def begin_attempt(deps: Deps, username: str, caller: Caller) -> Attempt:
    """Note an attempt; a throttled one is forgotten at once and must be refused."""
    config = deps.config
    noted = await deps.store.note_login_attempt(
        [(ACCOUNT, account_key(username)), (ADDRESS, address_key(caller.address))],
        deps.now(),
        config.login_window,
    )
    throttled = (
        noted.counts[ACCOUNT] > config.login_account_limit
        or noted.counts[ADDRESS] > config.login_address_limit
    )
    if throttled:
        await deps.store.forget_login_attempts(noted.ids)
    return Attempt(username, noted.ids, throttled, noted.counts)


async def not_a_failure(deps: Deps, attempt: Attempt) -> None:
    """The step succeeded: this attempt does not count."""
    await deps.store.forget_login_attempts(attempt.ids)


async def login_completed(
    deps: Deps, attempt: Attempt, code: AuthorizationCode, audit: AuditEvent
) -> None:
    """The whole login succeeded: the account's failures are forgiven (the address's are
    not — one good login of the attacker's own must not reset a spraying address).  The
    code it earned and its audit event are stored in the same transaction."""
    await deps.store.complete_login(
        code,
        forget=attempt.ids,
        clear=(ACCOUNT, account_key(attempt.username)),
        audit=audit,
    )
