"""JWKS cache: rotation, cooldown, single flight, hostile key sets, failures, discovery."""

from __future__ import annotations

from typing import Any

import anyio
import httpx
import pytest

from tenantgate.guard import InvalidToken, KeySet, KeySetUnavailable, RemoteKeySet
from tenantgate.guard.jwks import discover_jwks_uri, metadata_url

from .support import ISSUER, JWKS_URI, Env, b64, eddsa_key, es256_key, make_token

pytestmark = pytest.mark.anyio

COOLDOWN, MAX_AGE = 30, 600


async def _verify_all(env: Env, tokens: list[str]) -> list[object]:
    """Verify concurrently; collect each result or exception."""
    results: list[object] = [None] * len(tokens)

    async def one(i: int) -> None:
        try:
            results[i] = await env.verifier.verify(tokens[i])
        except (InvalidToken, KeySetUnavailable) as exc:
            results[i] = exc

    async with anyio.create_task_group() as tg:
        for i in range(len(tokens)):
            tg.start_soon(one, i)
    return results


# --- Rotation and refetch --------------------------------------------------------------------


async def test_rotated_in_key_is_picked_up_by_one_refetch(env: Env) -> None:
    await env.verifier.verify(make_token(env.es))
    new = es256_key("es-2")
    env.endpoint.keys.append(new.public_jwk())
    env.clock.advance(COOLDOWN + 1)

    assert (await env.verifier.verify(make_token(new))).subject
    assert env.endpoint.fetches == 2
    await env.verifier.verify(make_token(new))
    assert env.endpoint.fetches == 2  # cached now


async def test_unknown_kid_within_cooldown_does_not_refetch(env: Env) -> None:
    await env.verifier.verify(make_token(env.es))
    new = eddsa_key("ed-2")
    env.endpoint.keys.append(new.public_jwk())
    env.clock.advance(COOLDOWN - 1)
    with pytest.raises(InvalidToken, match="no key"):
        await env.verifier.verify(make_token(new))
    assert env.endpoint.fetches == 1
    env.clock.advance(2)  # cooldown over: the next unknown kid may refetch once
    await env.verifier.verify(make_token(new))
    assert env.endpoint.fetches == 2


async def test_a_stream_of_unknown_kids_costs_one_fetch_per_cooldown(env: Env) -> None:
    await env.verifier.verify(make_token(env.es))
    env.clock.advance(COOLDOWN + 1)
    for i in range(200):
        env.clock.advance(0.1)  # 20 s of garbage kids
        with pytest.raises(InvalidToken):
            await env.verifier.verify(make_token(es256_key(f"made-up-{i}")))
    assert env.endpoint.fetches == 2


@pytest.mark.parametrize("primed", [False, True], ids=["cold-cache", "warm-cache"])
async def test_concurrent_unknown_kids_share_a_single_fetch(env: Env, primed: bool) -> None:
    if primed:
        await env.verifier.verify(make_token(env.es))
        env.clock.advance(COOLDOWN + 1)
    before = env.endpoint.fetches
    env.endpoint.delay = 0.05  # the fetch stays in flight while all 50 arrive
    tokens = [make_token(es256_key(f"unknown-{i}")) for i in range(50)]
    results = await _verify_all(env, tokens)
    assert all(isinstance(r, InvalidToken) for r in results)
    assert env.endpoint.fetches - before == 1


async def test_concurrent_tokens_for_a_new_key_all_verify_after_one_fetch(env: Env) -> None:
    await env.verifier.verify(make_token(env.ed))
    new = eddsa_key("ed-2")
    env.endpoint.keys.append(new.public_jwk())
    env.clock.advance(COOLDOWN + 1)
    env.endpoint.delay = 0.05
    results = await _verify_all(env, [make_token(new) for _ in range(30)])
    assert not [r for r in results if isinstance(r, Exception)]
    assert env.endpoint.fetches == 2


async def test_keys_are_refetched_after_max_age_and_rotated_out_keys_stop_working(
    env: Env,
) -> None:
    await env.verifier.verify(make_token(env.es))
    env.endpoint.keys = [env.ed.public_jwk()]  # issuer retired es-1
    env.clock.advance(MAX_AGE - 1)
    await env.verifier.verify(make_token(env.es))  # still within max-age: cached
    assert env.endpoint.fetches == 1
    env.clock.advance(2)
    with pytest.raises(InvalidToken, match="no key"):
        await env.verifier.verify(make_token(env.es))
    assert env.endpoint.fetches == 2
    await env.verifier.verify(make_token(env.ed))


