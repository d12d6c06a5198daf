"""Strict parsing of the JWS Compact Serialization (RFC 7515 §3.1, §7.1).

Only what RFC 7515 allows is accepted, and nothing the issuer would never produce:

* a size limit is checked before any splitting or decoding (SECURITY.md "Robustness");
* exactly three segments, so a JWE (five) or a truncated token never gets this far;
* base64url *without* padding and in its canonical form (RFC 7515 §2, §C): a token has
  exactly one spelling, so a re-encoded token cannot slip past a replay or deny list keyed
  on the token text;
* header and payload are JSON objects with no duplicate member names (RFC 7515 §5.2
  step 4 and RFC 8725 §3.2 say reject or use a parser that does) and no ``NaN``/``Infinity``.

Nothing here reads a claim: the payload is returned as bytes and decoded only after the
signature has been verified (RFC 8725 §3.1).
"""

from __future__ import annotations

import binascii
import functools
import json
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from tenantgate.guard.errors import InvalidToken

__all__ = ["DEFAULT_MAX_TOKEN_BYTES", "CompactJws", "b64url_decode", "parse_compact", "parse_json"]

DEFAULT_MAX_TOKEN_BYTES = 8192

# The base64url alphabet (RFC 4648 §5), no padding. A length of 4k+1 can never be valid.
_B64URL = re.compile(r"[A-Za-z0-9_-]*")


@dataclass(frozen=True, slots=True)
class CompactJws:
    """The three parts of a compact JWS, header already decoded, payload still opaque."""

    header: Mapping[str, Any]
    payload: bytes
    signature: bytes
    signing_input: bytes  # ASCII(BASE64URL(header) || '.' || BASE64URL(payload)), §5.2 step 8


_URL_TO_STD: Final = bytes.maketrans(b"-_", b"+/")
# Value of each base64url character (RFC 4648 §5).
_B64_VALUE: Final = {
    c: i
    for i, c in enumerate(string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_")
}


# Unused bits carried by the last character, by segment length mod 4 (2 chars: 4, 3: 2).
_SPARE_BITS: Final = (0, 0, 0x0F, 0x03)
_PADDING: Final = (b"", b"===", b"==", b"=")  # restores it, by the same index


def b64url_decode(segment: str) -> bytes:
    """Decode one unpadded, canonical base64url segment or raise :class:`InvalidToken`."""
    size = len(segment)
    if size % 4 == 1 or _B64URL.fullmatch(segment) is None:
        raise InvalidToken("segment is not unpadded base64url")
    # Non-zero unused trailing bits decode fine but give a second spelling of the same
    # bytes (RFC 4648 §3.5): refuse them.
    spare = _SPARE_BITS[size % 4]
    if spare and _B64_VALUE[segment[-1]] & spare:
        raise InvalidToken("segment is not canonical base64url")
    try:
        padded = segment.encode("ascii").translate(_URL_TO_STD) + _PADDING[size % 4]
        return binascii.a2b_base64(padded)
    except (binascii.Error, ValueError) as exc:  # unreachable after the regex; kept as a net
        raise InvalidToken("segment is not base64url") from exc


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)  # C speed; a shorter dict than pair list means a repeated name
    if len(obj) != len(pairs):
        raise InvalidToken("duplicate JSON member")
    return obj


def _reject_constant(name: str) -> Any:
    raise InvalidToken(f"non-standard JSON constant {name}")


# One decoder, built once: json.loads() with hooks would build a new one per call.
_DECODER: Final = json.JSONDecoder(
    object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant
)


def parse_json(raw: bytes, what: str) -> dict[str, Any]:
    """Decode UTF-8 JSON that must be an object without duplicate members."""
    try:
        value = _DECODER.decode(raw.decode("utf-8"))
    except InvalidToken:
        raise
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InvalidToken(f"{what} is not valid JSON") from exc
    if not isinstance(value, dict):
        raise InvalidToken(f"{what} is not a JSON object")
    return value


@functools.lru_cache(maxsize=64)
def _parse_header(segment: str) -> Mapping[str, Any]:
    """The protected header, decoded once per distinct segment: an issuer's tokens share a
    handful of headers (one per key), so this skips a base64 and a JSON decode per token.
    Read-only, because every caller gets the same object; failures are never cached."""
    return MappingProxyType(parse_json(b64url_decode(segment), "header"))


def parse_compact(token: str, *, max_bytes: int = DEFAULT_MAX_TOKEN_BYTES) -> CompactJws:
    """Split and decode a compact JWS. Validates syntax only, never trust."""
    if not isinstance(token, str):
        raise InvalidToken("token is not a string")
    # len() of a str counts code points; a non-ASCII token is refused just below anyway,
    # so for everything that continues, characters == bytes.
    if len(token) > max_bytes:
        raise InvalidToken(f"token longer than {max_bytes} bytes")
    if not token.isascii():
        raise InvalidToken("token is not ASCII")
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidToken(f"token has {len(parts)} segments, expected 3")
    header_b64, payload_b64, signature_b64 = parts
    if not header_b64 or not payload_b64 or not signature_b64:
        # An empty signature is the "signature stripped" / alg=none shape (RFC 7515 §A.5).
        raise InvalidToken("empty token segment")
    header = _parse_header(header_b64)
    payload = b64url_decode(payload_b64)
    signature = b64url_decode(signature_b64)
    signing_input = f"{header_b64}.{payload_b64}".encode("ascii")
    return CompactJws(header, payload, signature, signing_input)
