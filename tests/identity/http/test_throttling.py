"""Login throttling: per account and per client address, a sliding window kept in the
database; never an enumeration oracle, never a long lock-out for the victim."""

from __future__ import annotations

import asyncio
import json
import re

import httpx
import pytest
from sqlalchemy import func, select

from tenantgate.identity.storage import schema, sql_audit, sql_login
from tenantgate.identity.storage.sql_store import SqlIdentityStore
from tenantgate.identity.web.login_routes import (
    FAILED_TEXT,
    LOGIN_FAILED_TEXT,
    THROTTLED_TEXT,
    UNAVAILABLE_TEXT,
)

from ..harness import World

pytestmark = pytest.mark.anyio

WINDOW = 900  # IdentityConfig defaults, restated: the tests pin the documented numbers
ACCOUNT_LIMIT = 5
ADDRESS_LIMIT = 20


def error_text(response: httpx.Response) -> str:
    match = re.search(r'data-testid="login-error">([^<]*)<', response.text)
    assert match is not None, response.text
    return match.group(1)


async def attempt(world: World, username: str, password: str) -> httpx.Response:
    page, _ = await world.login_page("admin-portal")
    assert page.status_code == 200
    return await world.submit_login(page, username, password)


async def hammer(world: World, username: str, tries: int) -> list[str]:
    """A bounded loop of wrong passwords; the error text of each answer."""
    texts = []
    for i in range(tries):
        answer = await attempt(world, username, f"wrong password {i}")
        assert answer.status_code == 401
        texts.append(error_text(answer))
    return texts


async def test_a_loop_of_wrong_passwords_is_throttled_and_the_victim_logs_in_after_the_window(
    world: World,
) -> None:
    texts = await hammer(world, "admin", 12)
    assert texts[:ACCOUNT_LIMIT] == [LOGIN_FAILED_TEXT] * ACCOUNT_LIMIT
    assert texts[ACCOUNT_LIMIT:] == [THROTTLED_TEXT] * (12 - ACCOUNT_LIMIT)
    # Throttled means throttled: the right password is refused too, with the same page.
    right = await attempt(world, "admin", world.user("admin").password)
    assert right.status_code == 401
    assert error_text(right) == THROTTLED_TEXT
    assert "location" not in right.headers
    throttled = await world.audit_events("login.throttled")
    assert len(throttled) == 12 - ACCOUNT_LIMIT + 1
    assert json.loads(throttled[0]["detail"]) == {"username": "admin", "stage": "password"}
    assert throttled[0]["account_id"] is None  # no hint whether the account exists

    world.clock.advance(WINDOW + 1)
    assert (await attempt(world, "admin", world.user("admin").password)).status_code == 302


async def test_unknown_and_known_usernames_are_throttled_alike(world: World) -> None:
    known = await hammer(world, "ops", ACCOUNT_LIMIT + 2)
    unknown = await hammer(world, "no-such-admin", ACCOUNT_LIMIT + 2)
    assert known == unknown
    a = await attempt(world, "ops", "x" * 12)
    b = await attempt(world, "no-such-admin", "x" * 12)
    assert (a.status_code, error_text(a)) == (b.status_code, error_text(b))
    # Pages differ only by the echoed username and the per-response CSRF values.
    scrub = re.compile(r'value="[^"]*"')
    assert scrub.sub("", a.text.replace("ops", "U")) == scrub.sub(
        "", b.text.replace("no-such-admin", "U")
    )


async def test_the_window_slides(world: World) -> None:
    await hammer(world, "admin", 3)
    world.clock.advance(600)
    assert await hammer(world, "admin", 2) == [LOGIN_FAILED_TEXT] * 2
    assert await hammer(world, "admin", 1) == [THROTTLED_TEXT]
    world.clock.advance(WINDOW - 600 + 1)  # the first three fall out, the last two stay
    assert await hammer(world, "admin", 3) == [LOGIN_FAILED_TEXT] * 3
    assert await hammer(world, "admin", 1) == [THROTTLED_TEXT]


async def test_hammering_a_throttled_account_does_not_extend_the_lock(world: World) -> None:
    await hammer(world, "admin", ACCOUNT_LIMIT)
    world.clock.advance(WINDOW - 100)
    assert await hammer(world, "admin", 8) == [THROTTLED_TEXT] * 8
    world.clock.advance(101)
    assert (await attempt(world, "admin", world.user("admin").password)).status_code == 302


