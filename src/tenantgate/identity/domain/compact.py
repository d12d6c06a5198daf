"""Strict compact-serialization parsing shared by JWS and JWE handling (RFC 7515 §7.1,
RFC 7516 §7.1; RFC 8725 §3.1–3.2): exact segment count, unpadded base64url, a JSON
object header without duplicate members, a size limit before any work."""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from .strict_json import StrictJsonError, parse_json_object

MAX_TOKEN_LENGTH = 8192
_B64URL = re.compile(r"[A-Za-z0-9_-]*")
# Header parameters that would let a token choose its own key or processing.
FORBIDDEN_HEADER_PARAMETERS = frozenset({"jku", "jwk", "x5u", "x5c", "x5t", "x5t#S256", "crit"})


class MalformedToken(ValueError):
    pass


def b64url_encode(data: bytes) -> str:
    """Unpadded base64url (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def compact_json(value: Any) -> bytes:
    """*value* as JSON without whitespace, as the tokens carry it."""
    return _COMPACT_JSON.encode(value).encode()


def json_segment(value: Any) -> str:
    """*value* as compact JSON, base64url-encoded: a JOSE header or JWT claims segment."""
    return b64url_encode(compact_json(value))


# Reused: json.dumps with options builds an encoder per call.
_COMPACT_JSON = json.JSONEncoder(separators=(",", ":"))


def b64url_decode(segment: str) -> bytes:
    if _B64URL.fullmatch(segment) is None or len(segment) % 4 == 1:
        raise MalformedToken("bad base64url")
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError) as exc:
        raise MalformedToken("bad base64url") from exc


def split_compact(token: str, segments: int) -> list[str]:
    if not isinstance(token, str) or not 0 < len(token) <= MAX_TOKEN_LENGTH:
        raise MalformedToken("size")
    if not token.isascii():
        raise MalformedToken("non-ascii")
    parts = token.split(".")
    if len(parts) != segments:
        raise MalformedToken("segment count")
    return parts


def parse_header(segment: str) -> dict[str, Any]:
    try:
        header = parse_json_object(b64url_decode(segment))
    except StrictJsonError as exc:
        raise MalformedToken("header") from exc
    if FORBIDDEN_HEADER_PARAMETERS & header.keys():
        raise MalformedToken("forbidden header parameter")
    kid = header.get("kid")
    if kid is not None and (not isinstance(kid, str) or not 0 < len(kid) <= 128):
        raise MalformedToken("kid")
    return header
