"""SECURITY.md matrix, row "Forgery", one test per attack, at both doors that accept an
access token from outside: a portal's guard (`TokenVerifier`, built as the portals build it,
JWKS over HTTP from the running identity server) and the identity server's Bearer door
(`GET /tenants`). Thorough case tables: tests/identity/http/test_forgery.py (120+ cases at
three identity doors) and tests/guard/test_forgery.py (the guard in isolation)."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ..identity.harness import World
from ..jose_helpers import b64, es256, js, tcp_listener, unb64
from .support import Forge

pytestmark = pytest.mark.anyio

NONE_SPELLINGS = ("none", "None", "NONE", "nOnE", "none ", " none", "none\u0000", "")


def hs256(secret: bytes, signing_input: str) -> str:
    return b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())


async def test_alg_none_in_every_spelling(world: World) -> None:
    f = await Forge.of(world)
    tokens: dict[str, str] = {}
    for spelling in NONE_SPELLINGS:
        head = b64(js(f.with_header(alg=spelling)))
        tokens[f"{spelling!r} unsigned"] = f"{head}.{f.parts[1]}."
        tokens[f"{spelling!r} old signature"] = f"{head}.{f.parts[1]}.{f.parts[2]}"
    tokens["alg missing"] = f.signed({k: v for k, v in f.header.items() if k != "alg"})
    await f.refused(tokens)


async def test_signature_stripped(world: World) -> None:
    f = await Forge.of(world)
    await f.refused(
        {
            "empty third segment": f"{f.parts[0]}.{f.parts[1]}.",
            "no third segment": f"{f.parts[0]}.{f.parts[1]}",
            "signature of another token": f"{f.parts[0]}.{f.parts[1]}.{b64(b'x' * 64)}",
        }
    )


async def test_hs256_keyed_with_our_public_key(world: World) -> None:
    f = await Forge.of(world)
    public = f.real.public_key()
    secrets_by_form = {
        "PEM": public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "DER": public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "JWK": js(f.public_jwk),
        "OpenSSH": public.public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        ),
    }
    tokens = {}
    for form, secret in secrets_by_form.items():
        for alg in ("HS256", "HS384", "HS512"):
            signing_input = f"{b64(js(f.with_header(alg=alg)))}.{f.parts[1]}"
            digest = getattr(hashlib, f"sha{alg[2:]}")
            mac = b64(hmac.new(secret, signing_input.encode(), digest).digest())
            tokens[f"{alg} with {form}"] = f"{signing_input}.{mac}"
    await f.refused(tokens)


async def test_empty_hmac_secret(world: World) -> None:
    f = await Forge.of(world)
    signing_input = f"{b64(js(f.with_header(alg='HS256')))}.{f.parts[1]}"
    await f.refused({"HS256 with b''": f"{signing_input}.{hs256(b'', signing_input)}"})


async def test_embedded_jwk(world: World) -> None:
    f = await Forge.of(world)
    attacker = ec.generate_private_key(ec.SECP256R1())
    numbers = attacker.public_key().public_numbers()
    jwk = {
        "kty": "EC",
        "crv": "P-256",
        "x": b64(numbers.x.to_bytes(32, "big")),
        "y": b64(numbers.y.to_bytes(32, "big")),
    }
    tokens = {}
    for kid in (f.kid, "attacker"):
        header = f.with_header(jwk=jwk, kid=kid)
        signing_input = f"{b64(js(header))}.{f.parts[1]}"
        tokens[f"jwk, kid {kid}"] = f"{signing_input}.{es256(attacker, signing_input.encode())}"
    # Even our own key embedded, signed by us: the member alone is a refusal.
    tokens["our own jwk"] = f.signed(f.with_header(jwk=f.public_jwk))
    await f.refused(tokens)


async def test_jku_and_x5u_pointing_at_a_local_listener(world: World) -> None:
    f = await Forge.of(world)
    attacker = ec.generate_private_key(ec.SECP256R1())
    with tcp_listener() as (url, connections):
        tokens = {}
        for member in ("jku", "x5u"):
            for kid in (f.kid, "attacker-kid"):
                header = f.with_header(**{member: url, "kid": kid})
                signing_input = f"{b64(js(header))}.{f.parts[1]}"
                signature = es256(attacker, signing_input.encode())
                tokens[f"{member} kid={kid}"] = f"{signing_input}.{signature}"
            tokens[f"{member} real key"] = f.signed(f.with_header(**{member: url}))
        await f.refused(tokens)
        assert connections() == 0, "a jku/x5u URL was fetched"


async def test_all_zero_es256_signature(world: World) -> None:
    order = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
    f = await Forge.of(world)
    signing_input = f"{f.parts[0]}.{f.parts[1]}"
    await f.refused(
        {
            "r=s=0": f"{signing_input}.{b64(bytes(64))}",
            "r=s=n": f"{signing_input}.{b64(order.to_bytes(32, 'big') * 2)}",
            "DER zero": f"{signing_input}.{b64(bytes.fromhex('3006020100020100'))}",
        }
    )


@pytest.mark.parametrize(
    ("attack", "kids"),
    [
        ("path_traversal", ["../../../../etc/passwd", "..%2f..%2fkeys", "/dev/zero", "C:\\x"]),
        ("sql_fragments", ["' OR '1'='1", "x'; DROP TABLE keys;--", '" UNION SELECT 1--']),
        ("shell_metacharacters", ["$(touch /tmp/pwn)", "`id`", "a|cat /etc/passwd", "a;ls&"]),
    ],
)
async def test_kid_injection(world: World, attack: str, kids: list[str]) -> None:
    """`kid` path traversal, SQL fragments, shell metacharacters: only a lookup key — signed
    with the real key, the token is refused because no key has that id, and nothing breaks."""
    f = await Forge.of(world)
    await f.refused({kid: f.signed(f.with_header(kid=kid)) for kid in kids})
    assert (await world.http.get("/jwks.json")).status_code == 200


async def test_kid_of_10_kb(world: World) -> None:
    f = await Forge.of(world)
    # Larger than the 8 KB header limit at the identity server: 431 before any parsing.
    await f.refused({"10 KB": f.signed(f.with_header(kid="k" * 10240))}, statuses=frozenset({431}))


async def test_kid_of_wrong_types(world: World) -> None:
    f = await Forge.of(world)
    values: list[object] = [1, 0, None, True, [f.kid], {"kid": f.kid}, 1.5, ""]
    await f.refused({repr(v): f.signed(f.with_header(kid=v)) for v in values})


async def test_unknown_crit(world: World) -> None:
    f = await Forge.of(world)
    await f.refused(
        {
            "crit x-unknown": f.signed(f.with_header(crit=["x-unknown"], **{"x-unknown": 1})),
            "crit exp": f.signed(f.with_header(crit=["exp"])),
            "crit empty": f.signed(f.with_header(crit=[])),
            "crit b64": f.signed(f.with_header(crit=["b64"], b64=False)),
        }
    )


async def test_payload_edited_with_the_old_signature(world: World) -> None:
    f = await Forge.of(world)
    edits: dict[str, dict[str, Any]] = {
        "tenant added": {"tenant": "fi_attacker"},
        "permissions widened": {"permissions": ["customers:read", "customers:lock", "admin"]},
        "kind": {"kind": "employee"},
        "sub": {"sub": "someone-else"},
        "exp extended": {"exp": f.payload["exp"] + 86400},
        "aud": {"aud": "reporting-api"},
    }
    tokens = {
        name: f"{f.parts[0]}.{b64(js({**f.payload, **edit}))}.{f.parts[2]}"
        for name, edit in edits.items()
    }
    # Same JSON, other bytes (a space): the signature covers bytes, not meaning.
    spaced = json_with_space(f.parts[1])
    tokens["whitespace only"] = f"{f.parts[0]}.{spaced}.{f.parts[2]}"
    await f.refused(tokens)


def json_with_space(segment: str) -> str:
    raw = unb64(segment)
    return b64(raw[:1] + b" " + raw[1:])


async def test_two_or_four_segments(world: World) -> None:
    f = await Forge.of(world)
    await f.refused(
        {
            "2 segments": f"{f.parts[0]}.{f.parts[1]}",
            "4 segments": f"{f.token}.{f.parts[2]}",
            "4 segments, empty last": f"{f.token}.",
            "1 segment": f.parts[1],
            "5 segments (JWE shape)": f"{f.token}.x.y",
        }
    )


async def test_padding(world: World) -> None:
    f = await Forge.of(world)
    p = f.parts
    await f.refused(
        {
            "header padded": f"{p[0]}==.{p[1]}.{p[2]}",
            "payload padded": f"{p[0]}.{p[1]}=.{p[2]}",
            "signature padded": f"{p[0]}.{p[1]}.{p[2]}==",
        }
    )


async def test_bad_base64(world: World) -> None:
    f = await Forge.of(world)
    p = f.parts
    await f.refused(
        {
            "standard alphabet +/": f"{p[0]}.{p[1]}.{p[2][:-2]}+/",
            "space inside": f"{p[0]}.{p[1][:8]} {p[1][8:]}.{p[2]}",
            "bang": f"{p[0]}!.{p[1]}.{p[2]}",
            "impossible length": f"{p[0]}.{p[1]}A.{p[2]}",
            "non-ascii": f"{p[0]}.{p[1]}é.{p[2]}",
        }
    )


async def test_non_object_json(world: World) -> None:
    f = await Forge.of(world)
    tokens = {}
    for shape in ([], "x", 1, None, [f.payload]):
        tokens[f"payload {shape!r:.20}"] = f.signed_raw(js(f.header), js(shape))
        tokens[f"header {shape!r:.20}"] = f.signed_raw(js(shape), js(f.payload))
    tokens["payload not JSON"] = f.signed_raw(js(f.header), b"{not json")
    await f.refused(tokens)


async def test_duplicate_members(world: World) -> None:
    f = await Forge.of(world)
    header = js(f.header)[:-1] + b',"alg":"ES256"}'
    payload = js(f.payload)[:-1] + b',"sub":"someone-else"}'
    nested = js(f.payload)[:-1] + b',"x":{"a":1,"a":2}}'
    await f.refused(
        {
            "duplicate alg": f.signed_raw(header, js(f.payload)),
            "duplicate sub": f.signed_raw(js(f.header), payload),
            "nested duplicate": f.signed_raw(js(f.header), nested),
        }
    )