async def test_a_complete_login_forgives_the_account_failures(world: World) -> None:
    await hammer(world, "admin", ACCOUNT_LIMIT - 1)
    assert (await attempt(world, "admin", world.user("admin").password)).status_code == 302
    assert await hammer(world, "admin", ACCOUNT_LIMIT) == [LOGIN_FAILED_TEXT] * ACCOUNT_LIMIT
    assert await hammer(world, "admin", 1) == [THROTTLED_TEXT]


@pytest.mark.parametrize("where", ["in the code", "in the database"])
async def test_a_login_is_forgiven_only_with_its_code_and_audit_event(
    world: World, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """The throttle bookkeeping, the code and login.succeeded commit together (one
    transaction; on PostgreSQL one statement), or none of them does."""
    store = world.deps.store
    assert isinstance(store, SqlIdentityStore)
    await hammer(world, "admin", ACCOUNT_LIMIT - 1)

    def unavailable(*_: object) -> None:
        raise RuntimeError("audit trail unavailable")

    def without_event(event: object) -> dict[str, object]:
        return {**sql_audit.unnumbered_record(event), "event": None}  # type: ignore[arg-type]

    if where == "in the code":
        monkeypatch.setattr(sql_login, "append_audit_in", unavailable)
        monkeypatch.setattr(sql_login, "link_parameters", unavailable)
        status, text = 500, FAILED_TEXT
    elif store.dialect == "postgresql":
        # The one-statement completion's audit INSERT breaks a constraint, after its delete
        # and its code insert ran in the same statement.
        monkeypatch.setattr(sql_login, "unnumbered_record", without_event)
        status, text = 503, UNAVAILABLE_TEXT
    else:
        pytest.skip("SQLite completes a login in one transaction (the case above)")
    failed = await attempt(world, "admin", world.user("admin").password)
    monkeypatch.undo()
    assert failed.status_code == status
    assert error_text(failed) == text  # a page for the browser, not the cause
    assert "audit" not in failed.text

    async with store.engine.connect() as conn:
        codes = await conn.execute(select(func.count()).select_from(schema.authorization_codes))
        assert codes.scalar_one() == 0
    assert await world.audit_events("login.succeeded") == []
    # Nothing was forgiven, and the attempt that failed half-way counts as a failure.
    assert await hammer(world, "admin", 1) == [THROTTLED_TEXT]


async def test_one_address_spraying_many_usernames_is_throttled(world: World) -> None:
    texts = []
    for i in range(ADDRESS_LIMIT):
        texts.extend(await hammer(world, f"sprayed-{i}", 1))
    assert texts == [LOGIN_FAILED_TEXT] * ADDRESS_LIMIT
    # A fresh username, even with the right password, is refused from this address.
    right = await attempt(world, "ops", world.user("ops").password)
    assert error_text(right) == THROTTLED_TEXT
    # A good login of its own does not reset the address (the attacker's account).
    world.clock.advance(WINDOW + 1)
    assert (await attempt(world, "ops", world.user("ops").password)).status_code == 302


async def test_parallel_guesses_cannot_slip_past_the_limit_together(world: World) -> None:
    """20 guesses at once, from separate browsers: at most ACCOUNT_LIMIT get checked."""
    browsers = [world.browser() for _ in range(20)]
    try:
        pages = [(await world.login_page_in(b, "admin-portal"))[0] for b in browsers]

        async def guess(browser: httpx.AsyncClient, page: httpx.Response, i: int) -> str:
            answer = await world.submit_login(page, "admin", f"guess number {i}", via=browser)
            assert answer.status_code == 401
            return error_text(answer)

        results = await asyncio.gather(
            *(guess(b, p, i) for i, (b, p) in enumerate(zip(browsers, pages, strict=True)))
        )
    finally:
        for browser in browsers:
            await browser.aclose()
    checked = results.count(LOGIN_FAILED_TEXT)
    # Each attempt commits its row before counting, so the k-th sees at least k rows: a
    # burst may even be refused whole (every one saw the others), never let through.
    assert checked <= ACCOUNT_LIMIT, results
    assert results.count(THROTTLED_TEXT) == 20 - checked
    assert len(await world.audit_events("login.failed")) == checked
    # Throttled attempts were not counted: exactly the rest of the budget remains.
    remaining = ACCOUNT_LIMIT - checked
    assert await hammer(world, "admin", remaining + 1) == [LOGIN_FAILED_TEXT] * remaining + [
        THROTTLED_TEXT
    ]
