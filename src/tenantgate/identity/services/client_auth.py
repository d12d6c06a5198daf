"""Confidential client authentication (RFC 6749 §2.3.1, `client_secret_basic`)."""

from __future__ import annotations

import hmac

from ..domain.accounts import Client
from ..domain.errors import InvalidClient
from ..domain.opaque_tokens import digest_opaque_token
from .context import Deps

# Compared against when the client id is unknown, so both paths cost the same.
_NO_CLIENT_DIGEST = digest_opaque_token("no-such-client")
MAX_CLIENT_ID_LENGTH = 128
MAX_CLIENT_SECRET_LENGTH = 512


async def authenticate_client(deps: Deps, client_id: str, client_secret: str) -> Client:
    if not (0 < len(client_id) <= MAX_CLIENT_ID_LENGTH) or len(client_secret) > (
        MAX_CLIENT_SECRET_LENGTH
    ):
        raise InvalidClient("client credentials out of bounds")
    client = await deps.client(client_id)
    expected = client.secret_digest if client else _NO_CLIENT_DIGEST
    matches = hmac.compare_digest(digest_opaque_token(client_secret), expected)
    if client is None or not matches:
        raise InvalidClient(f"bad credentials for client {client_id[:64]!r}")
    return client
