"""Strict parsing of compact JOSE serializations and of the JSON inside them (RFC 7515 §7.1,
RFC 7516 §7.1, RFC 8725 §3.1–3.2, §3.10): table-driven malformed inputs against
`compact`, `strict_json`, `verify_access_token` and `open_sso_token`, all with injected time.

Tokens are assembled by hand (ES256 with `cryptography`, `dir`+A256GCM with AESGCM) so that
no library refuses to build a malformed one; a control case proves each builder makes tokens
the real verifier accepts.
"""

from __future__ import annotations

import base64
import json
import os
import statistics
import time
import zlib
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from joserfc.jwk import ECKey, OctKey

from tenantgate.identity.domain.access_tokens import (
    AccessTokenClaims,
    AccessTokenRejected,
    verify_access_token,
)
from tenantgate.identity.domain.compact import (
    FORBIDDEN_HEADER_PARAMETERS,
    MAX_TOKEN_LENGTH,
    MalformedToken,
    b64url_decode,
    parse_header,
    split_compact,
)
from tenantgate.identity.domain.keys import EncryptionKey, SigningKey
from tenantgate.identity.domain.sso_tokens import SsoClaims, SsoTokenRefused, open_sso_token
from tenantgate.identity.domain.strict_json import StrictJsonError, parse_json_object