# --- What a JWKS may hold --------------------------------------------------------------------


async def test_private_key_entries_are_ignored(env: Env) -> None:
    env.endpoint.keys = [env.es.private_jwk(), env.ed.public_jwk()]
    with pytest.raises(InvalidToken, match="no key"):
        await env.verifier.verify(make_token(env.es))
    await env.verifier.verify(make_token(env.ed))


def _entries() -> dict[str, dict[str, Any]]:
    es, ed = es256_key("bad"), eddsa_key("bad")
    good_ec, good_okp = es.public_jwk(), ed.public_jwk()
    return {
        "private-ec": es.private_jwk(),
        "private-okp": ed.private_jwk(),
        "symmetric-oct": {"kty": "oct", "kid": "bad", "k": b64(b"secret"), "alg": "HS256"},
        "rsa": {"kty": "RSA", "kid": "bad", "n": b64(b"\x01" * 256), "e": "AQAB"},
        "p384": {**good_ec, "crv": "P-384"},
        "x25519": {**good_okp, "crv": "X25519"},
        "use-enc": {**good_ec, "use": "enc"},
        "key-ops-sign-only": {**good_ec, "key_ops": ["sign"]},
        "key-ops-not-list": {**good_ec, "key_ops": "verify"},
        "alg-mismatch": {**good_okp, "alg": "ES256"},
        "alg-hs256": {**good_ec, "alg": "HS256"},
        "point-off-curve": {**good_ec, "y": good_ec["x"]},
        "short-coordinate": {**good_ec, "x": b64(b"\x01" * 31)},
        "padded-coordinate": {**good_ec, "x": good_ec["x"] + "="},
        "short-okp": {**good_okp, "x": b64(b"\x01" * 31)},
        "no-kid": {k: v for k, v in good_ec.items() if k != "kid"},
        "int-kid": {**good_ec, "kid": 1},
        "long-kid": {**good_ec, "kid": "k" * 129},
        "no-kty": {k: v for k, v in good_ec.items() if k != "kty"},
    }


@pytest.mark.parametrize("name", list(_entries()))
def test_unusable_jwks_entries_are_skipped_without_losing_the_good_ones(name: str) -> None:
    good = es256_key("good")
    entry = _entries()[name]
    keys = KeySet.from_jwks({"keys": [entry, "not-an-object", good.public_jwk()]})
    assert keys.kids() == {"good"}


def test_duplicate_kid_keeps_the_first_entry() -> None:
    first, second = es256_key("same"), eddsa_key("same")
    keys = KeySet.from_jwks({"keys": [first.public_jwk(), second.public_jwk()]})
    key = keys.get("same")
    assert key is not None
    assert key.alg == "ES256"


@pytest.mark.parametrize("document", [[], {"keys": {}}, {"keys": None}, {}, "keys"], ids=repr)
def test_documents_that_are_not_a_jwk_set_are_refused(document: object) -> None:
    with pytest.raises(ValueError, match="JWK Set"):
        KeySet.from_jwks(document)


def test_keys_are_parsed_once_into_cryptography_objects() -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    keys = KeySet.from_jwks({"keys": [es256_key("k").public_jwk()]})
    key = keys.get("k")
    assert key is not None
    assert isinstance(key.key, ec.EllipticCurvePublicKey)
    assert keys.get("k") is key


# --- Fetch failures --------------------------------------------------------------------------


def _respond(response: httpx.Response) -> Any:
    async def override(request: httpx.Request) -> httpx.Response:
        return response

    return override


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(500),
        httpx.Response(404),
        httpx.Response(302, headers={"Location": "http://127.0.0.1:9/jwks.json"}),
        httpx.Response(200, content=b"not json"),
        httpx.Response(200, content=b'{"keys":[],"keys":[]}'),
        httpx.Response(200, json={"keys": "nope"}),
        httpx.Response(200, json=[]),
        httpx.Response(200, content=b'{"keys":[' + b'{"kty":"EC"},' * 8000 + b"{}]}"),
    ],
    ids=["500", "404", "redirect", "not-json", "duplicate", "keys-not-list", "array", "huge"],
)
async def test_a_failed_first_fetch_is_unavailable_not_invalid(
    env: Env, response: httpx.Response
) -> None:
    env.endpoint.override = _respond(response)
    with pytest.raises(KeySetUnavailable) as info:
        await env.verifier.verify(make_token(env.es))
    assert info.value.status_code == 503
    assert env.endpoint.fetches == 1  # redirects are not followed


