"""TOTP second factor (RFC 6238) for admin accounts, on pyotp.

Codes are 6 digits over 30-second steps, HMAC-SHA1 (what every authenticator app speaks).
One step of clock drift either way is accepted.  A code is single use: the caller stores
the time step of the last accepted code and refuses any step at or before it (RFC 6238
§5.2), so a code seen once (shoulder, phishing relay, log) cannot be replayed in its window.

The secret is sealed at rest with the KEK like the signing keys; the associated data names
the account's stable subject, so a sealed secret cannot be moved to another account's row.
"""

from __future__ import annotations

import hmac
import math
from dataclasses import dataclass

import pyotp

from .keys import seal, unseal

STEP_SECONDS = 30
DIGITS = 6
ACCEPTED_DRIFT_STEPS = 1
ISSUER_NAME = "Tenantgate"


@dataclass(frozen=True, slots=True)
class TotpEnrolment:
    secret: str  # base32, for manual entry
    uri: str  # otpauth://totp/..., for a QR code
    sealed: str  # what the database stores


def new_secret() -> str:
    """160 random bits (RFC 4226 §4 recommends 160), base32."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, username: str) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=username, issuer_name=ISSUER_NAME
    )


def _associated_data(subject: str) -> str:
    return f"totp:{subject}"


def enrol(username: str, subject: str, kek: bytes, secret: str | None = None) -> TotpEnrolment:
    secret = secret or new_secret()
    sealed = seal(secret.encode("ascii"), kek, _associated_data(subject))
    return TotpEnrolment(secret, provisioning_uri(secret, username), sealed)


def open_secret(sealed: str, subject: str, kek: bytes) -> str:
    """Raises KeyUnsealError on a wrong KEK or a row moved from another account."""
    return unseal(sealed, kek, _associated_data(subject)).decode("ascii")


def time_step(now: float) -> int:
    return math.floor(now / STEP_SECONDS)


def code_at(secret: str, step: int) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).at(step * STEP_SECONDS)


def matching_step(secret: str, code: str, now: float) -> int | None:
    """The time step ``code`` belongs to (current ± drift), or None.  Constant-time compare;
    every candidate step is computed whatever the input."""
    candidate = code.strip().replace(" ", "")
    well_formed = len(candidate) == DIGITS and candidate.isascii() and candidate.isdigit()
    current = time_step(now)
    found: int | None = None
    for step in range(current - ACCEPTED_DRIFT_STEPS, current + ACCEPTED_DRIFT_STEPS + 1):
        expected = code_at(secret, step)
        if hmac.compare_digest(expected.encode(), candidate.encode()) and well_formed:
            found = step if found is None else found
    return found
