"""Security headers (identity/web/headers.py): every default a response does not set
itself, once, and never in place of the response's own."""

from __future__ import annotations

import pytest

from tenantgate.identity.web.headers import DEFAULT_HEADERS, with_defaults

from ..harness import World

pytestmark = pytest.mark.anyio


def test_every_default_is_added_once_to_a_response_without_them() -> None:
    merged = with_defaults([(b"content-type", b"application/json")])
    assert merged == [(b"content-type", b"application/json"), *DEFAULT_HEADERS]


def test_a_header_the_response_sets_itself_wins_whatever_its_case() -> None:
    own = [(b"Cache-Control", b"public, max-age=60"), (b"x-frame-options", b"SAMEORIGIN")]
    merged = with_defaults(own)
    names = [name.lower() for name, _ in merged]
    assert len(names) == len(set(names)) == len(DEFAULT_HEADERS)
    assert merged[:2] == own
    assert (b"cache-control", b"no-store") not in merged
    assert (b"x-frame-options", b"DENY") not in merged


async def test_the_key_set_keeps_its_own_caching_and_gets_the_rest(world: World) -> None:
    answer = await world.http.get("/jwks.json")
    assert answer.headers.get_list("cache-control") == ["public, max-age=60"]
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["x-frame-options"] == "DENY"


async def test_a_token_answer_carries_every_default(world: World) -> None:
    scoped = await world.admin_in("First Harbor Bank")
    answer = await world.refresh("admin-portal", scoped["refresh_token"])
    assert answer.status_code == 200
    for name, value in DEFAULT_HEADERS:
        assert answer.headers.get_list(name.decode()) == [value.decode()]
