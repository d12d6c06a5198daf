"""Test-side issuer: keys, a JWKS endpoint on httpx.MockTransport, and a token forge.

Tokens are assembled by hand (json + base64url + ``cryptography``) rather than with a JOSE
library, so tests can produce every malformed shape the guard must refuse.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import anyio.abc
import httpx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from tenantgate.guard import RemoteKeySet, TokenVerifier

ISSUER = "https://id.tenantgate.test"
AUDIENCE = "reporting-portal"
JWKS_URI = f"{ISSUER}/jwks.json"
NOW = 1_750_000_000.0
TENANT = "tr_8f1c2a9e"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def segment(obj: Any) -> str:
    """Base64url of compact JSON (objects, arrays, strings - whatever a test needs)."""
    return b64(json.dumps(obj, separators=(",", ":")).encode())


def b64_int(value: int, length: int) -> str:
    return b64(value.to_bytes(length, "big"))


@dataclass
class SigningKey:
    kid: str
    alg: str
    private: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey

    @property
    def public(self) -> ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey:
        return self.private.public_key()

    def sign(self, signing_input: bytes) -> bytes:
        if isinstance(self.private, ec.EllipticCurvePrivateKey):
            r, s = decode_dss_signature(self.private.sign(signing_input, ec.ECDSA(hashes.SHA256())))
            return r.to_bytes(32, "big") + s.to_bytes(32, "big")  # JOSE R || S
        return self.private.sign(signing_input)

    def public_jwk(self) -> dict[str, Any]:
        pub = self.public
        if isinstance(pub, ec.EllipticCurvePublicKey):
            numbers = pub.public_numbers()
            jwk = {"kty": "EC", "crv": "P-256", "x": b64_int(numbers.x, 32)}
            jwk["y"] = b64_int(numbers.y, 32)
        else:
            from cryptography.hazmat.primitives import serialization as ser

            raw = pub.public_bytes(ser.Encoding.Raw, ser.PublicFormat.Raw)
            jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64(raw)}
        return {**jwk, "kid": self.kid, "use": "sig", "alg": self.alg}

    def private_jwk(self) -> dict[str, Any]:
        """The same JWK *with* its private part - what a JWKS must never serve."""
        jwk = self.public_jwk()
        if isinstance(self.private, ec.EllipticCurvePrivateKey):
            jwk["d"] = b64_int(self.private.private_numbers().private_value, 32)
        else:
            from cryptography.hazmat.primitives import serialization as ser

            raw = self.private.private_bytes(
                ser.Encoding.Raw, ser.PrivateFormat.Raw, ser.NoEncryption()
            )
            jwk["d"] = b64(raw)
        return jwk


def es256_key(kid: str = "es-1") -> SigningKey:
    return SigningKey(kid, "ES256", ec.generate_private_key(ec.SECP256R1()))


def eddsa_key(kid: str = "ed-1") -> SigningKey:
    return SigningKey(kid, "EdDSA", ed25519.Ed25519PrivateKey.generate())


def valid_claims(**overrides: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": "u_3b9d7c",
        "aud": AUDIENCE,
        "client_id": "admin-portal",
        "exp": int(NOW) + 1200,
        "iat": int(NOW) - 10,
        "jti": "j_5e2f41",
        "sid": "s_77a0d1",
        "kind": "admin",
        "permissions": ["reporting:view", "customers:read"],
        "tenant": TENANT,
    }
    claims.update(overrides)
    return claims


def header_for(key: SigningKey, **overrides: Any) -> dict[str, Any]:
    header: dict[str, Any] = {"alg": key.alg, "typ": "at+jwt", "kid": key.kid}
    header.update(overrides)
    return header


def sign_segments(key: SigningKey, header_b64: str, payload_b64: str) -> str:
    signature = key.sign(f"{header_b64}.{payload_b64}".encode())
    return f"{header_b64}.{payload_b64}.{b64(signature)}"


def make_token(
    key: SigningKey, claims: dict[str, Any] | None = None, header: dict[str, Any] | None = None
) -> str:
    """A correctly signed token; ``header``/``claims`` replace the valid defaults entirely."""
    return sign_segments(
        key,
        segment(header if header is not None else header_for(key)),
        segment(claims if claims is not None else valid_claims()),
    )


class FakeClock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


Responder = Callable[[httpx.Request], Awaitable[httpx.Response]]


@dataclass
class JwksEndpoint:
    """The issuer's JWKS URI on a MockTransport. Every request is recorded, whatever its URL."""

    keys: list[dict[str, Any]]
    requests: list[httpx.Request] = field(default_factory=list)
    delay: float = 0.0  # lets concurrent callers pile up while one fetch is in flight
    status: int = 200
    override: Responder | None = None

    async def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.delay:
            await anyio.sleep(self.delay)
        if self.override is not None:
            return await self.override(request)
        if str(request.url) != JWKS_URI:
            return httpx.Response(404)
        return httpx.Response(self.status, json={"keys": self.keys})

    @property
    def fetches(self) -> int:
        return len(self.requests)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.handle))


@dataclass
class Env:
    """Everything a test needs: keys, endpoint, clock, key cache and verifier."""

    es: SigningKey
    ed: SigningKey
    endpoint: JwksEndpoint
    clock: FakeClock
    keyset: RemoteKeySet
    verifier: TokenVerifier


def build_env(
    client: httpx.AsyncClient,
    endpoint: JwksEndpoint,
    es: SigningKey,
    ed: SigningKey,
    **verifier_kw: Any,
) -> Env:
    clock = FakeClock()
    keyset = RemoteKeySet(JWKS_URI, client, clock=clock)
    verifier = TokenVerifier(
        issuer=ISSUER, audience=AUDIENCE, keys=keyset, clock=clock, **verifier_kw
    )
    return Env(es, ed, endpoint, clock, keyset, verifier)


class LocalListener:
    """A real TCP listener on 127.0.0.1: counts connections an attacker URL would attract."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.connections = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/jwks.json"

    async def on_connect(self, stream: anyio.abc.SocketStream) -> None:
        self.connections += 1
        await stream.aclose()

    async def settle(self) -> None:
        """Give any stray connection attempt time to arrive before counting."""
        await anyio.sleep(0.05)
