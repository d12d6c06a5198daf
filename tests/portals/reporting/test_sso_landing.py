"""The SSO landing: an admin arrives from the admin portal (DESIGN §3, CONTRACT §4.1–2)."""

from __future__ import annotations

import logging

import pytest

from tenantgate.portals.reporting.sso import MAX_SSO_TOKEN, REFUSED_TITLE

from ..harness import PortalWorld
from .steps import (
    api,
    banner_of,
    dashboard,
    fi_names,
    land,
    mint_sso,
    session_of,
    sso_session,
    summary,
)

pytestmark = pytest.mark.anyio


async def test_landing_starts_a_session_for_the_token_fi(reporting: PortalWorld) -> None:
    first = fi_names(reporting)[0]
    token = await mint_sso(reporting, first)
    landed = await land(reporting, token)
    assert landed.status_code == 200
    assert landed.headers["cache-control"] == "no-store"
    assert landed.headers["referrer-policy"] == "no-referrer"
    # A same-origin continue page, not a redirect that would carry anything in a URL.
    assert 'http-equiv="refresh" content="0;url=/dashboard"' in landed.text
    assert token not in landed.text
    assert "location" not in landed.headers
    page = await dashboard(reporting)
    assert page.status_code == 200
    assert banner_of(page.text) == first
    body = await summary(reporting, session_of(page.text))
    assert body["tenant"]["name"] == first


REFUSALS = ["replayed", "garbage", "five-segment garbage", "too long", "missing", "expired"]


async def test_every_refusal_is_the_same_readable_400_page(reporting: PortalWorld) -> None:
    for case in REFUSALS:  # "expired" last: it moves the clock
        token = await mint_sso(reporting, fi_names(reporting)[0])
        if case == "replayed":
            assert (await reporting.identity.redeem_sso(token)).status_code == 200
        elif case == "garbage":
            token = "not a token <script>"
        elif case == "five-segment garbage":
            token = "eyJhbGciOiJub25lIn0.a.b.c.d"
        elif case == "expired":
            reporting.identity.clock.advance(121)
        elif case == "too long":
            token = "a" * (MAX_SSO_TOKEN + 1)
        if case == "missing":
            landed = await reporting.browser.post("/sso/landing", data={"other": "x"})
        else:
            landed = await land(reporting, token)
        assert landed.status_code == 400, case
        assert REFUSED_TITLE in landed.text
        assert landed.headers["cache-control"] == "no-store"
        assert landed.headers["referrer-policy"] == "no-referrer"
        assert "set-cookie" not in landed.headers
        assert (await dashboard(reporting)).status_code == 401


async def test_a_refused_landing_leaves_the_current_session_alone(reporting: PortalWorld) -> None:
    session = await sso_session(reporting, fi_names(reporting)[0])
    assert (await land(reporting, "x.y.z.w.v")).status_code == 400
    assert (await api(reporting, "/api/session", session)).status_code == 200


async def test_landing_only_accepts_post_and_bounded_forms(reporting: PortalWorld) -> None:
    token = await mint_sso(reporting, fi_names(reporting)[0])
    # GET (a token in a URL) is not a way in.
    answer = await reporting.browser.get("/sso/landing", params={"sso_token": token})
    assert answer.status_code == 405
    fields = {f"f{i}": "x" for i in range(20)} | {"sso_token": token}
    assert (await reporting.browser.post("/sso/landing", data=fields)).status_code == 400
    huge = await reporting.browser.post("/sso/landing", data={"sso_token": "a" * 200_000})
    assert huge.status_code == 413
    # The token was never redeemed by those attempts: it still works once.
    assert (await land(reporting, token)).status_code == 200


async def test_the_sso_token_never_reaches_a_log(
    reporting: PortalWorld, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    token = await mint_sso(reporting, fi_names(reporting)[0])
    assert (await land(reporting, token)).status_code == 200
    assert (await land(reporting, token)).status_code == 400  # replay: logged as refused
    captured = capsys.readouterr()
    logged = caplog.text + captured.out + captured.err
    assert "sso_landing_completed" in logged
    assert "sso_landing_refused" in logged
    for part in token.split("."):
        if len(part) > 8:
            assert part not in logged
