"""SECURITY.md attack matrix, row "DoS": oversized headers, tokens and bodies, form-field
floods, compressed and PBES2 JWEs.  Every answer is a 4xx with an RFC 6749 JSON error and
never a 5xx; expensive inputs are refused before the expensive work.

httpx's ASGITransport bypasses uvicorn's own header limits, so the limits under test here are
the application's (the BodyLimit middleware, `web/forms.py`, `domain/compact.py`).
"""

from __future__ import annotations

import base64
import json
import os
import statistics
import time
import uuid
import zlib
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tenantgate.identity.domain.errors import InvalidGrant
from tenantgate.identity.services.context import Caller
from tenantgate.identity.services.sso import SSO_REFUSED, redeem_sso_token

from ..harness import ACCESS_TOKEN_TYPE, SSO_TOKEN_TYPE, TOKEN_EXCHANGE, World

pytestmark = pytest.mark.anyio

TENANT = "First Harbor Bank"
FORM = "application/x-www-form-urlencoded"
MEGABYTE = 1024 * 1024
# The documented limits (SECURITY.md "Robustness"; the BodyLimit middleware and form reader).
MAX_BODY_BYTES = 64 * 1024
MAX_FORM_FIELDS = 64
MAX_HEADER_BYTES = 8 * 1024


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def assert_refused(response: httpx.Response, status: int, error: str) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert body["error"] == error, body
    assert isinstance(body.get("error_description"), str)
    return body


def basic(world: World, client_id: str) -> str:
    cid, secret = world.basic(client_id)
    return "Basic " + base64.b64encode(f"{cid}:{secret}".encode()).decode()


async def post_token(
    world: World,
    body: bytes,
    *,
    client_id: str = "admin-portal",
    content_type: str | None = FORM,
) -> httpx.Response:
    headers = {"Authorization": basic(world, client_id)}
    if content_type is not None:
        headers["Content-Type"] = content_type
    return await world.http.post("/token", content=body, headers=headers)


# -- headers ----------------------------------------------------------------------------------


async def test_megabyte_authorization_headers_are_refused_before_parsing(world: World) -> None:
    huge = "A" * MEGABYTE
    answers = [
        await world.http.get("/tenants", headers={"Authorization": f"Bearer {huge}"}),
        await world.http.post(
            "/token", data={"grant_type": "x"}, headers={"Authorization": f"Basic {huge}"}
        ),
        await world.http.post(
            "/token", data={"grant_type": "x"}, headers={"Authorization": f"Bearer {huge}"}
        ),
        await world.http.post(
            "/introspect", data={"token": "x"}, headers={"Authorization": f"Basic {huge}"}
        ),
    ]
    for answer in answers:
        assert_refused(answer, 431, "invalid_request")
    # The limit is the documented one, not "anything large": just under it is parsed.
    at_limit = "A" * (MAX_HEADER_BYTES - len("Bearer "))
    assert_refused(await world.tenants(at_limit), 401, "invalid_token")
    assert_refused(await world.tenants(at_limit + "A"), 431, "invalid_request")


async def test_a_100_kb_bearer_token_is_refused(world: World) -> None:
    scoped = await world.admin_in(TENANT)
    token = scoped["access_token"]
    padded = token + "A" * (100 * 1024)
    assert_refused(await world.tenants(padded), 431, "invalid_request")
    assert (await world.tenants(scoped["unscoped"]["access_token"])).status_code == 200


async def test_a_repeated_header_does_not_smuggle_a_megabyte_past_the_limit(
    world: World,
) -> None:
    huge = "A" * MEGABYTE
    tenants = await world.http.get(
        "/tenants", headers=[("Authorization", f"Bearer {huge}"), ("Authorization", "Bearer x")]
    )
    token = await world.http.post(
        "/token",
        data={"grant_type": "x"},
        headers=[
            ("Authorization", f"Basic {huge}"),
            ("Authorization", basic(world, "admin-portal")),
        ],
    )
    assert (tenants.status_code, token.status_code) == (431, 431)


# -- tokens -------------------------------------------------------------------------------------


async def test_oversized_subject_tokens_are_refused(world: World) -> None:
    scoped = await world.admin_in(TENANT)
    ref = await world.tenant_ref(scoped["unscoped"]["access_token"], TENANT)
    fits_body = scoped["unscoped"]["access_token"] + "A" * (50 * 1024)  # over the 8 KB token limit
    body = InvalidGrant.description
    for token in (fits_body, "A" * (60 * 1024), "a." * 20_000 + "a"):
        answer = await world.select_tenant(token, ref)
        assert assert_refused(answer, 400, "invalid_grant")["error_description"] == body
        answer = await world.mint_sso(token)
        assert assert_refused(answer, 400, "invalid_grant")["error_description"] == body
        answer = await world.redeem_sso(token)
        assert assert_refused(answer, 400, "invalid_grant")["error_description"] == SSO_REFUSED
    # 100 KB does not even fit the 64 KB body limit.
    big = "A" * (100 * 1024)
    assert_refused(await world.select_tenant(big, ref), 413, "invalid_request")
    assert_refused(await world.redeem_sso(big), 413, "invalid_request")
    assert (await world.select_tenant(scoped["unscoped"]["access_token"], ref)).status_code == 200


