"""Opaque tenant references that rotate.

Browsers and tokens only ever see a ref; backends map it to the internal id.
Refs are bound to a rotation *epoch* (``floor(now / period)``) so that every
identity instance agrees which ref is current from the database alone: the
first instance to need epoch N's ref inserts it, a unique constraint on
``(tenant, epoch)`` makes the others read the same row.  A ref from an earlier
epoch is *stale* for a grace window — "refresh and retry", not "not found".
"""

from __future__ import annotations

import enum
import secrets

REF_PREFIX = "fi_"
_REF_BYTES = 18


class RefStatus(enum.Enum):
    CURRENT = "current"
    STALE = "stale"
    UNKNOWN = "unknown"


def new_tenant_ref() -> str:
    return REF_PREFIX + secrets.token_urlsafe(_REF_BYTES)


def looks_like_tenant_ref(value: str) -> bool:
    return (
        value.startswith(REF_PREFIX)
        and len(value) == len(REF_PREFIX) + 24
        and all(c.isalnum() or c in "-_" for c in value[len(REF_PREFIX) :])
    )


def rotation_epoch(now: float, period: int) -> int:
    return int(now // period)


def classify_ref(ref_epoch: int, now: float, period: int, grace: int) -> RefStatus:
    current = rotation_epoch(now, period)
    if ref_epoch == current:
        return RefStatus.CURRENT
    if ref_epoch < current and now < (ref_epoch + 1) * period + grace:
        return RefStatus.STALE
    return RefStatus.UNKNOWN