ISSUER = "https://identity.example"
NOW = 1_900_000_000
LEEWAY = 5
KID = "sig-1"
SSO_KID = "sso-1"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def js(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


# -- keys and hand-made tokens ------------------------------------------------------------

_EC = ECKey.generate_key("P-256", private=True)
SIGNING = SigningKey(KID, "ES256", _EC, {**_EC.as_dict(private=False), "kid": KID})


def _ec_private(key: ECKey) -> ec.EllipticCurvePrivateKey:
    private = key.private_key
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    return private


_PRIVATE = _ec_private(_EC)
_SSO_SECRET = os.urandom(32)
SSO = EncryptionKey(SSO_KID, OctKey.import_key(_SSO_SECRET))

HEADER: dict[str, Any] = {"alg": "ES256", "typ": "at+jwt", "kid": KID}
CLAIMS: dict[str, Any] = {
    "iss": ISSUER,
    "sub": "u_abc",
    "aud": "admin-api",
    "client_id": "admin-portal",
    "iat": NOW,
    "exp": NOW + 1200,
    "jti": "j1",
    "sid": "s1",
    "kind": "admin",
    "permissions": ["customers:read"],
    "tenant": "fi_" + "a" * 24,
}


def jws(header: bytes | dict[str, Any] = HEADER, payload: bytes | dict[str, Any] = CLAIMS) -> str:
    """ES256 over arbitrary header and payload bytes, signed with the trusted key."""
    h = header if isinstance(header, bytes) else js(header)
    p = payload if isinstance(payload, bytes) else js(payload)
    signing_input = f"{b64(h)}.{b64(p)}".encode()
    r, s = decode_dss_signature(_PRIVATE.sign(signing_input, ec.ECDSA(hashes.SHA256())))
    return f"{signing_input.decode()}.{b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def claims(**changes: Any) -> dict[str, Any]:
    merged = {**CLAIMS, **changes}
    return {k: v for k, v in merged.items() if v is not None}


def verify(token: Any, *, now: float = NOW, seen: list[Any] | None = None) -> AccessTokenClaims:
    def keys(kid: str) -> SigningKey | None:
        if seen is not None:
            seen.append(kid)
        return SIGNING if kid == KID else None

    return verify_access_token(
        token, keys=keys, issuer=ISSUER, now=now, leeway=LEEWAY, audiences=("admin-api",)
    )


SSO_HEADER: dict[str, Any] = {"alg": "dir", "enc": "A256GCM", "typ": "tg-sso+jwe", "kid": SSO_KID}
SSO_CLAIMS: dict[str, Any] = {
    "iss": ISSUER,
    "aud": "reporting-portal",
    "uid": 7,
    "sub": "u_admin",
    "tid": 3,
    "sid": "s-admin",
    "azp": "admin-portal",
    "jti": "jti-1",
    "iat": NOW,
    "exp": NOW + 120,
}


def jwe(
    header: bytes | dict[str, Any] = SSO_HEADER,
    plaintext: bytes | dict[str, Any] = SSO_CLAIMS,
    *,
    secret: bytes = _SSO_SECRET,
    deflate: bool = False,
    iv_bytes: int = 12,
) -> str:
    """`dir` + A256GCM compact JWE by hand (RFC 7516 §5.1)."""
    h = b64(header if isinstance(header, bytes) else js(header))
    data = plaintext if isinstance(plaintext, bytes) else js(plaintext)
    if deflate:
        compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
        data = compressor.compress(data) + compressor.flush()
    iv = os.urandom(iv_bytes)
    sealed = AESGCM(secret).encrypt(iv, data, h.encode("ascii"))
    return f"{h}..{b64(iv)}.{b64(sealed[:-16])}.{b64(sealed[-16:])}"


def open_sso(token: Any, *, now: float = NOW, seen: list[Any] | None = None) -> SsoClaims:
    def keys(kid: str) -> EncryptionKey | None:
        if seen is not None:
            seen.append(kid)
        return SSO if kid == SSO_KID else None

    return open_sso_token(
        token, keys=keys, issuer=ISSUER, audience="reporting-portal", now=now, leeway=LEEWAY
    )


# -- controls: the builders make tokens the verifiers accept ------------------------------


def test_control_hand_made_jws_verifies() -> None:
    verified = verify(jws())
    assert verified.subject == "u_abc"
    assert verified.tenant == CLAIMS["tenant"]


def test_control_hand_made_jwe_opens() -> None:
    assert open_sso(jwe()).jwt_id == "jti-1"


# -- strict_json ----------------------------------------------------------------------------

NOT_OBJECTS = [b"[]", b'"x"', b"1", b"1.5", b"null", b"true", b"false"]
NOT_JSON = [
    b"",
    b" ",
    b"{",
    b"{'a':1}",
    b'{"a":1,}',
    b'{"a":1}{}',
    b'{"a":1} x',
    b'{"a":1}\x00',
    b"{a:1}",
    b'{"a":NaN}',
    b'{"a":Infinity}',
    b'{"a":-Infinity}',
    b'{"a":[NaN]}',
    b"\xff",
    b'{"a":"\xff"}',
    b'{"a":"\xc0\xae"}',  # overlong UTF-8 for "."
    b"[" * 100_000 + b"]" * 100_000,
    b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
    b"{" * 100_000,
]
DUPLICATES = [
    b'{"a":1,"a":1}',
    b'{"a":1,"a":2}',
    b'{"alg":"none","alg":"ES256"}',
    b'{"a":{"b":1,"b":2}}',
    b'{"a":[{"b":1,"b":2}]}',
    b'{"a":1,"\\u0061":2}',  # the same member name, escaped
]


@pytest.mark.parametrize("data", NOT_OBJECTS, ids=repr)
def test_json_that_is_not_an_object_is_refused(data: bytes) -> None:
    with pytest.raises(StrictJsonError, match="not a JSON object"):
        parse_json_object(data)


@pytest.mark.parametrize("data", NOT_JSON, ids=lambda d: repr(d[:24]))
def test_malformed_json_is_refused(data: bytes) -> None:
    with pytest.raises(StrictJsonError):
        parse_json_object(data)


@pytest.mark.parametrize("data", DUPLICATES, ids=repr)
def test_duplicate_members_are_refused_at_any_depth(data: bytes) -> None:
    with pytest.raises(StrictJsonError, match="duplicate"):
        parse_json_object(data)


def test_a_plain_object_is_parsed() -> None:
    assert parse_json_object(b' {"a": [1, {"b": null}], "c": "\\u00e9"} ') == {
        "a": [1, {"b": None}],
        "c": "é",
    }


def test_a_huge_integer_is_a_strict_json_error() -> None:
    with pytest.raises(StrictJsonError):
        parse_json_object(b'{"a":' + b"9" * 5000 + b"}")


@pytest.mark.parametrize(
    "data",
    [
        '{"a":1}'.encode("utf-16"),
        '{"a":1}'.encode("utf-16-le"),
        '{"a":1}'.encode("utf-32"),
        b'\xef\xbb\xbf{"a":1}',
    ],
    ids=["utf-16", "utf-16-le", "utf-32", "utf-8-bom"],
)
def test_json_that_is_not_plain_utf8_is_refused(data: bytes) -> None:
    with pytest.raises(StrictJsonError):
        parse_json_object(data)


# -- compact: segments and base64url --------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "segments"),
    [
        ("a.b", 3),
        ("a.b.c.d", 3),
        ("a.b.c.", 3),
        (".a.b.c", 3),
        ("abc", 3),
        ("a.b.c", 5),
        ("a.b.c.d.e.f", 5),
        ("a..b.c", 5),
        ("", 3),
        ("." * 2, 2),
        ("a.b.\u00e9", 3),
        ("a.b.c\u200b", 3),
        ("a" * (MAX_TOKEN_LENGTH - 3) + ".b.c", 3),
        ("a" * 100_000 + ".b.c", 3),
    ],
    ids=lambda v: repr(v)[:30] if isinstance(v, str) else str(v),
)
def test_split_compact_refuses_bad_shapes(token: str, segments: int) -> None:
    with pytest.raises(MalformedToken):
        split_compact(token, segments)