async def test_deeply_nested_json_headers_are_refused(world: World) -> None:
    scoped = await world.admin_in(TENANT)
    parts = scoped["access_token"].split(".")
    nested_header = b64(b'{"alg":' + b"[" * 2500 + b"]" * 2500 + b"}")
    forged = f"{nested_header}.{parts[1]}.{parts[2]}"
    assert_refused(await world.tenants(forged), 401, "invalid_token")
    assert_refused(await world.mint_sso(forged), 400, "invalid_grant")
    sso = (await world.mint_sso(scoped["access_token"])).json()["access_token"].split(".")
    nested_sso = ".".join([b64(b'{"enc":' + b'{"a":' * 1500 + b"1" + b"}" * 1500 + b"}"), *sso[1:]])
    assert_refused(await world.redeem_sso(nested_sso), 400, "invalid_grant")


# -- hostile JWEs -------------------------------------------------------------------------------


async def _sso_claims(world: World) -> dict[str, Any]:
    """The plaintext of a genuine SSO token, read with the server's own key."""
    scoped = await world.admin_in(TENANT)
    minted = await world.mint_sso(scoped["access_token"])
    assert minted.status_code == 200, minted.text
    h, _, iv, ciphertext, tag = minted.json()["access_token"].split(".")
    secret = world.deps.keyring.sso_key().secret.raw_value
    plaintext = AESGCM(secret).decrypt(unb64(iv), unb64(ciphertext) + unb64(tag), h.encode())
    claims: dict[str, Any] = json.loads(plaintext)
    return claims


def _jwe(world: World, header: dict[str, Any], plaintext: bytes, *, deflate: bool = False) -> str:
    """`dir` + A256GCM by hand with the server's real SSO key (RFC 7516 §5.1)."""
    if deflate:
        compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
        plaintext = compressor.compress(plaintext) + compressor.flush()
    key = world.deps.keyring.sso_key()
    protected = b64(json.dumps({**header, "kid": key.kid}, separators=(",", ":")).encode())
    iv = os.urandom(12)
    sealed = AESGCM(key.secret.raw_value).encrypt(iv, plaintext, protected.encode())
    return f"{protected}..{b64(iv)}.{b64(sealed[:-16])}.{b64(sealed[-16:])}"


SSO_HEADER = {"alg": "dir", "enc": "A256GCM", "typ": "tg-sso+jwe"}


async def test_compressed_sso_tokens_are_refused_though_our_own_builder_is_accepted(
    world: World,
) -> None:
    claims = await _sso_claims(world)

    def fresh() -> bytes:
        return json.dumps({**claims, "jti": str(uuid.uuid4())}).encode()

    control = await world.redeem_sso(_jwe(world, SSO_HEADER, fresh()))
    assert control.status_code == 200, control.text  # the hand-made JWE is a valid token
    zipped = _jwe(world, {**SSO_HEADER, "zip": "DEF"}, fresh(), deflate=True)
    bomb = _jwe(
        world, {**SSO_HEADER, "zip": "DEF"}, fresh()[:-1] + b" " * 5_000_000 + b"}", deflate=True
    )
    for token in (zipped, bomb):
        answer = await world.redeem_sso(token)
        assert assert_refused(answer, 400, "invalid_grant")["error_description"] == SSO_REFUSED
    refusals = await world.audit_events("sso.refused")
    assert len(refusals) >= 2


def _pbes2_token(kid: str) -> str:
    header = {
        "alg": "PBES2-HS512+A256KW",
        "enc": "A256GCM",
        "p2s": b64(os.urandom(16)),
        "p2c": 2_147_483_647,
        "typ": "tg-sso+jwe",
        "kid": kid,
    }
    protected = b64(json.dumps(header).encode())
    return ".".join(
        [
            protected,
            b64(os.urandom(40)),
            b64(os.urandom(12)),
            b64(os.urandom(64)),
            b64(os.urandom(16)),
        ]
    )


async def test_pbes2_with_a_huge_work_factor_is_refused_in_well_under_50_ms(world: World) -> None:
    token = _pbes2_token(world.deps.keyring.sso_key().kid)
    answer = await world.redeem_sso(token)
    assert assert_refused(answer, 400, "invalid_grant")["error_description"] == SSO_REFUSED
    client = await world.deps.store.client_by_id("reporting-portal")
    assert client is not None
    form = {
        "grant_type": TOKEN_EXCHANGE,
        "subject_token": token,
        "subject_token_type": SSO_TOKEN_TYPE,
    }
    durations = []
    for _ in range(5):
        started = time.perf_counter()
        with pytest.raises(InvalidGrant):
            await redeem_sso_token(world.deps, client, form, Caller(address="127.0.0.1"))
        durations.append(time.perf_counter() - started)
    assert statistics.median(durations) < 0.05, durations


