"""Hand-made JOSE pieces for the tests that forge tokens (tests/identity/http/test_forgery.py,
tests/security/): base64url, compact JSON, raw ES256 signatures, and a TCP listener that
counts every connection attempted to a key URL nobody should fetch."""

from __future__ import annotations

import base64
import json
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def js(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def es256(private: ec.EllipticCurvePrivateKey, signing_input: bytes) -> str:
    """A JWS ES256 signature (R || S, RFC 7518 §3.4) made with ``cryptography`` directly."""
    r, s = decode_dss_signature(private.sign(signing_input, ec.ECDSA(hashes.SHA256())))
    return b64(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


@contextmanager
def tcp_listener() -> Iterator[tuple[str, Callable[[], int]]]:
    """A real TCP socket on 127.0.0.1.  Connections complete in the kernel's backlog even if
    nobody accepts, so `count()`, which drains it, counts every connection ever attempted."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    sock.setblocking(False)
    accepted: list[socket.socket] = []

    def count() -> int:
        while True:
            try:
                conn, _ = sock.accept()
            except BlockingIOError:
                return len(accepted)
            accepted.append(conn)

    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/jwks.json", count
    finally:
        for conn in accepted:
            conn.close()
        sock.close()