@pytest.mark.parametrize("token", [None, b"a.b.c", 1, ["a", "b", "c"], {"a": "b"}], ids=repr)
def test_split_compact_refuses_non_strings(token: Any) -> None:
    with pytest.raises(MalformedToken):
        split_compact(token, 3)


def test_split_compact_accepts_exactly_the_limit() -> None:
    token = "a" * (MAX_TOKEN_LENGTH - 4) + ".b.c"
    assert len(token) == MAX_TOKEN_LENGTH
    assert split_compact(token, 3) == ["a" * (MAX_TOKEN_LENGTH - 4), "b", "c"]
    assert split_compact("a..b.c.d", 5) == ["a", "", "b", "c", "d"]


@pytest.mark.parametrize(
    "segment",
    [
        "e30=",
        "e30==",
        "eyJ=",
        "e3+=",
        "ab+c",
        "ab/c",
        "ab c",
        "ab\nc",
        "ab\tc",
        "ab.c",
        "a%3D",
        "e30\x00",
        "\u00e9e30",
        "A",
        "AAAAA",
        "e30*",
        "e30!",
    ],
    ids=repr,
)
def test_b64url_decode_refuses_padding_and_foreign_characters(segment: str) -> None:
    with pytest.raises(MalformedToken):
        b64url_decode(segment)


@pytest.mark.parametrize(
    ("segment", "decoded"),
    [("", b""), ("e30", b"{}"), ("_-8", b"\xff\xef"), ("AA", b"\x00"), ("AAA", b"\x00\x00")],
)
def test_b64url_decode_accepts_unpadded_base64url(segment: str, decoded: bytes) -> None:
    assert b64url_decode(segment) == decoded


# -- compact: headers -----------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(FORBIDDEN_HEADER_PARAMETERS))
def test_key_carrying_and_crit_header_parameters_are_refused(name: str) -> None:
    with pytest.raises(MalformedToken, match="forbidden"):
        parse_header(b64(js({**HEADER, name: "http://127.0.0.1:9/x"})))


def test_the_forbidden_set_covers_the_security_md_list() -> None:
    assert {"jku", "jwk", "x5u", "x5c", "crit"} <= FORBIDDEN_HEADER_PARAMETERS


@pytest.mark.parametrize(
    "kid",
    ["", "k" * 129, "k" * 10_240, 1, 0, 1.5, True, False, ["k"], {"kid": "k"}, [], {}],
    ids=lambda k: repr(k)[:20],
)
def test_kid_of_wrong_type_or_length_is_refused(kid: Any) -> None:
    with pytest.raises(MalformedToken, match="kid"):
        parse_header(b64(js({**HEADER, "kid": kid})))


