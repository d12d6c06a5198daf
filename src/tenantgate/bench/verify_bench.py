"""Access-token verification in `guard`, beside a raw `cryptography` ES256 verification of
the same signature: the physical limit for the check itself."""

from __future__ import annotations

import asyncio
import base64
import secrets
import time
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from ..guard.jwks import StaticKeySource
from ..guard.keys import KeySet
from ..guard.verify import TokenVerifier
from ..identity.domain.access_tokens import AccessTokenClaims, issue_access_token
from ..identity.domain.keys import generate_signing_key, open_signing_key
from .stats import figure

ISSUER = "https://identity.bench"
ROUNDS = 200  # tokens per round: ~20 ms, short enough that both sides of a pair see one machine
PAIRS = 60


def _token() -> tuple[str, dict[str, Any]]:
    kek = secrets.token_bytes(32)
    key = open_signing_key(generate_signing_key(kek, time.time()), kek)
    now = int(time.time())
    claims = AccessTokenClaims(
        ISSUER,
        "u_bench",
        "admin-api",
        "admin-portal",
        now,
        now + 1200,
        "j",
        "s",
        "admin",
        ("customers:read",),
        "fi_" + "a" * 24,
    )
    return issue_access_token(claims, key), key.public_jwk


def run_verify_benchmarks(repeats: int) -> dict[str, Any]:
    token, jwk = _token()
    keys = KeySet.from_jwks({"keys": [jwk]})
    verifier = TokenVerifier(issuer=ISSUER, audience="admin-api", keys=StaticKeySource(keys))
    header, payload, signature = token.split(".")
    raw = base64.urlsafe_b64decode(signature + "==")
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    public = ec.EllipticCurvePublicNumbers(
        int.from_bytes(base64.urlsafe_b64decode(jwk["x"] + "=="), "big"),
        int.from_bytes(base64.urlsafe_b64decode(jwk["y"] + "=="), "big"),
        ec.SECP256R1(),
    ).public_key()
    signing_input = f"{header}.{payload}".encode()

    async def guard_round() -> float:
        started = time.perf_counter()
        for _ in range(ROUNDS):
            await verifier.verify(token)
        return (time.perf_counter() - started) / ROUNDS * 1e6

    def raw_round() -> float:
        started = time.perf_counter()
        for _ in range(ROUNDS):
            public.verify(der, signing_input, ec.ECDSA(hashes.SHA256()))
        return (time.perf_counter() - started) / ROUNDS * 1e6

    # Rounds alternate, so each ratio compares figures taken under the same machine load.
    # They are short and many: on a shared 2-vCPU machine the speed drifts within a second
    # (rounds of 2000 tokens gave pair ratios from 1.24 to 1.69 in one run), and the median
    # of many short pairs is what a drifting machine cannot move much.
    guard: list[float] = []
    plain: list[float] = []

    async def alternate() -> None:
        raw_round()  # warm-up, both sides
        await guard_round()
        for pair in range(max(PAIRS, repeats)):
            if pair % 2:  # and which goes first alternates too
                plain.append(raw_round())
                guard.append(await guard_round())
            else:
                guard.append(await guard_round())
                plain.append(raw_round())

    asyncio.run(alternate())
    ratio = [g / r for g, r in zip(guard, plain, strict=True)]
    return {
        "guard_verify": figure(guard, "µs/token"),
        "raw_cryptography_verify": figure(plain, "µs/token"),
        "guard_over_raw": figure(ratio, "×"),
    }