async def test_transport_errors_become_unavailable(env: Env) -> None:
    async def boom(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    env.endpoint.override = boom
    with pytest.raises(KeySetUnavailable) as info:
        await env.verifier.verify(make_token(env.es))
    causes: list[BaseException] = []
    cause: BaseException | None = info.value
    while cause is not None:
        causes.append(cause)
        cause = cause.__cause__
    assert any(isinstance(c, httpx.ConnectError) for c in causes)  # chained, for the logs


async def test_failed_fetches_are_not_retried_during_the_backoff(env: Env) -> None:
    env.endpoint.status = 503
    for _ in range(20):
        with pytest.raises(KeySetUnavailable):
            await env.verifier.verify(make_token(env.es))
    assert env.endpoint.fetches == 1
    env.endpoint.status = 200
    env.clock.advance(5)
    await env.verifier.verify(make_token(env.es))
    assert env.endpoint.fetches == 2


async def test_stale_keys_are_served_while_the_issuer_is_down_for_a_bounded_time(
    env: Env,
) -> None:
    await env.verifier.verify(make_token(env.es))
    env.endpoint.status = 500
    env.clock.advance(MAX_AGE + 10)
    await env.verifier.verify(make_token(env.es))  # stale-if-error
    assert env.endpoint.fetches == 2
    env.clock.advance(3600)
    with pytest.raises(KeySetUnavailable):
        await env.verifier.verify(make_token(env.es))


async def test_fetch_uses_the_injected_client_and_asks_for_a_jwk_set(env: Env) -> None:
    await env.verifier.verify(make_token(env.es))
    (request,) = env.endpoint.requests
    assert str(request.url) == JWKS_URI
    assert request.method == "GET"
    assert "application/jwk-set+json" in request.headers["accept"]


def test_cooldown_longer_than_max_age_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="cooldown"):
        RemoteKeySet(JWKS_URI, httpx.AsyncClient(), cooldown=700, max_age=600)


# --- RFC 8414 discovery ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("issuer", "expected"),
    [
        ("https://id.example", "https://id.example/.well-known/oauth-authorization-server"),
        ("https://id.example/", "https://id.example/.well-known/oauth-authorization-server"),
        ("https://h.example/t1", "https://h.example/.well-known/oauth-authorization-server/t1"),
        ("http://127.0.0.1:8700", "http://127.0.0.1:8700/.well-known/oauth-authorization-server"),
    ],
)
def test_metadata_url_follows_rfc_8414(issuer: str, expected: str) -> None:
    assert metadata_url(issuer) == expected


@pytest.mark.parametrize("issuer", ["ftp://id.example", "https://id.example?x=1", "id.example"])
def test_metadata_url_refuses_odd_issuers(issuer: str) -> None:
    with pytest.raises(ValueError, match="issuer"):
        metadata_url(issuer)


def _metadata_client(metadata: object) -> tuple[httpx.AsyncClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=metadata)

    return httpx.AsyncClient(transport=httpx.MockTransport(handle)), seen


async def test_discovery_returns_the_jwks_uri() -> None:
    client, seen = _metadata_client({"issuer": ISSUER, "jwks_uri": JWKS_URI})
    async with client:
        assert await discover_jwks_uri(client, ISSUER) == JWKS_URI
    assert str(seen[0].url) == f"{ISSUER}/.well-known/oauth-authorization-server"


@pytest.mark.parametrize(
    "metadata",
    [
        {"issuer": "https://evil.test", "jwks_uri": JWKS_URI},
        {"issuer": ISSUER + "/", "jwks_uri": JWKS_URI},
        {"issuer": ISSUER},
        {"issuer": ISSUER, "jwks_uri": 1},
        {"issuer": ISSUER, "jwks_uri": "http://id.tenantgate.test/jwks.json"},
        {"issuer": ISSUER, "jwks_uri": "file:///etc/passwd"},
    ],
    ids=["other-issuer", "issuer-slash", "no-jwks-uri", "int", "downgrade", "file"],
)
async def test_discovery_refuses_foreign_or_unsafe_metadata(metadata: dict[str, object]) -> None:
    client, _ = _metadata_client(metadata)
    async with client:
        with pytest.raises(KeySetUnavailable):
            await discover_jwks_uri(client, ISSUER)