@pytest.mark.parametrize(
    "kid",
    ["k", "k" * 128, "../../etc/passwd", "' OR 1=1--", "$(id)", ";reboot", "`id`", "%00", "é"],
)
def test_odd_but_bounded_string_kids_are_left_to_the_key_lookup(kid: str) -> None:
    assert parse_header(b64(js({**HEADER, "kid": kid})))["kid"] == kid


@pytest.mark.parametrize(
    "raw",
    [*NOT_OBJECTS, *DUPLICATES[:3], b"", b"{", b'{"alg":NaN}', b"[" * 5000 + b"]" * 5000],
    ids=lambda r: repr(r[:24]),
)
def test_parse_header_refuses_non_object_and_duplicate_json(raw: bytes) -> None:
    with pytest.raises(MalformedToken, match="header"):
        parse_header(b64(raw))


# -- verify_access_token ---------------------------------------------------------------------

ES_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def _replace(token: str, index: int, segment: str) -> str:
    parts = token.split(".")
    parts[index] = segment
    return ".".join(parts)


def _cut(token: str, index: int, length: int) -> str:
    """Segment *index* truncated to *length* bytes."""
    parts = token.split(".")
    raw = base64.urlsafe_b64decode(parts[index] + "=" * (-len(parts[index]) % 4))
    parts[index] = b64(raw[:length])
    return ".".join(parts)


def _der_signature(token: str) -> str:
    """The same signature, DER-encoded (what ECDSA APIs return; JWS wants R || S)."""
    parts = token.split(".")
    raw = base64.urlsafe_b64decode(parts[2] + "=" * (-len(parts[2]) % 4))
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    parts[2] = b64(der)
    return ".".join(parts)


def _tag_in_ciphertext(token: str) -> str:
    """Ciphertext and tag joined in the ciphertext segment, the tag segment empty."""
    parts = token.split(".")
    joined = [base64.urlsafe_b64decode(part + "==") for part in parts[3:]]
    parts[3:] = [b64(b"".join(joined)), ""]
    return ".".join(parts)


def _unsigned(header: dict[str, Any]) -> str:
    return f"{b64(js(header))}.{b64(js(CLAIMS))}."


