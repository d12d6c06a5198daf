"""TOTP as a second factor for admins: the hosted second step, single-use codes, attempt
limits, the pending-login state and its binding, the sealed secret."""

from __future__ import annotations

import asyncio
import re
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import select, update

from tenantgate.identity.storage.schema import accounts, pending_logins
from tenantgate.identity.storage.sql_store import SqlIdentityStore
from tenantgate.identity.web.login_routes import (
    THROTTLED_TEXT,
    TOTP_FAILED_TEXT,
    TOTP_RESTART_TEXT,
)

from ..harness import World

pytestmark = pytest.mark.anyio
USER = "admin-totp"


def error_text(response: httpx.Response) -> str:
    match = re.search(r'data-testid="login-error">([^<]*)<', response.text)
    assert match is not None, response.text
    return match.group(1)


def is_password_step(response: httpx.Response) -> bool:
    return 'data-testid="login-password"' in response.text and "login-totp" not in response.text


async def password_step(world: World, via: httpx.AsyncClient | None = None) -> httpx.Response:
    page, _ = await world.login_page_in(via or world.http, "admin-portal")
    answer = await world.submit_login(page, USER, world.user(USER).password, via=via)
    assert answer.status_code == 200, answer.text
    return answer


def engine_of(world: World) -> SqlIdentityStore:
    store = world.deps.store
    assert isinstance(store, SqlIdentityStore)
    return store


async def test_the_password_leads_to_a_code_step_and_the_code_to_a_usable_code(
    world: World,
) -> None:
    page, verifier = await world.login_page("admin-portal", state="st-1")
    second = await world.submit_login(page, USER, world.user(USER).password)
    assert second.status_code == 200
    assert "location" not in second.headers  # no code before the second factor
    for hook in ('data-testid="login-totp"', 'data-testid="login-submit"'):
        assert hook in second.text
    assert 'data-testid="login-password"' not in second.text
    cookie = next(c for c in second.headers.get_list("set-cookie") if c.startswith("tg_mfa="))
    assert "HttpOnly" in cookie
    assert "samesite=strict" in cookie.lower()
    assert "Max-Age=300" in cookie

    done = await world.submit_totp(second, world.totp_code())
    assert done.status_code == 302, done.text
    query = parse_qs(urlsplit(done.headers["location"]).query)
    assert query["state"] == ["st-1"]
    dropped = " ".join(done.headers.get_list("set-cookie"))
    assert 'tg_mfa=""' in dropped or "tg_mfa=;" in dropped or "Max-Age=0" in dropped
    tokens = await world.token(
        "admin-portal",
        grant_type="authorization_code",
        code=query["code"][0],
        code_verifier=verifier,
        redirect_uri=world.client("admin-portal")["redirect_uri"],
    )
    assert tokens.status_code == 200, tokens.text
    names = [e["event"] for e in await world.audit_events()]
    assert names.index("login.totp_required") < names.index("login.succeeded")
    async with engine_of(world).engine.connect() as conn:
        left = (await conn.execute(select(pending_logins))).all()
    assert left == []  # no server-side login state survives the code


async def test_password_only_admins_are_not_asked_for_a_code(world: World) -> None:
    for username in ("admin", "ops"):
        page, _ = await world.login_page("admin-portal")
        answer = await world.submit_login(page, username, world.user(username).password)
        assert answer.status_code == 302


async def test_a_code_is_single_use(world: World) -> None:
    code = world.totp_code()
    assert (await world.submit_totp(await password_step(world), code)).status_code == 302
    again = await world.submit_totp(await password_step(world), code)
    assert again.status_code == 401
    assert error_text(again) == TOTP_FAILED_TEXT
    # The previous step's code (still inside the drift window) is refused as well.
    earlier = await world.submit_totp(again, world.totp_code(offset_steps=-1))
    assert earlier.status_code == 401
    world.clock.advance(30)
    assert (await world.submit_totp(earlier, world.totp_code())).status_code == 302
    reasons = [e["detail"] for e in await world.audit_events("login.totp_failed")]
    assert any("already used" in r for r in reasons)


async def test_two_parallel_submissions_of_one_code_win_once(world: World) -> None:
    browsers = [world.browser(), world.browser()]
    try:
        steps = [await password_step(world, via=b) for b in browsers]
        code = world.totp_code()
        answers = await asyncio.gather(
            *(world.submit_totp(s, code, via=b) for s, b in zip(steps, browsers, strict=True))
        )
    finally:
        for b in browsers:
            await b.aclose()
    assert sorted(a.status_code for a in answers) == [302, 401]


