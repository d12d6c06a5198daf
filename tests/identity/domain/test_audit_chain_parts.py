"""The canonical JSON split where ``seq`` goes, for stores that number and hash a link
themselves: putting any ``seq`` back in gives exactly the canonical record."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tenantgate.identity.domain.audit_chain import canonical_parts, canonical_record

BASE: dict[str, Any] = {
    "at": 1_800_000_000.123456,
    "event": "token.refreshed",
    "account_id": 7,
    "client_id": "admin-portal",
    "tenant_id": 3,
    "session_id": "s_abc",
    "address": "10.0.0.1",
    "detail": json.dumps({"family": "f_1"}),
}

# Values that spell the seq slot, or parts of it, inside strings the attacker may choose.
TRICKY = [
    ',"seq":0,',
    '","seq":0,"',
    '\\",\\"seq\\":0,\\"',
    '"seq":12345',
    "\u2028\u00e9\U0001f600",
    "",
]


@pytest.mark.parametrize("seq", [1, 9, 10, 123_456_789])
def test_seq_put_back_gives_the_canonical_record(seq: int) -> None:
    prefix, suffix = canonical_parts(BASE)
    assert prefix + str(seq).encode() + suffix == canonical_record({**BASE, "seq": seq})


@pytest.mark.parametrize("text", TRICKY)
@pytest.mark.parametrize("field", ["detail", "event", "client_id", "address", "session_id"])
def test_strings_that_look_like_the_slot_do_not_move_it(field: str, text: str) -> None:
    record = {**BASE, field: text}
    prefix, suffix = canonical_parts(record)
    assert prefix.endswith(b'"seq":')
    assert suffix.startswith(b',"session_id":')
    assert prefix + b"42" + suffix == canonical_record({**record, "seq": 42})


def test_absent_values_are_null_as_in_the_record() -> None:
    record = {**BASE, "account_id": None, "tenant_id": None, "address": None}
    prefix, suffix = canonical_parts(record)
    assert prefix + b"3" + suffix == canonical_record({**record, "seq": 3})