AccessCase = Callable[[], str]
ACCESS_REFUSALS: list[tuple[str, AccessCase, str]] = [
    ("alg none unsigned", lambda: _unsigned({**HEADER, "alg": "none"}), "algorithm"),
    ("alg None unsigned", lambda: _unsigned({**HEADER, "alg": "None"}), "algorithm"),
    ("alg NONE signed", lambda: jws({**HEADER, "alg": "NONE"}), "algorithm"),
    ("alg nOnE signed", lambda: jws({**HEADER, "alg": "nOnE"}), "algorithm"),
    ("alg HS256", lambda: jws({**HEADER, "alg": "HS256"}), "algorithm"),
    ("alg es256", lambda: jws({**HEADER, "alg": "es256"}), "algorithm"),
    ("alg missing", lambda: jws({"typ": "at+jwt", "kid": KID}), "algorithm"),
    ("alg list", lambda: jws({**HEADER, "alg": ["ES256"]}), "algorithm"),
    ("typ JWT", lambda: jws({**HEADER, "typ": "JWT"}), "typ"),
    ("typ missing", lambda: jws({"alg": "ES256", "kid": KID}), "typ"),
    ("typ null", lambda: jws({**HEADER, "typ": None}), "typ"),
    ("typ SSO", lambda: jws({**HEADER, "typ": "tg-sso+jwe"}), "typ"),
    ("kid unknown", lambda: jws({**HEADER, "kid": "other"}), "unknown kid"),
    ("kid missing", lambda: jws({"alg": "ES256", "typ": "at+jwt"}), "unknown kid"),
    ("kid null", lambda: jws({**HEADER, "kid": None}), "unknown kid"),
    ("kid traversal", lambda: jws({**HEADER, "kid": "../../etc/passwd"}), "unknown kid"),
    ("kid int", lambda: jws({**HEADER, "kid": 1}), "malformed"),
    ("jwk header", lambda: jws({**HEADER, "jwk": SIGNING.public_jwk}), "malformed"),
    ("jku header", lambda: jws({**HEADER, "jku": "http://127.0.0.1:9"}), "malformed"),
    ("crit unknown", lambda: jws({**HEADER, "crit": ["x"], "x": 1}), "malformed"),
    ("header dup", lambda: jws(js(HEADER)[:-1] + b',"alg":"ES256"}'), "malformed"),
    ("2 segments", lambda: jws().rsplit(".", 1)[0], "malformed"),
    ("4 segments", lambda: jws() + ".x", "malformed"),
    ("signature stripped", lambda: jws().rsplit(".", 1)[0] + ".", "signature"),
    ("all-zero signature", lambda: _replace(jws(), 2, b64(bytes(64))), "signature"),
    ("r = s = n", lambda: _replace(jws(), 2, b64(ES_ORDER.to_bytes(32, "big") * 2)), "signature"),
    ("signature padded", lambda: jws() + "=", "signature"),
    ("signature DER-encoded", lambda: _der_signature(jws()), "signature"),
    ("signature cut to 63 bytes", lambda: _cut(jws(), 2, 63), "signature"),
    ("header padded", lambda: _replace(jws(), 0, jws().split(".")[0] + "="), "malformed"),
    ("payload padded", lambda: _replace(jws(), 1, jws().split(".")[1] + "="), "signature"),
    (
        "payload edited",
        lambda: _replace(jws(), 1, b64(js(claims(tenant="fi_" + "b" * 24)))),
        "signature",
    ),
    ("payload array", lambda: jws(payload=b"[]"), "signature or payload"),
    ("payload string", lambda: jws(payload=b'"x"'), "signature or payload"),
    ("payload number", lambda: jws(payload=b"1"), "signature or payload"),
    ("payload null", lambda: jws(payload=b"null"), "signature or payload"),
    (
        "payload dup tenant",
        lambda: jws(payload=js(CLAIMS)[:-1] + b',"tenant":"x"}'),
        "signature or payload",
    ),
    ("payload NaN", lambda: jws(payload=js(CLAIMS)[:-1] + b',"x":NaN}'), "signature or payload"),
    (
        "payload huge int",
        lambda: jws(payload=js(CLAIMS)[:-1] + b',"x":' + b"9" * 5000 + b"}"),
        "signature or payload",
    ),
    (
        "payload deep",
        lambda: jws(payload=b'{"x":' + b"[" * 3000 + b"]" * 3000 + b"}"),
        "signature or payload",
    ),
    ("exp missing", lambda: jws(payload=claims(exp=None)), "time claim"),
    ("exp string", lambda: jws(payload=claims(exp=str(NOW + 1200))), "time claim"),
    ("exp float", lambda: jws(payload=claims(exp=NOW + 1200.0)), "time claim"),
    ("exp bool", lambda: jws(payload=claims(exp=True)), "time claim"),
    ("iat missing", lambda: jws(payload=claims(iat=None)), "time claim"),
    ("sub int", lambda: jws(payload=claims(sub=1)), "claim types"),
    ("iss missing", lambda: jws(payload=claims(iss=None)), "claim types"),
    ("aud list", lambda: jws(payload=claims(aud=["admin-api"])), "claim types"),
    (
        "permissions string",
        lambda: jws(payload=claims(permissions="customers:read")),
        "permissions",
    ),
    ("permissions ints", lambda: jws(payload=claims(permissions=[1])), "permissions"),
    ("tenant int", lambda: jws(payload=claims(tenant=3)), "tenant"),
    ("iss other", lambda: jws(payload=claims(iss=ISSUER + ".evil")), "issuer"),
    ("aud other", lambda: jws(payload=claims(aud="reporting-api")), "audience"),
    ("expired", lambda: jws(payload=claims(exp=NOW - LEEWAY - 1)), "expired"),
    ("nbf future", lambda: jws(payload=claims(nbf=NOW + LEEWAY + 1)), "not yet valid"),
    ("nbf string", lambda: jws(payload=claims(nbf=str(NOW))), "not yet valid"),
    ("nbf float", lambda: jws(payload=claims(nbf=float(NOW))), "not yet valid"),
    ("iat future", lambda: jws(payload=claims(iat=NOW + LEEWAY + 1)), "future"),
]


