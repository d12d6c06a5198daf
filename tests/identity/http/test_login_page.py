from __future__ import annotations

import re
import statistics
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from argon2 import PasswordHasher

from tenantgate.identity.domain.passwords import Passwords

from ..harness import ISSUER, World

pytestmark = pytest.mark.anyio


async def test_the_hosted_page_carries_the_contract_hooks(world: World) -> None:
    page, _ = await world.login_page("admin-portal")
    assert page.status_code == 200
    for hook in ("login-username", "login-password", "login-submit"):
        assert f'data-testid="{hook}"' in page.text
    assert "login-error" not in page.text
    csp = page.headers["content-security-policy"]
    assert "script-src" not in csp  # default-src 'none': no script at all
    assert "frame-ancestors 'none'" in csp
    assert page.headers["x-content-type-options"] == "nosniff"


async def test_success_redirects_with_code_state_and_issuer_and_drops_the_login_cookie(
    world: World,
) -> None:
    page, _ = await world.login_page("admin-portal", state="s-123")
    answer = await world.submit_login(page, "admin", world.user("admin").password)
    assert answer.status_code == 302
    location = urlsplit(answer.headers["location"])
    assert (
        f"{location.scheme}://{location.netloc}{location.path}"
        == world.client("admin-portal")["redirect_uri"]
    )
    query = parse_qs(location.query)
    assert query["state"] == ["s-123"]
    assert query["iss"] == [ISSUER]
    assert len(query["code"][0]) >= 43
    assert (
        'tg_login=""' in answer.headers["set-cookie"] or "Max-Age=0" in answer.headers["set-cookie"]
    )


def _error_text(html: str) -> str:
    match = re.search(r'data-testid="login-error">([^<]*)<', html)
    assert match is not None, html
    return match.group(1)


async def test_wrong_password_and_unknown_user_get_the_same_answer(world: World) -> None:
    page, _ = await world.login_page("admin-portal")
    wrong = await world.submit_login(page, "admin", "not-the-password")
    page, _ = await world.login_page("admin-portal")
    unknown = await world.submit_login(page, "nobody-here", "not-the-password")
    assert wrong.status_code == unknown.status_code == 401
    assert _error_text(wrong.text) == _error_text(unknown.text)
    assert _normalised(wrong.text, "admin") == _normalised(unknown.text, "nobody-here")


def _normalised(html: str, username: str) -> str:
    """The page without what differs per request by design: nonces and the echoed name."""
    html = re.sub(r'name="(csrf|state|code_challenge)" value="[^"]*"', "", html)
    return html.replace(f'value="{username}"', 'value=""')


@pytest.mark.parametrize(
    ("client_id", "username"),
    [("admin-portal", "customer"), ("customer-portal", "admin"), ("reporting-portal", "admin")],
)
async def test_an_account_cannot_log_in_through_a_portal_not_made_for_it(
    world: World, client_id: str, username: str
) -> None:
    user = world.customer_of() if username == "customer" else world.user(username)
    page, _ = await world.login_page(client_id)
    answer = await world.submit_login(page, user.username, user.password)
    assert answer.status_code == 401
    assert _error_text(answer.text) == "The username or password is not correct."


async def test_a_disabled_account_cannot_log_in(world: World) -> None:
    await (await world.administration()).set_account_active("ops", False)
    page, _ = await world.login_page("admin-portal")
    answer = await world.submit_login(page, "ops", world.user("ops").password)
    assert answer.status_code == 401


async def test_a_login_without_the_csrf_cookie_is_refused(world: World) -> None:
    page, _ = await world.login_page("admin-portal")
    world.http.cookies.clear()
    answer = await world.submit_login(page, "admin", world.user("admin").password)
    assert answer.status_code == 401
    assert "expired" in _error_text(answer.text)
    assert "location" not in answer.headers


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "http://127.0.0.1:8701/auth/callback/extra",  # path suffix
        "http://127.0.0.1:8701/auth/callbackx",  # string suffix
        "http://127.0.0.1:8701/auth/",  # other path
        "http://127.0.0.1:8701/AUTH/CALLBACK",  # case
        "HTTP://127.0.0.1:8701/auth/callback",  # scheme case
        "https://127.0.0.1:8701/auth/callback",  # scheme
        "http://evil@127.0.0.1:8701/auth/callback",  # userinfo
        "http://127.0.0.1:8701@evil.example/auth/callback",  # userinfo trick
        "http://127.0.0.1:8701/auth/callback?next=https://evil.example",  # query
        "http://127.0.0.1:8701/auth/callback#frag",  # fragment
        "http://127.0.0.1:8702/auth/callback",  # another portal's URI
        "//evil.example/auth/callback",
        "",
    ],
)
async def test_redirect_uri_variants_get_an_error_page_and_no_redirect(
    world: World, redirect_uri: str
) -> None:
    page, _ = await world.login_page("admin-portal", redirect_uri=redirect_uri)
    assert page.status_code == 400
    assert "location" not in page.headers
    assert 'data-testid="login-error"' in page.text
    assert "login-password" not in page.text


async def test_an_unknown_client_gets_an_error_page(world: World) -> None:
    page, _ = await world.login_page("admin-portal", client_id="evil-portal")
    assert page.status_code == 400
    assert "location" not in page.headers


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": ""}, "invalid_request"),
        ({"code_challenge": "too-short"}, "invalid_request"),
    ],
)
async def test_bad_requests_from_a_proven_client_go_back_to_it_with_an_error(
    world: World, overrides: dict[str, str], error: str
) -> None:
    page, _ = await world.login_page("admin-portal", state="st", **overrides)
    assert page.status_code == 302
    query = parse_qs(urlsplit(page.headers["location"]).query)
    assert query["error"] == [error]
    assert query["state"] == ["st"]


async def test_login_rehashes_passwords_stored_with_old_parameters(world: World) -> None:
    admin = await world.administration()
    old_hash = PasswordHasher(time_cost=1, memory_cost=512, parallelism=1).hash("an old password")
    await admin.set_password_hash("ops", old_hash)
    page, _ = await world.login_page("admin-portal")
    answer = await world.submit_login(page, "ops", "an old password")
    assert answer.status_code == 302
    account = await world.deps.store.account_by_username("ops")
    assert account is not None
    assert account.password_hash != old_hash
    assert world.deps.passwords.verify(account.password_hash, "an old password")


@pytest.mark.slow
async def test_unknown_user_and_wrong_password_take_the_same_time(world: World) -> None:
    """Timing is the attack here: with real Argon2 parameters, medians stay close."""
    world.deps.passwords = Passwords()  # OWASP parameters; the stored hash is rehashed on login
    admin = await world.administration()
    await admin.set_password_hash("ops", world.deps.passwords.hash("the real password"))

    async def attempt(username: str) -> float:
        page, _ = await world.login_page("admin-portal")
        started = time.perf_counter()
        answer = await world.submit_login(page, username, "a wrong password")
        elapsed = time.perf_counter() - started
        assert answer.status_code == 401
        return elapsed

    known, unknown = [], []
    for _ in range(7):
        known.append(await attempt("ops"))
        unknown.append(await attempt("no-such-user"))
    fast, slow = sorted([statistics.median(known), statistics.median(unknown)])
    # Argon2 dominates both paths; a skipped hash would make one path ~10× faster.
    assert slow / fast < 1.5, (known, unknown)