async def test_codes_outside_the_drift_window_and_garbage_are_refused(world: World) -> None:
    step = await password_step(world)
    for code in (
        world.totp_code(offset_steps=2),
        world.totp_code(offset_steps=-2),
        "000000" if world.totp_code() != "000000" else "111111",
        "",
        "12345",
        "1234567",
        "abcdef",
        "١٢٣٤٥٦",  # Arabic-Indic digits: isdigit() but not ASCII
    ):
        step = await world.submit_totp(step, code)
        if is_password_step(step):
            break
        assert step.status_code == 401
        assert error_text(step) == TOTP_FAILED_TEXT


async def test_five_wrong_codes_send_the_user_back_to_the_password(world: World) -> None:
    step = await password_step(world)
    wrong = "000000" if world.totp_code() != "000000" else "111111"
    for _ in range(4):
        step = await world.submit_totp(step, wrong)
        assert error_text(step) == TOTP_FAILED_TEXT
    back = await world.submit_totp(step, wrong)
    assert is_password_step(back)
    assert error_text(back) == TOTP_RESTART_TEXT
    # The pending login is gone: the right code with the old state is useless now.
    stale = await world.submit_totp(step, world.totp_code())
    assert is_password_step(stale)
    # Wrong codes are failures of the account: the password step is now throttled too …
    page, _ = await world.login_page("admin-portal")
    throttled = await world.submit_login(page, USER, world.user(USER).password)
    assert error_text(throttled) == THROTTLED_TEXT
    # … for one window only.
    world.clock.advance(901)
    assert (await world.submit_totp(await password_step(world), world.totp_code())).status_code == (
        302
    )


async def test_the_code_step_cannot_be_reached_without_the_password(world: World) -> None:
    page, _ = await world.login_page("admin-portal")
    html = page.text + (
        '<input type="hidden" name="step" value="totp">'
        '<input data-testid="login-totp">'  # let submit_totp accept the page
    )
    forged = httpx.Response(200, text=html)
    answer = await world.submit_totp(forged, world.totp_code())
    assert answer.status_code == 401
    assert is_password_step(answer)
    # A made-up pending cookie does not help either.
    world.http.cookies.set("tg_mfa", "A" * 43)
    answer = await world.submit_totp(forged, world.totp_code())
    assert is_password_step(answer)
    assert not await world.audit_events("login.succeeded")


async def test_the_pending_login_is_bound_to_its_authorization_request(world: World) -> None:
    await password_step(world)  # the browser now holds the pending cookie of request A
    other_page, _ = await world.login_page("admin-portal", state="request-B")
    html = other_page.text + '<input type="hidden" name="step" value="totp">login-totp'
    answer = await world.submit_totp(
        httpx.Response(200, text=html.replace("login-totp", 'data-testid="login-totp"')),
        world.totp_code(),
    )
    assert is_password_step(answer)
    assert not await world.audit_events("login.succeeded")


async def test_the_pending_login_expires(world: World) -> None:
    step = await password_step(world)
    world.clock.advance(301)
    answer = await world.submit_totp(step, world.totp_code())
    assert is_password_step(answer)
    assert error_text(answer) == TOTP_RESTART_TEXT


async def test_disabling_the_account_between_the_steps_stops_the_login(world: World) -> None:
    step = await password_step(world)
    await (await world.administration()).set_account_active(USER, False)
    assert is_password_step(await world.submit_totp(step, world.totp_code()))


async def test_the_secret_is_sealed_and_cannot_be_moved_to_another_account(world: World) -> None:
    secret = world.user(USER).totp_secret
    assert secret is not None
    async with engine_of(world).engine.begin() as conn:
        sealed = (
            await conn.execute(select(accounts.c.totp_sealed).where(accounts.c.username == USER))
        ).scalar_one()
        assert secret not in sealed
        # An attacker with database write access copies the sealed secret they know the
        # code of onto `admin`: the associated data (the subject) makes it unusable there.
        await conn.execute(
            update(accounts).where(accounts.c.username == "admin").values(totp_sealed=sealed)
        )
    page, _ = await world.login_page("admin-portal")
    step = await world.submit_login(page, "admin", world.user("admin").password)
    assert 'data-testid="login-totp"' in step.text
    answer = await world.submit_totp(step, world.totp_code())
    assert answer.status_code == 401
    assert not await world.audit_events("login.succeeded")
