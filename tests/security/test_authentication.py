"""SECURITY.md matrix, row "Authentication", on the hosted login page of the running
identity server. Thorough: tests/identity/http/test_throttling.py, test_login_page.py,
test_totp.py, tests/identity/domain (password policy)."""

from __future__ import annotations

import re
import statistics
import time

import httpx
import pytest

from tenantgate.identity.domain.passwords import (
    MAX_PASSWORD_LENGTH,
    Passwords,
    PasswordTooWeak,
    check_password_policy,
)
from tenantgate.identity.web.login_routes import LOGIN_FAILED_TEXT, THROTTLED_TEXT

from ..identity.harness import World

pytestmark = pytest.mark.anyio
WINDOW, ACCOUNT_LIMIT = 900, 5  # docs/architecture.md "Login hardening"


def error_text(response: httpx.Response) -> str:
    found = re.search(r'data-testid="login-error">([^<]*)<', response.text)
    assert found is not None, response.text[:500]
    return found.group(1)


async def attempt(world: World, username: str, password: str) -> httpx.Response:
    page, _ = await world.login_page("admin-portal")
    assert page.status_code == 200
    return await world.submit_login(page, username, password)


async def test_bounded_loop_of_wrong_passwords_is_throttled(world: World) -> None:
    texts = []
    for i in range(ACCOUNT_LIMIT + 3):
        answer = await attempt(world, "ops", f"wrong password {i}")
        assert answer.status_code == 401
        texts.append(error_text(answer))
    assert texts == [LOGIN_FAILED_TEXT] * ACCOUNT_LIMIT + [THROTTLED_TEXT] * 3
    right = await attempt(world, "ops", world.user("ops").password)
    assert (right.status_code, error_text(right)) == (401, THROTTLED_TEXT)
    assert len(await world.audit_events("login.throttled")) == 4


async def test_victim_still_logs_in_after_the_cool_down(world: World) -> None:
    for i in range(ACCOUNT_LIMIT + 5):
        await attempt(world, "ops", f"attacker guess {i}")
    world.clock.advance(WINDOW + 1)
    answer = await attempt(world, "ops", world.user("ops").password)
    assert answer.status_code == 302, answer.text[:300]


async def test_unknown_user_vs_wrong_password_indistinguishable(world: World) -> None:
    """Body, status and median time, with OWASP-strength Argon2 (as in production)."""
    world.deps.passwords = Passwords()
    admin = await world.administration()
    await admin.set_password_hash("ops", world.deps.passwords.hash("the real password of ops"))

    def normalized(answer: httpx.Response) -> str:
        # The per-request hidden fields (state, CSRF) differ; the username is echoed back.
        text = re.sub(r'value="[^"]*"', 'value=""', answer.text)
        return text.replace("no-such-user", "USERNAME").replace("ops", "USERNAME")

    timings: dict[str, list[float]] = {"ops": [], "no-such-user": []}
    bodies: dict[str, set[str]] = {"ops": set(), "no-such-user": set()}
    for _ in range(ACCOUNT_LIMIT):
        for username in timings:
            page, _ = await world.login_page("admin-portal")
            started = time.perf_counter()
            answer = await world.submit_login(page, username, "a wrong password")
            timings[username].append(time.perf_counter() - started)
            assert answer.status_code == 401
            assert error_text(answer) == LOGIN_FAILED_TEXT
            bodies[username].add(normalized(answer))
    assert bodies["ops"] == bodies["no-such-user"]
    # Argon2 dominates both paths; a skipped hash would make one ~10x faster. The minimum
    # is the least disturbed by a loaded machine; the median is checked more loosely.
    fast, slow = sorted(min(t) for t in timings.values())
    assert slow / fast < 2, timings
    fast, slow = sorted(statistics.median(t) for t in timings.values())
    assert slow / fast < 3, timings


async def test_passwords_of_64_and_1000_plus_characters(world: World) -> None:
    admin = await world.administration()
    for length in (64, 65, 1000, MAX_PASSWORD_LENGTH):
        password = ("correct horse battery staple " * 40)[: length - 4] + f"{length:04d}"
        assert len(password) == length
        check_password_policy(password)
        await admin.set_password_hash("ops", world.deps.passwords.hash(password))
        assert (await attempt(world, "ops", password)).status_code == 302, length
        # No truncation: a prefix of the password is not the password.
        wrong = await attempt(world, "ops", password[:-1])
        assert wrong.status_code == 401, length
        world.clock.advance(WINDOW + 1)  # forget the counted failure
    too_long = "x" * (MAX_PASSWORD_LENGTH + 1)
    with pytest.raises(PasswordTooWeak):
        check_password_policy(too_long)
    answer = await attempt(world, "ops", too_long + "y" * 5000)
    assert (answer.status_code, error_text(answer)) == (401, LOGIN_FAILED_TEXT)


async def test_grant_type_password_refused(world: World) -> None:
    answer = await world.token(
        "admin-portal",
        grant_type="password",
        username="admin",
        password=world.user("admin").password,
    )
    assert (answer.status_code, answer.json()["error"]) == (400, "unsupported_grant_type")
    anonymous = await world.http.post(
        "/token",
        data={"grant_type": "password", "username": "admin", "password": "x"},
    )
    assert anonymous.status_code in (400, 401)
    assert await world.audit_events("login.succeeded") == []
