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
    try:
        value = json.loads(data, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise StrictJsonError("not JSON") from exc
    if not isinstance(value, dict):
        raise StrictJsonError("not a JSON object")
    return value