# -- bodies -------------------------------------------------------------------------------------


async def test_a_10_mb_form_body_is_refused_with_413(world: World) -> None:
    body = b"grant_type=refresh_token&refresh_token=" + b"A" * (10 * MEGABYTE)
    assert_refused(await post_token(world, body), 413, "invalid_request")


async def test_a_10_mb_chunked_body_without_length_is_refused_with_413(world: World) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"grant_type=refresh_token&refresh_token="
        for _ in range(10 * 16):
            yield b"A" * (64 * 1024)

    answer = await world.http.post(
        "/token",
        content=chunks(),
        headers={"Authorization": basic(world, "admin-portal"), "Content-Type": FORM},
    )
    assert_refused(answer, 413, "invalid_request")


async def test_a_body_just_over_the_limit_is_refused_and_one_under_it_is_parsed(
    world: World,
) -> None:
    prefix = b"grant_type=refresh_token&refresh_token="
    under = prefix + b"A" * (MAX_BODY_BYTES - len(prefix))
    assert_refused(await post_token(world, under), 400, "invalid_grant")
    assert_refused(await post_token(world, under + b"A"), 413, "invalid_request")


async def test_thousands_of_form_fields_are_refused(world: World) -> None:
    many = "&".join(f"f{i}=x" for i in range(5000)).encode()
    assert len(many) < MAX_BODY_BYTES
    assert_refused(
        await post_token(world, b"grant_type=refresh_token&" + many), 400, "invalid_request"
    )
    just_over = "&".join(f"f{i}=x" for i in range(MAX_FORM_FIELDS)).encode()
    assert_refused(
        await post_token(world, b"grant_type=refresh_token&" + just_over), 400, "invalid_request"
    )
    # Empty fields count too: 20,000 separators are not a way around the field limit.
    empty_fields = b"&" * 20_000 + b"grant_type=refresh_token"
    assert_refused(await post_token(world, empty_fields), 400, "invalid_request")


@pytest.mark.parametrize(
    "body",
    [
        b"grant_type=refresh_token&grant_type=refresh_token&refresh_token=x",
        b"grant_type=refresh_token&grant_type=authorization_code&refresh_token=x",
        b"grant_type=refresh_token&refresh_token=x&refresh_token=y",
        b"grant_type=refresh_token&refresh_token=x&refresh_token=",
        b"grant_type=refresh_token&refresh_token=x&refresh%5Ftoken=y",
    ],
    ids=["same-grant", "two-grants", "two-tokens", "second-empty", "percent-encoded-name"],
)
async def test_repeated_form_parameters_are_refused(world: World, body: bytes) -> None:
    assert_refused(await post_token(world, body), 400, "invalid_request")


async def test_repeated_subject_token_in_an_exchange_is_refused(world: World) -> None:
    scoped = await world.admin_in(TENANT)
    good = scoped["access_token"]
    body = urlencode(
        [
            ("grant_type", TOKEN_EXCHANGE),
            ("subject_token", "garbage"),
            ("subject_token", good),
            ("subject_token_type", ACCESS_TOKEN_TYPE),
            ("requested_token_type", SSO_TOKEN_TYPE),
            ("audience", "reporting-portal"),
        ]
    ).encode()
    assert_refused(await post_token(world, body), 400, "invalid_request")
    assert (await world.mint_sso(good)).status_code == 200


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", b'{"grant_type":"refresh_token","refresh_token":"x"}'),
        ("text/plain", b"grant_type=refresh_token&refresh_token=x"),
        (
            "multipart/form-data; boundary=b",
            b'--b\r\nContent-Disposition: form-data; name="grant_type"\r\n\r\n'
            b"refresh_token\r\n--b--\r\n",
        ),
        ("application/x-www-form-urlencoded-evil", b"grant_type=refresh_token&refresh_token=x"),
        ("application/xml", b"<grant_type>refresh_token</grant_type>"),
        (None, b"grant_type=refresh_token&refresh_token=x"),
    ],
    ids=["json", "text", "multipart", "suffixed", "xml", "missing"],
)
async def test_wrong_content_types_are_refused(
    world: World, content_type: str | None, body: bytes
) -> None:
    assert_refused(await post_token(world, body, content_type=content_type), 400, "invalid_request")


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"\xff\xfe", "invalid_request"),  # not UTF-8
        (b"grant_type=refresh_token&refresh_token=%00", "invalid_request"),  # NUL
        (b"grant_type=%ff", "unsupported_grant_type"),  # decodes to U+FFFD, an unknown grant
        (b"%", "unsupported_grant_type"),
    ],
    ids=["not-utf8", "nul", "bad-percent", "lone-percent"],
)
async def test_malformed_form_bodies_are_refused_not_crashed(
    world: World, body: bytes, error: str
) -> None:
    assert_refused(await post_token(world, body), 400, error)