@pytest.mark.parametrize(
    ("build", "reason"), [pytest.param(b, r, id=n) for n, b, r in ACCESS_REFUSALS]
)
def test_access_token_refusals(build: AccessCase, reason: str) -> None:
    with pytest.raises(AccessTokenRejected, match=reason):
        verify(build())


@pytest.mark.parametrize(
    "token", [None, b"a.b.c", 3, "", "a" * (MAX_TOKEN_LENGTH + 1)], ids=lambda t: repr(t)[:20]
)
def test_access_token_non_strings_and_oversize_are_malformed(token: Any) -> None:
    with pytest.raises(AccessTokenRejected, match="malformed"):
        verify(token)


@pytest.mark.parametrize(
    "header",
    [
        {**HEADER, "jku": "http://127.0.0.1:9/jwks"},
        {**HEADER, "alg": "none"},
        {**HEADER, "typ": "JWT"},
        {**HEADER, "kid": 7},
    ],
    ids=["jku", "alg-none", "typ-jwt", "kid-int"],
)
def test_header_policy_runs_before_any_key_lookup(header: dict[str, Any]) -> None:
    seen: list[Any] = []
    with pytest.raises(AccessTokenRejected):
        verify(jws(header), seen=seen)
    assert seen == []


@pytest.mark.parametrize(
    ("now", "accepted"),
    [
        (NOW + 1200 + LEEWAY, True),
        (NOW + 1200 + LEEWAY + 1, False),
        (NOW - LEEWAY, True),
        (NOW - LEEWAY - 1, False),  # iat in the future beyond leeway
    ],
)
def test_time_edges_with_injected_now(now: int, accepted: bool) -> None:
    token = jws()
    if accepted:
        assert verify(token, now=now).jwt_id == "j1"
    else:
        with pytest.raises(AccessTokenRejected):
            verify(token, now=now)


def test_nbf_is_honoured_at_its_edge() -> None:
    token = jws(payload=claims(nbf=NOW + 60))
    with pytest.raises(AccessTokenRejected, match="not yet valid"):
        verify(token, now=NOW + 60 - LEEWAY - 1)
    assert verify(token, now=NOW + 60 - LEEWAY).subject == "u_abc"


# -- open_sso_token ---------------------------------------------------------------------------

PBES2_HEADER: dict[str, Any] = {
    "alg": "PBES2-HS512+A256KW",
    "enc": "A256GCM",
    "p2s": b64(b"saltsaltsaltsalt"),
    "p2c": 2_147_483_647,
    "typ": "tg-sso+jwe",
    "kid": SSO_KID,
}


def _pbes2_token(**header: Any) -> str:
    merged = {**PBES2_HEADER, **header}
    h = b64(js({k: v for k, v in merged.items() if v is not None}))
    rest = [b64(os.urandom(n)) for n in (40, 12, 64, 16)]
    return ".".join([h, *rest])


def _flip(token: str, index: int) -> str:
    parts = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(parts[index] + "=" * (-len(parts[index]) % 4)))
    raw[0] ^= 1
    parts[index] = b64(bytes(raw))
    return ".".join(parts)


def _sso(**changes: Any) -> dict[str, Any]:
    merged = {**SSO_CLAIMS, **changes}
    return {k: v for k, v in merged.items() if v is not None}


