"""Reading OAuth requests: form-encoded bodies (RFC 6749 §3.2), no repeated parameters
(§3.1), HTTP Basic client credentials (§2.3.1)."""

from __future__ import annotations

import base64
import binascii
from urllib.parse import parse_qsl, unquote_plus

from starlette.requests import Request

from ...web_limits import MAX_BODY_BYTES, MAX_FORM_FIELDS
from ..domain.errors import InvalidClient, InvalidRequest

FORM_TYPE = "application/x-www-form-urlencoded"


async def read_form(request: Request) -> dict[str, str]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != FORM_TYPE:
        raise InvalidRequest("body must be application/x-www-form-urlencoded")
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise InvalidRequest("body too large")
    return parse_form(body)


def parse_form(body: bytes) -> dict[str, str]:
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(
            text, keep_blank_values=True, strict_parsing=False, max_num_fields=MAX_FORM_FIELDS
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidRequest("malformed form body") from exc
    form: dict[str, str] = {}
    for key, value in pairs:
        if key in form:
            raise InvalidRequest("a parameter appears more than once")
        if "\x00" in key or "\x00" in value:
            raise InvalidRequest("malformed form body")
        form[key] = value
    return form


def basic_credentials(request: Request) -> tuple[str, str]:
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        raise InvalidClient("no client authentication")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidClient("malformed Basic credentials") from exc
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise InvalidClient("malformed Basic credentials")
    return unquote_plus(client_id), unquote_plus(secret)


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
