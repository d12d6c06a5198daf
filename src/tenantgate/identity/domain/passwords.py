"""Password hashing with Argon2id (OWASP Password Storage Cheat Sheet; ASVS 6.2).

Verification always costs one Argon2 computation, also for unknown users (a
dummy hash) and for over-long input, so timing does not tell them apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

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


COMMON_PASSWORDS_FILE = Path(__file__).parent / "data" / "common-passwords.txt"


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords (lower case; see data/README.md)."""
    text = COMMON_PASSWORDS_FILE.read_text("utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip())


def is_common_password(password: str) -> bool:
    """Case-insensitive: ``PassWord1`` is as common as ``password1``."""
    return password.lower() in common_passwords()


def check_password_policy(password: str) -> None:
    """ASVS 6.2: length only (8 to 1024, never truncated), no composition rules, and not
    on the list of common passwords."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordTooWeak(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PasswordTooWeak(f"a password may have at most {MAX_PASSWORD_LENGTH} characters")
    if is_common_password(password):
        raise PasswordTooWeak("this password is on a list of commonly used passwords")


def is_short_for_an_admin(password: str) -> bool:
    """Admins should use 15 characters or more (a recommendation: the CLI warns)."""
    return len(password) < RECOMMENDED_ADMIN_PASSWORD_LENGTH


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