SsoCase = Callable[[], str]
SSO_REFUSALS: list[tuple[str, SsoCase, str]] = [
    ("zip DEF", lambda: jwe({**SSO_HEADER, "zip": "DEF"}, deflate=True), "unexpected header"),
    (
        "zip bomb",
        lambda: jwe({**SSO_HEADER, "zip": "DEF"}, js(SSO_CLAIMS) + b" " * 5_000_000, deflate=True),
        "unexpected header",
    ),
    ("PBES2 huge p2c", lambda: _pbes2_token(), "unexpected header"),
    ("PBES2 without p2c", lambda: _pbes2_token(p2c=None, p2s=None), "algorithm"),
    ("alg A256KW", lambda: jwe({**SSO_HEADER, "alg": "A256KW"}), "algorithm"),
    ("alg RSA-OAEP", lambda: jwe({**SSO_HEADER, "alg": "RSA-OAEP-256"}), "algorithm"),
    ("alg ECDH-ES", lambda: jwe({**SSO_HEADER, "alg": "ECDH-ES"}), "algorithm"),
    ("alg none", lambda: jwe({**SSO_HEADER, "alg": "none"}), "algorithm"),
    ("alg DIR", lambda: jwe({**SSO_HEADER, "alg": "DIR"}), "algorithm"),
    ("enc A128GCM", lambda: jwe({**SSO_HEADER, "enc": "A128GCM"}), "algorithm"),
    ("enc A256CBC-HS512", lambda: jwe({**SSO_HEADER, "enc": "A256CBC-HS512"}), "algorithm"),
    ("enc missing", lambda: jwe({k: v for k, v in SSO_HEADER.items() if k != "enc"}), "algorithm"),
    (
        "alg and enc swapped",
        lambda: jwe({**SSO_HEADER, "alg": "A256GCM", "enc": "dir"}),
        "algorithm",
    ),
    ("cty header", lambda: jwe({**SSO_HEADER, "cty": "JWT"}), "unexpected header"),
    ("epk header", lambda: jwe({**SSO_HEADER, "epk": {"kty": "EC"}}), "unexpected header"),
    ("jku header", lambda: jwe({**SSO_HEADER, "jku": "http://127.0.0.1:9"}), "malformed"),
    (
        "jwk header",
        lambda: jwe({**SSO_HEADER, "jwk": {"kty": "oct", "k": b64(_SSO_SECRET)}}),
        "malformed",
    ),
    ("crit header", lambda: jwe({**SSO_HEADER, "crit": ["exp"]}), "malformed"),
    ("typ JWT", lambda: jwe({**SSO_HEADER, "typ": "JWT"}), "typ"),
    ("typ at+jwt", lambda: jwe({**SSO_HEADER, "typ": "at+jwt"}), "typ"),
    ("typ missing", lambda: jwe({k: v for k, v in SSO_HEADER.items() if k != "typ"}), "typ"),
    ("kid unknown", lambda: jwe({**SSO_HEADER, "kid": "sso-other"}), "unknown kid"),
    (
        "kid missing",
        lambda: jwe({k: v for k, v in SSO_HEADER.items() if k != "kid"}),
        "unknown kid",
    ),
    ("kid list", lambda: jwe({**SSO_HEADER, "kid": [SSO_KID]}), "malformed"),
    ("header dup", lambda: jwe(js(SSO_HEADER)[:-1] + b',"alg":"dir"}'), "malformed"),
    ("header array", lambda: jwe(b"[]"), "malformed"),
    ("4 segments", lambda: jwe().rsplit(".", 1)[0], "malformed"),
    ("6 segments", lambda: jwe() + ".AA", "malformed"),
    ("3 segments (a JWS)", lambda: jws(), "malformed"),
    ("header padded", lambda: _replace(jwe(), 0, jwe().split(".")[0] + "="), "malformed"),
    ("flip header", lambda: _flip(jwe(), 0), "malformed|decryption"),
    ("flip iv", lambda: _flip(jwe(), 2), "decryption"),
    ("flip ciphertext", lambda: _flip(jwe(), 3), "decryption"),
    ("flip tag", lambda: _flip(jwe(), 4), "decryption"),
    # AES-GCM itself takes other IV lengths: a token sealed under the right key with one
    # would open if the length were not checked (RFC 7518 §5.3 fixes 96 bits).
    ("iv 16 bytes", lambda: jwe(iv_bytes=16), "decryption"),
    ("iv 8 bytes", lambda: jwe(iv_bytes=8), "decryption"),
    ("tag cut to 12 bytes", lambda: _cut(jwe(), 4, 12), "decryption"),
    ("tag moved into the ciphertext", lambda: _tag_in_ciphertext(jwe()), "decryption"),
    (
        "encrypted key present with dir",
        lambda: _replace(jwe(), 1, b64(os.urandom(32))),
        "decryption",
    ),
    ("wrong key", lambda: jwe(secret=os.urandom(32)), "decryption"),
    ("plaintext array", lambda: jwe(plaintext=b"[]"), "decryption"),
    ("plaintext null", lambda: jwe(plaintext=b"null"), "decryption"),
    ("plaintext dup tid", lambda: jwe(plaintext=js(SSO_CLAIMS)[:-1] + b',"tid":4}'), "decryption"),
    ("plaintext empty", lambda: jwe(plaintext=b""), "decryption"),
    ("plaintext deep", lambda: jwe(plaintext=b"[" * 3000 + b"]" * 3000), "decryption"),
    ("uid string", lambda: jwe(plaintext=_sso(uid="7")), "claim types"),
    ("tid bool", lambda: jwe(plaintext=_sso(tid=True)), "claim types"),
    ("exp missing", lambda: jwe(plaintext=_sso(exp=None)), "claim types"),
    ("exp float", lambda: jwe(plaintext=_sso(exp=NOW + 120.0)), "claim types"),
    ("iss other", lambda: jwe(plaintext=_sso(iss=ISSUER + "/")), "issuer"),
    ("aud other", lambda: jwe(plaintext=_sso(aud="admin-portal")), "audience"),
    ("expired", lambda: jwe(plaintext=_sso(exp=NOW - LEEWAY - 1)), "expired"),
    ("from the future", lambda: jwe(plaintext=_sso(iat=NOW + LEEWAY + 1)), "future"),
]


