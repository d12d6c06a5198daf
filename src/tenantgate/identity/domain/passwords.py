"""Password hashing with Argon2id (OWASP Password Storage Cheat Sheet; ASVS 6.2).

Verification always costs one Argon2 computation, also for unknown users (a
dummy hash) and for over-long input, so timing does not tell them apart.
"""

from __future__ import annotations

from dataclasses import dataclass

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_PASSWORD_LENGTH = 8
RECOMMENDED_ADMIN_PASSWORD_LENGTH = 15
# Generous: passphrases are welcome and nothing is ever truncated (ASVS 6.2.9).
MAX_PASSWORD_LENGTH = 1024


@dataclass(frozen=True, slots=True)
class Argon2Parameters:
    """OWASP's first recommended Argon2id configuration: 19 MiB, 2 passes, 1 lane."""

    memory_cost_kib: int = 19 * 1024
    time_cost: int = 2
    parallelism: int = 1


class PasswordTooWeak(ValueError):
    pass


def check_password_policy(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordTooWeak(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PasswordTooWeak(f"a password may have at most {MAX_PASSWORD_LENGTH} characters")


class Passwords:
    def __init__(self, parameters: Argon2Parameters | None = None) -> None:
        p = parameters or Argon2Parameters()
        self._hasher = PasswordHasher(
            time_cost=p.time_cost,
            memory_cost=p.memory_cost_kib,
            parallelism=p.parallelism,
            type=Type.ID,
        )
        self._dummy_hash = self._hasher.hash("tenantgate-dummy-password-for-equal-timing")

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        """True only for a real hash that matches; costs the same in every case."""
        candidate = password if len(password) <= MAX_PASSWORD_LENGTH else ""
        target = password_hash if password_hash is not None else self._dummy_hash
        try:
            matched = self._hasher.verify(target, candidate)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        return matched and password_hash is not None and candidate == password

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)
