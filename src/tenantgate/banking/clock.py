"""Time and identifiers the banking code hands out.

Time is injected (every mutating function takes ``now``) so tests and the generator control it;
the default is the system clock in UTC. Days are UTC calendar days everywhere (rollups, KPIs):
one definition, so a direct query and a rollup can never disagree about where a day ends.
"""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, time, timedelta

CUSTOMER_ID_PREFIX = "cus_"
ACCOUNT_ID_PREFIX = "acc_"


def utc_now() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """Normalise a stored timestamp: SQLite hands back naive UTC, PostgreSQL an aware one."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def require_aware(moment: datetime) -> datetime:
    """Refuse naive datetimes at the boundary: a naive "now" is an ambiguity, not a time."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("timestamps must be timezone-aware")
    return moment.astimezone(UTC)


def utc_day(moment: datetime) -> date:
    return as_utc(moment).date()


def day_start(day: date) -> datetime:
    """00:00 UTC of ``day``; periods are half-open ``[start, end + 1 day)`` ranges."""
    return datetime.combine(day, time.min, tzinfo=UTC)


def day_after_start(day: date) -> datetime:
    return day_start(day + timedelta(days=1))


def as_date(value: date | str) -> date:
    """SQLite returns ``date()`` results as ISO strings; PostgreSQL as dates."""
    if isinstance(value, str):
        return date.fromisoformat(value)
    return value


def format_public_id(prefix: str, value: int) -> str:
    """An opaque public id from 128 random bits: ``cus_`` + 32 hex digits."""
    return f"{prefix}{value:032x}"


def new_public_id(prefix: str) -> str:
    """A fresh unguessable public id (the generator derives its ids from its seed instead)."""
    return format_public_id(prefix, secrets.randbits(128))


def looks_like_public_id(prefix: str, candidate: str) -> bool:
    """Cheap shape check so junk from a URL never reaches a query."""
    body = candidate[len(prefix) :]
    return (
        candidate.startswith(prefix)
        and len(body) == 32
        and all(c in "0123456789abcdef" for c in body)
    )
