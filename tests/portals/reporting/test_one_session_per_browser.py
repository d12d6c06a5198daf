"""One reporting session per browser, enforced by the server (DESIGN §3, CONTRACT §3)."""

from __future__ import annotations

import pytest

from tenantgate.bff.sessions import digest

from ..harness import PortalWorld
from .steps import (
    api,
    dashboard,
    employee_login,
    employee_of_fi,
    fi_names,
    sso_session,
    summary,
)

pytestmark = pytest.mark.anyio


async def test_a_second_landing_for_another_fi_ends_the_first_session(
    reporting: PortalWorld,
) -> None:
    first, second = fi_names(reporting)[:2]
    session_a = await sso_session(reporting, first)
    cookie_a = reporting.browser.cookies["tg_reporting"]
    session_b = await sso_session(reporting, second)
    assert session_a != session_b
    # The old tab's calls name session A: refused, and they never get B's figures.
    for path in ("/api/summary", "/api/session", "/api/export.csv"):
        refused = await api(reporting, path, session_a)
        assert refused.status_code == 409, path
        assert refused.json()["error"] == "session_replaced"
        assert second not in refused.text
    assert (await summary(reporting, session_b))["tenant"]["name"] == second
    # Session A itself ended on the server: its cookie is worth nothing now.
    cookie_b = reporting.browser.cookies["tg_reporting"]
    reporting.browser.cookies.set("tg_reporting", cookie_a)
    assert (await api(reporting, "/api/summary", session_a)).status_code == 401
    assert (await dashboard(reporting)).status_code == 401
    reporting.browser.cookies.set("tg_reporting", cookie_b)
    assert (await dashboard(reporting)).status_code == 200


async def test_the_replaced_session_tokens_are_revoked_at_the_identity_server(
    reporting: PortalWorld,
) -> None:
    first, second = fi_names(reporting)[:2]
    await sso_session(reporting, first)
    old = await reporting.portal.current_session(reporting.browser.cookies["tg_reporting"])
    await sso_session(reporting, second)
    introspected = await reporting.identity.introspect("reporting-portal", old.tokens.refresh_token)
    assert introspected["active"] is False


async def test_a_direct_login_also_replaces_the_browser_session(reporting: PortalWorld) -> None:
    first, second = fi_names(reporting)[:2]
    session_a = await sso_session(reporting, first)
    cookie_a = reporting.browser.cookies["tg_reporting"]
    session_b = await employee_login(reporting, employee_of_fi(reporting, second))
    assert (await api(reporting, "/api/summary", session_a)).status_code == 409
    assert (await summary(reporting, session_b))["tenant"]["name"] == second
    assert await reporting.portal.sessions.load(digest(cookie_a)) is None


WRONG_NAMES: list[bytes | None] = [
    None,
    b"",
    b"wrong-session-id1",
    b"x" * 65,
    "not the id\u00e9".encode("latin-1"),
]


async def test_an_api_call_must_name_the_current_session(reporting: PortalWorld) -> None:
    session = await employee_login(reporting, employee_of_fi(reporting, fi_names(reporting)[0]))
    # A case-changed id, when the random id has letters of the other case (one CI run drew
    # '1N0HGEJYVAU7DN-V', whose upper() is itself, and rightly got 200).
    variants = [v for v in (session[:-1], session + "x", session.swapcase()) if v != session]
    for named in [*WRONG_NAMES, *(v.encode() for v in variants)]:
        headers = {} if named is None else {b"X-Reporting-Session": named}
        for path in ("/api/summary", "/api/session", "/api/export.csv"):
            answer = await reporting.browser.get(path, headers=headers)
            assert answer.status_code == 409, (named, path, answer.text)
            assert answer.json()["error"] == "session_replaced"


async def test_logout_ends_the_session(reporting: PortalWorld) -> None:
    session = await employee_login(reporting, employee_of_fi(reporting, fi_names(reporting)[0]))
    page = await dashboard(reporting)
    answer = await reporting.browser.post(
        "/auth/logout",
        data={"csrf_token": reporting.csrf(page.text)},
        headers={"Origin": reporting.url},
    )
    assert answer.status_code == 200
    assert (await api(reporting, "/api/summary", session)).status_code == 401
