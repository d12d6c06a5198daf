"""JSON parsing for security decisions: objects only, no duplicate members (RFC 8725 §3.10)."""

from __future__ import annotations

import json
from typing import Any


class StrictJsonError(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise StrictJsonError("duplicate member")
        result[key] = value
    return result


def _no_constants(name: str) -> Any:
    raise StrictJsonError(f"non-standard constant {name}")


def parse_json_object(data: bytes) -> dict[str, Any]:
    # RFC 8259 §8.1 / RFC 7515 §2: UTF-8 without a byte-order mark.  Decoding here keeps
    # json.loads from guessing UTF-16/32 or skipping a BOM.
    if data.startswith(b"\xef\xbb\xbf"):
        raise StrictJsonError("byte-order mark")
    try:
        text = data.decode("utf-8", errors="strict")
        value = _DECODER.decode(text)
    except StrictJsonError:
        raise
    except (UnicodeDecodeError, RecursionError, ValueError) as exc:
        # ValueError also covers json.JSONDecodeError and int-conversion limits
        # (a 5,000-digit number must be a clean refusal, not a crash).
        raise StrictJsonError("not JSON") from exc
    if not isinstance(value, dict):
        raise StrictJsonError("not a JSON object")
    return value


# Reused: json.loads with options builds a decoder (and its scanner) per call; decoding
# keeps no state between calls.
_DECODER = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
