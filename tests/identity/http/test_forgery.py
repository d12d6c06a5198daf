"""SECURITY.md attack matrix, row "Forgery": access tokens that we did not sign, or that we
signed but that break the header policy, are refused by every door that accepts an access
token — `GET /tenants` (Bearer) and the token exchange `subject_token` (select tenant, mint
SSO) — with one answer per door, so the answer tells nothing about what was wrong.

Each forgery is built from a genuine token of the running server.  The table is walked in
one world per door and database (a world costs ~0.5 s to build); a mismatch names the case.
After the walk the genuine token, and a token re-signed by our own helper with the real key,
must still be accepted, so the test fails if everything is refused for an unrelated reason.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import anyio
import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tenantgate.identity.domain.errors import InvalidGrant, InvalidRequest, InvalidToken
from tenantgate.identity.web import errors as web_errors

from ...jose_helpers import b64, es256, js, tcp_listener, unb64
from ..harness import World

pytestmark = pytest.mark.anyio

TENANT = "First Harbor Bank"
# The order of the curve P-256: r = s = n is the other "psychic signature" (CVE-2022-21449).
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


# -- encoding helpers ---------------------------------------------------------------------


def hs(secret: bytes, signing_input: bytes, digest: str = "sha256") -> str:
    return b64(hmac.new(secret, signing_input, getattr(hashlib, digest)).digest())


@dataclass
class Material:
    """Everything an attacker (or our own key, for policy cases) needs to build a forgery."""

    token: str
    other_token: str  # another genuine token, for signature transplants
    real: ec.EllipticCurvePrivateKey
    kid: str
    public_jwk: dict[str, Any]
    jwks_bytes: bytes
    listener: str
    attacker: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )

    @property
    def parts(self) -> list[str]:
        return self.token.split(".")

    @property
    def header(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(unb64(self.parts[0]))
        return value

    @property
    def payload(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(unb64(self.parts[1]))
        return value

    @property
    def public(self) -> ec.EllipticCurvePublicKey:
        return self.real.public_key()

    def with_header(self, **changes: Any) -> dict[str, Any]:
        header = {**self.header, **changes}
        return {k: v for k, v in header.items() if v is not _DROP}

    # Tokens signed with the REAL key: only the header/claims policy can refuse them.
    def signed_raw(self, header: bytes, payload: bytes) -> str:
        signing_input = f"{b64(header)}.{b64(payload)}".encode()
        return signing_input.decode() + "." + es256(self.real, signing_input)

    def signed(self, header: dict[str, Any], payload: dict[str, Any] | None = None) -> str:
        return self.signed_raw(js(header), js(self.payload if payload is None else payload))

    # Tokens signed with the ATTACKER's key.
    def attacker_signed(self, header: dict[str, Any]) -> str:
        signing_input = f"{b64(js(header))}.{self.parts[1]}".encode()
        return signing_input.decode() + "." + es256(self.attacker, signing_input)

    def hmac_signed(self, secret: bytes, alg: str = "HS256", digest: str = "sha256") -> str:
        header = self.with_header(alg=alg)
        signing_input = f"{b64(js(header))}.{self.parts[1]}".encode()
        return signing_input.decode() + "." + hs(secret, signing_input, digest)

    def edited(self, **claims: Any) -> str:
        payload = {**self.payload, **claims}
        payload = {k: v for k, v in payload.items() if v is not _DROP}
        return f"{self.parts[0]}.{b64(js(payload))}.{self.parts[2]}"

    def raw_payload_old_sig(self, payload: bytes) -> str:
        return f"{self.parts[0]}.{b64(payload)}.{self.parts[2]}"

    def header_old_sig(self, header: dict[str, Any]) -> str:
        return f"{b64(js(header))}.{self.parts[1]}.{self.parts[2]}"

    def attacker_jwk(self) -> dict[str, Any]:
        numbers = self.attacker.public_key().public_numbers()
        return {
            "kty": "EC",
            "crv": "P-256",
            "x": b64(numbers.x.to_bytes(32, "big")),
            "y": b64(numbers.y.to_bytes(32, "big")),
        }

    def attacker_certificate(self) -> str:
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tenantgate")])
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.attacker.public_key())
            .serial_number(1)
            .not_valid_before(datetime.datetime(2020, 1, 1))
            .not_valid_after(datetime.datetime(2100, 1, 1))
            .sign(self.attacker, hashes.SHA256())
        )
        return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


class _Drop:
    pass


_DROP: Any = _Drop()

Forgery = Callable[[Material], str]


def _attacker_with(m: Material, **header: Any) -> str:
    return m.attacker_signed(m.with_header(**header))


def _old_sig_with(m: Material, **header: Any) -> str:
    return m.header_old_sig(m.with_header(**header))


def _hmac_public(m: Material, encoding: str) -> str:
    return m.hmac_signed(_public_encodings(m)[encoding])


def _raw_payload_old_sig(m: Material, raw: bytes) -> str:
    return m.raw_payload_old_sig(raw)


def _payload_real(m: Material, raw: bytes) -> str:
    return m.signed_raw(js(m.header), raw)


def _public_encodings(m: Material) -> dict[str, bytes]:
    pub = m.public
    spki_pem = pub.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    jwk = m.public_jwk
    thumbprint_members = {k: jwk[k] for k in ("crv", "kty", "x", "y")}
    return {
        "pem": spki_pem,
        "pem-no-newline": spki_pem.rstrip(b"\n"),
        "der": pub.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "x962-point": pub.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        ),
        "x962-compressed": pub.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint
        ),
        "openssh": pub.public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        ),
        "jwk-json": json.dumps(jwk).encode(),
        "jwk-compact": js(jwk),
        "jwk-thumbprint-form": json.dumps(
            thumbprint_members, separators=(",", ":"), sort_keys=True
        ).encode(),
        "jwks-as-served": m.jwks_bytes,
        "jwk-x-coordinate": jwk["x"].encode(),
    }


def _alg_none_cases() -> list[tuple[str, Forgery]]:
    cases: list[tuple[str, Forgery]] = []
    for spelling in ("none", "None", "NONE", "nOnE", "none ", " none", "", "none\x00"):

        def unsigned(m: Material, alg: str = spelling) -> str:
            return f"{b64(js(m.with_header(alg=alg)))}.{m.parts[1]}."

        def kept_sig(m: Material, alg: str = spelling) -> str:
            return m.header_old_sig(m.with_header(alg=alg))

        cases += [(f"alg={spelling!r} unsigned", unsigned), (f"alg={spelling!r} old-sig", kept_sig)]
    cases += [
        ("alg missing", lambda m: m.header_old_sig(m.with_header(alg=_DROP))),
        ("alg null", lambda m: m.header_old_sig(m.with_header(alg=None))),
        ("alg list", lambda m: m.header_old_sig(m.with_header(alg=["ES256"]))),
        ("alg none, real-key sig", lambda m: m.signed(m.with_header(alg="none"))),
    ]
    for alg in ("ES384", "ES512", "ES256K", "RS256", "PS256", "EdDSA", "es256"):
        cases.append((f"alg={alg} attacker-signed", partial(_attacker_with, alg=alg)))
    return cases


def _hmac_cases() -> list[tuple[str, Forgery]]:
    cases: list[tuple[str, Forgery]] = []
    names = [
        "pem",
        "pem-no-newline",
        "der",
        "x962-point",
        "x962-compressed",
        "openssh",
        "jwk-json",
        "jwk-compact",
        "jwk-thumbprint-form",
        "jwks-as-served",
        "jwk-x-coordinate",
    ]
    for name in names:
        cases.append(
            (
                f"HS256 keyed with public {name}",
                partial(_hmac_public, encoding=name),
            )
        )
    cases += [
        (
            "HS384 keyed with PEM",
            lambda m: m.hmac_signed(_public_encodings(m)["pem"], "HS384", "sha384"),
        ),
        (
            "HS512 keyed with PEM",
            lambda m: m.hmac_signed(_public_encodings(m)["pem"], "HS512", "sha512"),
        ),
        ("HS256 empty secret", lambda m: m.hmac_signed(b"")),
        ("HS256 kid as secret", lambda m: m.hmac_signed(m.kid.encode())),
        ("HS256 empty secret, kid dropped", lambda m: _hs_no_kid(m)),
    ]
    return cases


def _hs_no_kid(m: Material) -> str:
    header = m.with_header(alg="HS256", kid=_DROP)
    signing_input = f"{b64(js(header))}.{m.parts[1]}".encode()
    return signing_input.decode() + "." + hs(b"", signing_input)


def _key_carrying_cases() -> list[tuple[str, Forgery]]:
    def embedded_jwk(m: Material, kid: str | None) -> str:
        jwk = m.attacker_jwk()
        return m.attacker_signed(m.with_header(jwk=jwk, kid=kid if kid else _DROP))

    return [
        ("embedded jwk, real kid", lambda m: embedded_jwk(m, m.kid)),
        ("embedded jwk, no kid", lambda m: embedded_jwk(m, None)),
        ("embedded jwk, attacker kid", lambda m: embedded_jwk(m, "attacker")),
        ("embedded jwk, real-key sig", lambda m: m.signed(m.with_header(jwk=m.public_jwk))),
        ("jku listener, attacker sig", lambda m: m.attacker_signed(m.with_header(jku=m.listener))),
        (
            "jku listener, attacker kid",
            lambda m: m.attacker_signed(m.with_header(jku=m.listener, kid="attacker")),
        ),
        ("jku listener, real-key sig", lambda m: m.signed(m.with_header(jku=m.listener))),
        ("x5u listener, attacker sig", lambda m: m.attacker_signed(m.with_header(x5u=m.listener))),
        (
            "x5u listener, no kid",
            lambda m: m.attacker_signed(m.with_header(x5u=m.listener, kid=_DROP)),
        ),
        ("x5u listener, real-key sig", lambda m: m.signed(m.with_header(x5u=m.listener))),
        (
            "x5c attacker certificate",
            lambda m: m.attacker_signed(m.with_header(x5c=[m.attacker_certificate()], kid=_DROP)),
        ),
        (
            "x5c, real-key sig",
            lambda m: m.signed(m.with_header(x5c=[m.attacker_certificate()])),
        ),
        ("attacker key, real kid", lambda m: m.attacker_signed(m.header)),
        ("attacker key, unknown kid", lambda m: m.attacker_signed(m.with_header(kid="k2"))),
    ]


def _signature_cases() -> list[tuple[str, Forgery]]:
    def sig(m: Material, raw: bytes) -> str:
        return f"{m.parts[0]}.{m.parts[1]}.{b64(raw)}"

    order = P256_ORDER.to_bytes(32, "big")
    return [
        ("signature stripped, dot kept", lambda m: f"{m.parts[0]}.{m.parts[1]}."),
        ("all-zero ES256 signature", lambda m: sig(m, bytes(64))),
        ("r = s = n", lambda m: sig(m, order + order)),
        ("r = s = 1", lambda m: sig(m, (1).to_bytes(32, "big") * 2)),
        ("63-byte signature", lambda m: sig(m, unb64(m.parts[2])[:63])),
        ("65-byte signature", lambda m: sig(m, unb64(m.parts[2]) + b"\x00")),
        ("DER-encoded zero signature", lambda m: sig(m, bytes.fromhex("3006020100020100"))),
        (
            "signature transplanted",
            lambda m: f"{m.parts[0]}.{m.parts[1]}.{m.other_token.split('.')[2]}",
        ),
        (
            "last signature byte flipped",
            lambda m: sig(m, unb64(m.parts[2])[:-1] + bytes([unb64(m.parts[2])[-1] ^ 1])),
        ),
    ]


def _kid_cases() -> list[tuple[str, Forgery]]:
    kids: list[tuple[str, Any]] = [
        ("path traversal", "../../etc/passwd"),
        ("path traversal to /dev/null", "../../../../../../dev/null"),
        ("absolute path", "/etc/passwd"),
        ("file url", "file:///etc/passwd"),
        ("SQL tautology", "' OR 1=1--"),
        ("SQL union", "x' UNION SELECT kid FROM signing_keys--"),
        ("shell substitution", "$(id)"),
        ("shell separator", ";reboot"),
        ("shell backticks", "`id`"),
        ("4 KB kid", "k" * 4096),
        ("129-char kid", "k" * 129),
        ("empty kid", ""),
        ("int kid", 1),
        ("bool kid", True),
        ("list kid", ["x"]),
        ("null kid", None),
        ("object kid", {"kid": "x"}),
    ]
    cases: list[tuple[str, Forgery]] = []
    for name, kid in kids:
        cases.append((f"kid {name}, old sig", partial(_old_sig_with, kid=kid)))
    # The real kid beside an attack, and wrong types of the real kid, signed with our key.
    cases += [
        ("kid real as list, real-key sig", lambda m: m.signed(m.with_header(kid=[m.kid]))),
        ("kid real as object, real-key sig", lambda m: m.signed(m.with_header(kid={"kid": m.kid}))),
        ("kid real + padding, real-key sig", lambda m: m.signed(m.with_header(kid=m.kid + " "))),
        ("kid real upper-case, real-key sig", lambda m: m.signed(m.with_header(kid=m.kid.upper()))),
        ("kid path traversal, HS256 empty", lambda m: _hs_with(m, kid="../../dev/null")),
        ("kid SQL, HS256 empty", lambda m: _hs_with(m, kid="' OR 1=1--")),
    ]
    return cases


def _hs_with(m: Material, **header: Any) -> str:
    h = m.with_header(alg="HS256", **header)
    signing_input = f"{b64(js(h))}.{m.parts[1]}".encode()
    return signing_input.decode() + "." + hs(b"", signing_input)


def _crit_and_typ_cases() -> list[tuple[str, Forgery]]:
    return [
        (
            "unknown crit, real-key sig",
            lambda m: m.signed(m.with_header(crit=["tg-unknown"], **{"tg-unknown": 1})),
        ),
        ("crit exp, real-key sig", lambda m: m.signed(m.with_header(crit=["exp"]))),
        ("crit empty list, real-key sig", lambda m: m.signed(m.with_header(crit=[]))),
        (
            "crit b64 false, real-key sig",
            lambda m: m.signed(m.with_header(crit=["b64"], b64=False)),
        ),
        ("typ JWT, real-key sig", lambda m: m.signed(m.with_header(typ="JWT"))),
        ("typ missing, real-key sig", lambda m: m.signed(m.with_header(typ=_DROP))),
        ("typ jwt, real-key sig", lambda m: m.signed(m.with_header(typ="jwt"))),
        ("typ empty, real-key sig", lambda m: m.signed(m.with_header(typ=""))),
        ("typ null, real-key sig", lambda m: m.signed(m.with_header(typ=None))),
        ("typ list, real-key sig", lambda m: m.signed(m.with_header(typ=["at+jwt"]))),
        ("typ refresh, real-key sig", lambda m: m.signed(m.with_header(typ="rt+jwt"))),
        ("typ SSO, real-key sig", lambda m: m.signed(m.with_header(typ="tg-sso+jwe"))),
        ("typ at+jwt with space, real-key sig", lambda m: m.signed(m.with_header(typ="at+jwt "))),
    ]


def _edited_payload_cases() -> list[tuple[str, Forgery]]:
    return [
        ("tenant edited", lambda m: m.edited(tenant="t_" + "A" * 22)),
        (
            "tenant added/removed",
            lambda m: m.edited(tenant=_DROP if "tenant" in m.payload else "x"),
        ),
        (
            "permissions widened",
            lambda m: m.edited(permissions=[*m.payload["permissions"], "admin:all"]),
        ),
        (
            "permissions emptied or set",
            lambda m: m.edited(permissions=[] if m.payload["permissions"] else ["x"]),
        ),
        ("sub edited", lambda m: m.edited(sub="someone-else")),
        ("exp extended", lambda m: m.edited(exp=m.payload["exp"] + 10**6)),
        ("exp removed", lambda m: m.edited(exp=_DROP)),
        ("aud edited", lambda m: m.edited(aud="reporting-api")),
        ("iss edited", lambda m: m.edited(iss="https://evil.example")),
        ("client_id edited", lambda m: m.edited(client_id="reporting-portal")),
        ("kind edited", lambda m: m.edited(kind="employee")),
        ("sid edited", lambda m: m.edited(sid="0" * 32)),
        (
            "payload re-serialized with spaces, old sig",
            lambda m: m.raw_payload_old_sig(json.dumps(m.payload).encode()),
        ),
    ]


def _structure_cases() -> list[tuple[str, Forgery]]:
    return [
        ("2 segments", lambda m: f"{m.parts[0]}.{m.parts[1]}"),
        ("4 segments", lambda m: f"{m.token}.{m.parts[2]}"),
        ("4 segments, trailing dot", lambda m: f"{m.token}."),
        ("5 segments (JWE shape)", lambda m: f"{m.token}.{m.parts[1]}.{m.parts[2]}"),
        ("1 segment", lambda m: m.parts[1]),
        ("empty segments", lambda m: ".."),
        ("leading dot", lambda m: "." + m.token),
        ("header padded", lambda m: f"{m.parts[0]}==.{m.parts[1]}.{m.parts[2]}"),
        ("payload padded", lambda m: f"{m.parts[0]}.{m.parts[1]}==.{m.parts[2]}"),
        ("signature padded", lambda m: f"{m.token}=="),
        ("signature padded once", lambda m: f"{m.token}="),
        ("standard base64 alphabet", lambda m: m.token.replace("-", "+").replace("_", "/") + "+/"),
        ("percent in payload", lambda m: f"{m.parts[0]}.%{m.parts[1]}.{m.parts[2]}"),
        ("space inside", lambda m: f"{m.parts[0]}. {m.parts[1]}.{m.parts[2]}"),
        ("tab inside", lambda m: f"{m.parts[0]}.{m.parts[1]}\t.{m.parts[2]}"),
        ("non-ascii", lambda m: f"{m.parts[0]}.{m.parts[1]}é.{m.parts[2]}"),
        ("NUL inside", lambda m: f"{m.parts[0]}.{m.parts[1]}\x00.{m.parts[2]}"),
        ("length 1 mod 4 segment", lambda m: f"{m.parts[0]}.{m.parts[1]}A.{m.parts[2]}"),
        ("garbage", lambda m: "garbage"),
        ("JWE-looking garbage", lambda m: "a.b.c.d.e"),
    ]


def _json_cases() -> list[tuple[str, Forgery]]:
    def header_json(raw: bytes) -> Forgery:
        return lambda m: f"{b64(raw)}.{m.parts[1]}.{m.parts[2]}"

    def header_real(m: Material, raw: str) -> str:
        return m.signed_raw(raw.replace("KID", m.kid).encode(), js(m.payload))

    def payload_real(m: Material, raw: bytes) -> str:
        return m.signed_raw(js(m.header), raw)

    def payload_dup(m: Material, name: str, value: Any) -> str:
        body = js(m.payload)[:-1] + b"," + js({name: value})[1:]
        return payload_real(m, body)

    header_prefix = '{"alg":"ES256","typ":"at+jwt","kid":"KID"'
    cases: list[tuple[str, Forgery]] = [
        ("header array", header_json(b'["ES256"]')),
        ("header string", header_json(b'"ES256"')),
        ("header number", header_json(b"1")),
        ("header null", header_json(b"null")),
        ("header empty", header_json(b"")),
        ("header not UTF-8", header_json(b"\xff\xfe{}")),
        ("header deeply nested", header_json(b'{"alg":' + b"[" * 2000 + b"]" * 2000 + b"}")),
        (
            "header dup alg, real-key sig",
            lambda m: header_real(m, '{"alg":"none",' + header_prefix[1:] + "}"),
        ),
        ("header dup typ, real-key sig", lambda m: header_real(m, header_prefix + ',"typ":"JWT"}')),
        ("header dup kid, real-key sig", lambda m: header_real(m, header_prefix + ',"kid":"KID"}')),
        ("header NaN, real-key sig", lambda m: header_real(m, header_prefix + ',"x":NaN}')),
        ("header trailing data, real-key sig", lambda m: header_real(m, header_prefix + "}{}")),
    ]
    for name, raw in (
        ("array", b"[]"),
        ("string", b'"x"'),
        ("number", b"1"),
        ("null", b"null"),
        ("true", b"true"),
    ):
        cases.append((f"payload {name}, old sig", partial(_raw_payload_old_sig, raw=raw)))
        cases.append((f"payload {name}, real-key sig", partial(_payload_real, raw=raw)))
    cases += [
        ("payload dup tenant, real-key sig", lambda m: payload_dup(m, "tenant", "t_" + "B" * 22)),
        ("payload dup sub, real-key sig", lambda m: payload_dup(m, "sub", "someone-else")),
        (
            "payload dup permissions, real-key sig",
            lambda m: payload_dup(m, "permissions", ["admin:all"]),
        ),
        (
            "payload dup exp, real-key sig",
            lambda m: payload_dup(m, "exp", m.payload["exp"] + 10**6),
        ),
        (
            "payload nested dup, real-key sig",
            lambda m: payload_real(m, js(m.payload)[:-1] + b',"x":{"a":1,"a":2}}'),
        ),
        (
            "payload Infinity exp, real-key sig",
            lambda m: payload_real(m, js(m.payload).replace(b'"exp":', b'"exp":Infinity,"e0":')),
        ),
        (
            "payload not UTF-8, real-key sig",
            lambda m: payload_real(m, js(m.payload)[:-1] + b',"x":"\xff"}'),
        ),
        ("payload empty, real-key sig", lambda m: payload_real(m, b"")),
        (
            "payload deeply nested, real-key sig",
            lambda m: payload_real(m, b'{"a":' + b"[" * 2000 + b"]" * 2000 + b"}"),
        ),
    ]
    return cases


FORGERIES: list[tuple[str, Forgery]] = [
    *_alg_none_cases(),
    *_hmac_cases(),
    *_key_carrying_cases(),
    *_signature_cases(),
    *_kid_cases(),
    *_crit_and_typ_cases(),
    *_edited_payload_cases(),
    *_structure_cases(),
    *_json_cases(),
]


def test_forgery_names_are_unique() -> None:
    names = [name for name, _ in FORGERIES]
    assert len(names) == len(set(names))
    assert len(names) >= 120


# -- the listener that must never be contacted -----------------------------------------------


# -- doors --------------------------------------------------------------------------------


@dataclass
class Door:
    name: str
    base: str  # the genuine token the forgeries are built from
    other: str
    call: Callable[[str], Any]
    status: int
    error: str
    description: str
    # The form parser refuses NUL anywhere in a body before any grant logic runs.
    form_level: frozenset[str] = frozenset()


FORM_LEVEL = frozenset({"NUL inside"})


async def _doors(world: World) -> list[Door]:
    """Three doors, each with its own genuine token: an unscoped admin token for `/tenants`
    and select-tenant (the latter from a second session), a tenant-scoped one for mint-SSO."""
    unscoped = await world.login("admin-portal", "admin")
    second = await world.login("admin-portal", "admin")
    scoped = await world.admin_in(TENANT)
    ref = await world.tenant_ref(unscoped["access_token"], TENANT)

    async def tenants(token: str) -> httpx.Response:
        header = b"Bearer " + token.encode("utf-8")
        return await world.http.get("/tenants", headers={b"Authorization": header})

    async def select(token: str) -> httpx.Response:
        return await world.select_tenant(token, ref)

    async def mint(token: str) -> httpx.Response:
        return await world.mint_sso(token)

    refused = ("invalid_grant", InvalidGrant.description)
    return [
        Door(
            "tenants",
            unscoped["access_token"],
            scoped["access_token"],
            tenants,
            401,
            "invalid_token",
            InvalidToken.description,
        ),
        Door(
            "select_tenant",
            second["access_token"],
            unscoped["access_token"],
            select,
            400,
            *refused,
            FORM_LEVEL,
        ),
        Door(
            "mint_sso",
            scoped["access_token"],
            scoped["unscoped"]["access_token"],
            mint,
            400,
            *refused,
            FORM_LEVEL,
        ),
    ]


async def _material(world: World, door: Door, listener: str) -> Material:
    key = world.deps.keyring.signing_key()
    jwks = await world.http.get("/jwks.json")
    assert jwks.status_code == 200
    real = key.private.private_key
    assert isinstance(real, ec.EllipticCurvePrivateKey)
    return Material(
        token=door.base,
        other_token=door.other,
        real=real,
        kid=key.kid,
        public_jwk=key.public_jwk,
        jwks_bytes=jwks.content,
        listener=listener,
    )


def _check(door: Door, name: str, response: httpx.Response) -> str | None:
    expected = {"error": door.error, "error_description": door.description}
    status = door.status
    if name in door.form_level:
        status = 400
        expected = {"error": "invalid_request", "error_description": InvalidRequest.description}
    try:
        body = response.json()
    except ValueError:
        body = response.text[:200]
    if response.status_code != status or body != expected:
        return f"{name}: {response.status_code} {body!r}"
    if status == 401 and 'error="invalid_token"' not in response.headers.get(
        "www-authenticate", ""
    ):
        return f"{name}: 401 without a Bearer WWW-Authenticate challenge"
    if response.headers.get("cache-control") != "no-store":
        return f"{name}: no Cache-Control: no-store"
    return None


async def test_every_forgery_gets_the_same_refusal_and_the_real_token_still_works(
    world: World,
) -> None:
    doors = await _doors(world)
    # A few requests in flight at once: the refusals are independent of each other and the
    # walk is dominated by database round trips (key ring, client authentication).
    gate = anyio.Semaphore(8)
    answers: dict[tuple[str, str], httpx.Response] = {}

    async def send(door: Door, name: str, token: str) -> None:
        async with gate:
            answers[door.name, name] = await door.call(token)

    with tcp_listener() as (listener, connections):
        material = {door.name: await _material(world, door, listener) for door in doors}
        forged = {
            door.name: [(name, forge(material[door.name])) for name, forge in FORGERIES]
            for door in doors
        }
        async with anyio.create_task_group() as tasks:
            for door in doors:
                for name, token in forged[door.name]:
                    assert token != door.base, name
                    tasks.start_soon(send, door, name, token)
        assert connections() == 0, "the server fetched a jku/x5u URL"
    mismatches = [
        f"{door.name} / {problem}"
        for door in doors
        for name, _ in forged[door.name]
        if (problem := _check(door, name, answers[door.name, name]))
    ]
    assert not mismatches, "\n".join(mismatches)
    # Not refusing everything: our own re-signature of the genuine header and payload works
    # (so the real-key cases above were refused for their one defect), and so does the original.
    for door in doors:
        m = material[door.name]
        resigned = m.signed_raw(unb64(m.parts[0]), unb64(m.parts[1]))
        assert resigned != door.base
        for token in (resigned, door.base):
            accepted = await door.call(token)
            assert accepted.status_code == 200, f"{door.name}: {accepted.text}"


async def test_oversized_kid_bearer_hits_the_header_limit_and_exchange_refuses_it(
    world: World,
) -> None:
    """A 10 KB kid makes the token larger than the 8 KB header limit (431 before any
    parsing) and than the 8 KB token limit (refused as a grant)."""
    scoped = await world.admin_in(TENANT)
    with tcp_listener() as (listener, _):
        door = Door("", scoped["access_token"], "", lambda t: None, 0, "", "")
        m = await _material(world, door, listener)
    forged = m.signed(m.with_header(kid="k" * 10240))
    assert len(forged) > 10240
    answer = await world.tenants(forged)
    assert answer.status_code == 431
    assert answer.json()["error"] == "invalid_request"
    for response in (
        await world.select_tenant(
            forged, await world.tenant_ref(scoped["unscoped"]["access_token"], TENANT)
        ),
        await world.mint_sso(forged),
    ):
        assert response.status_code == 400
        assert response.json() == {
            "error": "invalid_grant",
            "error_description": InvalidGrant.description,
        }
    assert (await world.mint_sso(scoped["access_token"])).status_code == 200


async def test_header_with_a_huge_integer_is_refused_not_a_server_error(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The 500 path renders a rich traceback with locals (seconds per request); keep it quiet.
    monkeypatch.setattr(web_errors, "log", _QuietLog())
    scoped = await world.admin_in(TENANT)
    parts = scoped["access_token"].split(".")
    header = unb64(parts[0])[:-1] + b',"x":' + b"9" * 5000 + b"}"
    forged = f"{b64(header)}.{parts[1]}.{parts[2]}"
    sso = (await world.mint_sso(scoped["access_token"])).json()["access_token"].split(".")
    sso_header = unb64(sso[0])[:-1] + b',"x":' + b"9" * 5000 + b"}"
    forged_sso = ".".join([b64(sso_header), *sso[1:]])
    answers = [
        (await world.tenants(forged), 401, "invalid_token"),
        (await world.mint_sso(forged), 400, "invalid_grant"),
        (await world.redeem_sso(forged_sso), 400, "invalid_grant"),
    ]
    assert [(a.status_code, a.json()["error"]) for a, _, _ in answers] == [
        (status, error) for _, status, error in answers
    ]


class _QuietLog:
    def __getattr__(self, name: str) -> Callable[..., None]:
        return lambda *args, **kwargs: None
