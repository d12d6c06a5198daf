"""SECURITY.md attack matrix, "Forgery" row, against the guard.

Each forged token is otherwise perfectly valid, so a refusal can only come from the rule
under attack; the expected private ``detail`` fragment pins which rule refused it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives import serialization as ser
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from tenantgate.guard import InvalidToken

from .support import (
    JWKS_URI,
    Env,
    LocalListener,
    b64,
    eddsa_key,
    es256_key,
    header_for,
    make_token,
    segment,
    sign_segments,
    valid_claims,
)

pytestmark = pytest.mark.anyio

Forge = Callable[[Env], str]


async def refused(env: Env, raw: object, detail: str = "") -> InvalidToken:
    with pytest.raises(InvalidToken) as info:
        await env.verifier.verify(raw)  # type: ignore[arg-type]
    exc = info.value
    assert detail in exc.detail
    # No oracle: whatever failed, the public face is identical (SECURITY.md preamble).
    assert (exc.error, exc.status_code, exc.description) == (
        "invalid_token",
        401,
        "The access token is invalid.",
    )
    return exc


def _split(raw: str) -> list[str]:
    return raw.split(".")


# --- alg none and signature stripping (RFC 8725 §2.1, §3.1) -------------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE", " none", "none\u0000"])
@pytest.mark.parametrize("signature", ["", "AAAA", "real"])
async def test_alg_none_is_refused_in_every_spelling(env: Env, alg: str, signature: str) -> None:
    h, p = segment(header_for(env.es, alg=alg)), segment(valid_claims())
    if signature == "real":  # even a signature a real key made over these bytes
        signature = _split(sign_segments(env.es, h, p))[2]
    await refused(env, f"{h}.{p}.{signature}", "" if not signature else "not allowed")
    assert env.endpoint.fetches == 0  # refused on the header, before any key lookup


@pytest.mark.parametrize(
    "strip",
    [
        pytest.param(lambda t: t.rsplit(".", 1)[0] + ".", id="empty-signature"),
        pytest.param(lambda t: t.rsplit(".", 1)[0], id="signature-segment-removed"),
    ],
)
async def test_stripped_signature_is_refused(env: Env, strip: Callable[[str], str]) -> None:
    await refused(env, strip(make_token(env.es)))


# --- HMAC with the public key as the secret (algorithm confusion, RFC 8725 §2.1) -----------


def _public_key_forms(env: Env) -> dict[str, bytes]:
    pub = env.es.public
    return {
        "pem": pub.public_bytes(ser.Encoding.PEM, ser.PublicFormat.SubjectPublicKeyInfo),
        "der": pub.public_bytes(ser.Encoding.DER, ser.PublicFormat.SubjectPublicKeyInfo),
        "openssh": pub.public_bytes(ser.Encoding.OpenSSH, ser.PublicFormat.OpenSSH),
        "raw-point": pub.public_bytes(ser.Encoding.X962, ser.PublicFormat.UncompressedPoint),
        "jwk-json": json.dumps(env.es.public_jwk()).encode(),
        "jwk-json-compact": json.dumps(env.es.public_jwk(), separators=(",", ":")).encode(),
        "empty-secret": b"",
    }


@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512", "hs256"])
@pytest.mark.parametrize(
    "form", ["pem", "der", "openssh", "raw-point", "jwk-json", "jwk-json-compact", "empty-secret"]
)
async def test_hmac_keyed_with_our_public_key_is_refused(env: Env, alg: str, form: str) -> None:
    secret = _public_key_forms(env)[form]
    digest = {"HS384": hashlib.sha384, "HS512": hashlib.sha512}.get(alg, hashlib.sha256)
    h, p = segment(header_for(env.es, alg=alg)), segment(valid_claims())
    mac = hmac.new(secret, f"{h}.{p}".encode(), digest).digest()
    await refused(env, f"{h}.{p}.{b64(mac)}", "not allowed")


@pytest.mark.parametrize("alg", ["RS256", "PS256", "ES384", "ES512", "ES256K", "Ed25519", "A"])
async def test_algorithms_outside_the_allow_list_are_refused(env: Env, alg: str) -> None:
    await refused(env, make_token(env.es, header=header_for(env.es, alg=alg)), "not allowed")


async def test_algorithm_allow_list_is_configurable(env: Env) -> None:
    from tenantgate.guard import TokenVerifier

    only_eddsa = TokenVerifier(
        issuer=env.verifier.policy.issuer,
        audience=env.verifier.policy.audience,
        keys=env.keyset,
        algorithms=frozenset({"EdDSA"}),
        clock=env.clock,
    )
    await only_eddsa.verify(make_token(env.ed))
    with pytest.raises(InvalidToken, match="not allowed"):
        await only_eddsa.verify(make_token(env.es))


@pytest.mark.parametrize(
    ("forge", "detail"),
    [
        # ES256 header, key id of the Ed25519 key: the key serves one algorithm only.
        (lambda e: make_token(e.es, header=header_for(e.es, kid=e.ed.kid)), "alg does not match"),
        (lambda e: make_token(e.ed, header=header_for(e.ed, kid=e.es.kid)), "alg does not match"),
        (lambda e: make_token(e.ed, header=header_for(e.es)), "signature"),
    ],
    ids=["es-signed-ed-kid", "ed-signed-es-kid", "ed-signature-under-es-header"],
)
async def test_key_and_algorithm_confusion_is_refused(env: Env, forge: Forge, detail: str) -> None:
    await refused(env, forge(env), detail)


# --- Header members that let the token choose its own key ----------------------------------


async def test_embedded_jwk_is_refused_even_when_it_verifies(env: Env) -> None:
    attacker = es256_key("attacker")
    header = header_for(attacker, jwk=attacker.public_jwk())
    await refused(env, make_token(attacker, header=header), "forbidden header")
    # Same with our kid: the embedded key must not replace the published one.
    header = header_for(attacker, kid=env.es.kid, jwk=attacker.public_jwk())
    await refused(env, make_token(attacker, header=header), "forbidden header")
    assert env.endpoint.fetches == 0


@pytest.mark.parametrize("member", ["jku", "x5u"])
async def test_key_urls_in_the_header_are_never_fetched(
    env: Env, local_listener: LocalListener, member: str
) -> None:
    attacker = es256_key(env.es.kid)  # same kid as ours, different key
    header = header_for(attacker, **{member: local_listener.url})
    await refused(env, make_token(attacker, header=header), "forbidden header")
    await local_listener.settle()
    assert local_listener.connections == 0  # nothing opened a socket to the attacker
    assert env.endpoint.fetches == 0  # nor asked the injected client for anything


@pytest.mark.parametrize(
    "extra",
    [
        {"x5c": ["MIIBszCCAVmgAwIBAgIU"]},
        {"x5c": []},
        {"crit": ["exp"], "exp": 1},
        {"crit": ["tenant"]},
        {"crit": []},
        {"crit": ["b64"], "b64": False},
        {"b64": False},
        {"enc": "A256GCM"},
        {"zip": "DEF"},
        {"jku": None},
        {"jwk": None},
    ],
    ids=lambda extra: "+".join(f"{k}={v}" for k, v in extra.items())[:40],
)
async def test_forbidden_header_members_are_refused(env: Env, extra: dict[str, object]) -> None:
    await refused(env, make_token(env.es, header=header_for(env.es, **extra)), "forbidden header")


# --- Signature bytes -----------------------------------------------------------------------

N_P256 = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def _with_signature(signature: bytes) -> Forge:
    def forge(env: Env) -> str:
        h, p, _ = _split(make_token(env.es))
        return f"{h}.{p}.{b64(signature)}"

    return forge


def _der_signature(env: Env) -> str:
    h, p, s = _split(make_token(env.es))
    raw = base64.urlsafe_b64decode(s + "==")
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    return f"{h}.{p}.{b64(der)}"


def _flip_signature_bit(env: Env) -> str:
    h, p, s = _split(make_token(env.es))
    raw = bytearray(base64.urlsafe_b64decode(s + "=="))
    raw[17] ^= 0x01
    return f"{h}.{p}.{b64(bytes(raw))}"


@pytest.mark.parametrize(
    ("forge", "detail"),
    [
        (_with_signature(bytes(64)), "zero component"),
        (_with_signature(bytes(32) + b"\x01" * 32), "zero component"),
        (_with_signature(b"\x01" * 32 + bytes(32)), "zero component"),
        (_with_signature(N_P256.to_bytes(32, "big") * 2), "signature does not verify"),
        (_with_signature(b"\xff" * 64), "signature does not verify"),
        (_with_signature(bytes(63)), "not 64 bytes"),
        (_with_signature(bytes(65)), "not 64 bytes"),
        (_der_signature, "not 64 bytes"),
        (_flip_signature_bit, "signature does not verify"),
    ],
    ids=[
        "all-zero",
        "r-zero",
        "s-zero",
        "r-s-equal-n",
        "all-ff",
        "63-bytes",
        "65-bytes",
        "der-encoded",
        "bit-flip",
    ],
)
async def test_bad_es256_signatures_are_refused(env: Env, forge: Forge, detail: str) -> None:
    await refused(env, forge(env), detail)


async def test_all_zero_eddsa_signature_is_refused(env: Env) -> None:
    h, p, _ = _split(make_token(env.ed))
    await refused(env, f"{h}.{p}.{b64(bytes(64))}", "signature does not verify")


async def test_token_signed_by_a_stranger_with_our_kid_is_refused(env: Env) -> None:
    await refused(env, make_token(es256_key(env.es.kid)), "signature does not verify")
    await refused(env, make_token(eddsa_key(env.ed.kid)), "signature does not verify")


# --- Edited content under the old signature ------------------------------------------------


@pytest.mark.parametrize(
    "edit",
    [
        {"tenant": "tr_other_bank"},
        {"permissions": ["reporting:view", "customers:read", "customers:lock"]},
        {"exp": 4_000_000_000},
        {"sub": "u_admin"},
        {"kind": "admin", "aud": "admin-portal"},
    ],
    ids=["tenant", "permissions", "exp", "sub", "aud"],
)
async def test_payload_edited_under_the_old_signature_is_refused(
    env: Env, edit: dict[str, object]
) -> None:
    h, _, s = _split(make_token(env.es))
    await refused(env, f"{h}.{segment(valid_claims(**edit))}.{s}", "signature does not verify")


async def test_header_edited_under_the_old_signature_is_refused(env: Env) -> None:
    _, p, s = _split(make_token(env.es))
    h = segment({"typ": "at+jwt", "alg": "ES256", "kid": env.es.kid})  # same meaning, new bytes
    await refused(env, f"{h}.{p}.{s}", "signature does not verify")


# --- kid is only a lookup key -------------------------------------------------------------

HOSTILE_KIDS = [
    "../../../../etc/passwd",
    "..%2F..%2Fkeys%2Fes-1",
    "/dev/null",
    "file:///etc/passwd",
    "' OR '1'='1",
    "es-1' --",
    'es-1"; DROP TABLE keys; --',
    "$(id)",
    "`id`",
    "es-1; rm -rf /",
    "es-1 | nc 127.0.0.1 9",
    "es-1\u0000",
    "ES-1",
    " es-1",
    "",
    "k" * 129,
]


@pytest.mark.parametrize("kid", HOSTILE_KIDS, ids=lambda k: repr(k)[:24])
async def test_hostile_kid_values_are_refused_and_only_the_jwks_uri_is_asked(
    env: Env, kid: str
) -> None:
    await refused(env, make_token(env.es, header=header_for(env.es, kid=kid)))
    assert env.endpoint.fetches <= 1
    assert all(str(r.url) == JWKS_URI for r in env.endpoint.requests)


@pytest.mark.parametrize("kid", [1, 0, ["es-1"], None, {"kid": "es-1"}, True, 1.5])
async def test_kid_of_wrong_type_is_refused(env: Env, kid: object) -> None:
    await refused(env, make_token(env.es, header=header_for(env.es, kid=kid)), "kid")
    assert env.endpoint.fetches == 0


async def test_10_kb_kid_is_refused_before_parsing(env: Env) -> None:
    await refused(env, make_token(env.es, header=header_for(env.es, kid="k" * 10_240)), "longer")


async def test_missing_kid_is_refused(env: Env) -> None:
    header = header_for(env.es)
    del header["kid"]
    await refused(env, make_token(env.es, header=header), "kid")


# --- Strict compact serialization (RFC 7515 §3.1, §7.1) ------------------------------------


def _pad(index: int) -> Forge:
    def forge(env: Env) -> str:
        parts = _split(make_token(env.es))
        parts[index] += "=" * (-len(parts[index]) % 4 or 2)
        return ".".join(parts)

    return forge


def _replace(index: int, value: str) -> Forge:
    def forge(env: Env) -> str:
        parts = _split(make_token(env.es))
        parts[index] = value
        return ".".join(parts)

    return forge


def _standard_alphabet(env: Env) -> str:
    # Find a validly signed token whose signature uses "-" or "_", then respell it as +/.
    for _ in range(64):
        h, p, s = _split(make_token(env.es))
        if "-" in s or "_" in s:
            return f"{h}.{p}.{s.replace('-', '+').replace('_', '/')}"
    raise AssertionError("no signature with - or _ in 64 tries")


def _non_canonical_trailing_bits(env: Env) -> str:
    h, p, s = _split(make_token(env.ed))  # 64 bytes -> 86 chars, last char carries 4 spare bits
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet[alphabet.index(s[-1]) ^ 0x01]  # flip a bit that decoding discards
    return f"{h}.{p}.{s[:-1]}{last}"


@pytest.mark.parametrize(
    ("forge", "detail"),
    [
        (lambda e: ".".join(_split(make_token(e.es))[:2]), "2 segments"),
        (lambda e: make_token(e.es) + ".", "4 segments"),
        (lambda e: make_token(e.es) + ".AAAA", "4 segments"),
        (lambda e: make_token(e.es) + ".a.b", "5 segments"),
        (lambda e: "." + make_token(e.es), "4 segments"),
        (_pad(0), "base64url"),
        (_pad(1), "base64url"),
        (_pad(2), "base64url"),
        (_replace(1, "!!!!"), "base64url"),
        (_replace(1, "eyJ hIjoxfQ"), "base64url"),
        (_replace(1, "A"), "base64url"),
        (_replace(0, "é" + segment(header_for(es256_key()))), "ASCII"),
        (_standard_alphabet, "base64url"),
        (_non_canonical_trailing_bits, "canonical"),
        (lambda e: "", "1 segments"),
        (lambda e: "..", "empty"),
        (lambda e: make_token(e.es).replace(".", ".\n", 1), "base64url"),
    ],
    ids=[
        "2-segments",
        "4-segments-empty",
        "4-segments",
        "5-segments-jwe-shape",
        "leading-dot",
        "padded-header",
        "padded-payload",
        "padded-signature",
        "bang",
        "space",
        "one-char",
        "non-ascii",
        "standard-alphabet",
        "non-canonical-bits",
        "empty",
        "dots-only",
        "newline",
    ],
)
async def test_malformed_compact_serialization_is_refused(
    env: Env, forge: Forge, detail: str
) -> None:
    await refused(env, forge(env), detail)


@pytest.mark.parametrize("value", [[], "at+jwt", 1, None, True], ids=repr)
async def test_header_that_is_not_a_json_object_is_refused(env: Env, value: object) -> None:
    h, p = segment(value), segment(valid_claims())
    await refused(env, sign_segments(env.es, h, p), "not a JSON object")


@pytest.mark.parametrize("value", [[valid_claims()], "claims", 1, None, 1.5], ids=repr)
async def test_signed_payload_that_is_not_a_json_object_is_refused(env: Env, value: object) -> None:
    await refused(env, sign_segments(env.es, segment(header_for(env.es)), segment(value)), "object")


@pytest.mark.parametrize(
    ("header_json", "payload_json"),
    [
        ('{"alg":"ES256","typ":"at+jwt","kid":"es-1","alg":"none"}', None),
        ('{"alg":"ES256","typ":"at+jwt","kid":"es-1","kid":"ed-1"}', None),
        (None, '"tenant":"tr_8f1c2a9e","tenant":"tr_other_bank"'),
        (None, '"aud":"admin-portal","aud":"reporting-portal"'),
    ],
    ids=["header-alg", "header-kid", "payload-tenant", "payload-aud"],
)
async def test_duplicate_json_members_are_refused(
    env: Env, header_json: str | None, payload_json: str | None
) -> None:
    h = b64(header_json.encode()) if header_json else segment(header_for(env.es))
    claims = valid_claims()
    if payload_json:
        del claims["tenant"], claims["aud"]
        body = json.dumps(claims, separators=(",", ":"))[:-1] + "," + payload_json + "}"
        p = b64(body.encode())
    else:
        p = segment(claims)
    await refused(env, sign_segments(env.es, h, p), "duplicate JSON member")


@pytest.mark.parametrize(
    "payload",
    [b'{"exp":NaN}', b'{"exp":Infinity}', b"\xff\xfe{}", b"{", b"[" * 5000 + b"]" * 5000],
    ids=["nan", "infinity", "not-utf8", "truncated", "deep-nesting"],
)
async def test_signed_payload_that_is_not_strict_json_is_refused(env: Env, payload: bytes) -> None:
    await refused(env, sign_segments(env.es, segment(header_for(env.es)), b64(payload)))


@pytest.mark.parametrize("size", [8193, 100 * 1024, 1024 * 1024])
async def test_oversize_tokens_are_refused_before_parsing(env: Env, size: int) -> None:
    await refused(env, "A" * size, "longer than 8192")


@pytest.mark.parametrize("raw", [None, b"a.b.c", 123, ["a", "b", "c"]], ids=repr)
async def test_non_string_tokens_are_refused(env: Env, raw: object) -> None:
    await refused(env, raw, "not a string")


async def test_the_local_listener_spy_does_count_connections(
    local_listener: LocalListener,
) -> None:
    # Control for the jku/x5u test above: a real fetch of the URL *is* seen.
    import httpx

    async with httpx.AsyncClient() as client:
        with pytest.raises(httpx.RemoteProtocolError):  # the spy hangs up without answering
            await client.get(local_listener.url)
    await local_listener.settle()
    assert local_listener.connections == 1