@pytest.mark.parametrize(
    ("build", "reason"), [pytest.param(b, r, id=n) for n, b, r in SSO_REFUSALS]
)
def test_sso_token_refusals(build: SsoCase, reason: str) -> None:
    with pytest.raises(SsoTokenRefused, match=reason):
        open_sso(build())


@pytest.mark.parametrize(
    "header",
    [{**SSO_HEADER, "zip": "DEF"}, PBES2_HEADER, {**SSO_HEADER, "alg": "A256KW"}],
    ids=["zip", "pbes2", "a256kw"],
)
def test_sso_header_policy_runs_before_any_key_lookup(header: dict[str, Any]) -> None:
    seen: list[Any] = []
    with pytest.raises(SsoTokenRefused):
        open_sso(jwe(header), seen=seen)
    assert seen == []


def test_pbes2_with_a_huge_work_factor_is_refused_in_well_under_50_ms() -> None:
    token = _pbes2_token()
    durations = []
    for _ in range(5):
        started = time.perf_counter()
        with pytest.raises(SsoTokenRefused):
            open_sso(token)
        durations.append(time.perf_counter() - started)
    assert statistics.median(durations) < 0.05


def test_zip_bomb_is_refused_without_inflating() -> None:
    token = jwe({**SSO_HEADER, "zip": "DEF"}, b"[" + b" " * 5_000_000 + b"]", deflate=True)
    assert len(token) < MAX_TOKEN_LENGTH
    started = time.perf_counter()
    with pytest.raises(SsoTokenRefused, match="unexpected header"):
        open_sso(token)
    assert time.perf_counter() - started < 0.05


def test_sso_header_with_a_huge_integer_is_refused() -> None:
    with pytest.raises(SsoTokenRefused):
        open_sso(jwe(js(SSO_HEADER)[:-1] + b',"x":' + b"9" * 5000 + b"}"))


def test_access_header_with_a_huge_integer_is_refused() -> None:
    with pytest.raises(AccessTokenRejected):
        verify(jws(js(HEADER)[:-1] + b',"x":' + b"9" * 5000 + b"}"))
