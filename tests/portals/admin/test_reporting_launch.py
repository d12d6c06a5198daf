"""The reporting hand-off (DESIGN §3, SECURITY "SSO token"): a one-time token for the
session's FI, in a POST body only, on a page nobody caches; refused without the grant."""

from __future__ import annotations

import re

import pytest

from ..harness import PortalWorld
from .html import Page
from .steps import REPORTING_URL, choose, sign_in, submit, tenant_names

pytestmark = pytest.mark.anyio
FIRST = "First Harbor Bank"


async def test_launch_hands_a_one_time_token_to_the_reporting_origin_in_a_form(
    admin: PortalWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    await sign_in(admin)
    home = await choose(admin, FIRST)
    button = home.page.one("reporting-button")
    assert button.form is not None
    assert button.form.attrs["target"] == "_blank"
    assert (button.form.action, button.form.method) == ("/reporting/launch", "post")
    assert set(button.form.fields) == {"csrf_token", "tenant_ref"}

    launched = await submit(admin, button)
    assert launched.status_code == 200
    assert launched.headers["cache-control"] == "no-store"
    assert launched.headers["referrer-policy"] == "no-referrer"
    assert f"form-action 'self' {REPORTING_URL}" in launched.headers["content-security-policy"]
    page = Page(launched.text)
    handoff = next(f for f in page.forms if "data-autopost" in f.attrs)
    assert (handoff.action, handoff.method) == (f"{REPORTING_URL}/sso/landing", "post")
    assert list(handoff.fields) == ["sso_token"]
    token = handoff.fields["sso_token"]
    assert len(token.split(".")) == 5
    assert all(token.split(".")[i] for i in (0, 2, 3, 4))
    assert re.findall(r"<script[^>]*>", launched.text) == [
        '<script type="module" src="/static/autopost.js">'
    ]
    assert page.one("current-tenant").text == FIRST
    assert token not in str(launched.url)
    assert "location" not in launched.headers

    redeemed = await admin.identity.redeem_sso(token)
    assert redeemed.status_code == 200, redeemed.text
    assert (await admin.identity.redeem_sso(token)).status_code == 400  # one time
    captured = capsys.readouterr()
    assert token not in captured.out + captured.err

    script = await admin.browser.get("/static/autopost.js")
    assert script.status_code == 200
    assert "form[data-autopost]" in script.text


async def test_launch_needs_csrf_and_a_post(admin: PortalWorld) -> None:
    await sign_in(admin)
    home = await choose(admin, FIRST)
    button = home.page.one("reporting-button")
    for refused in (
        await submit(admin, button, csrf_token=None),
        await submit(admin, button, csrf_token="x"),
    ):
        assert refused.status_code == 403
        assert "sso_token" not in refused.text
    assert (await admin.browser.get("/reporting/launch")).status_code == 405


async def test_ops_opens_reporting_on_its_first_institution_only(admin: PortalWorld) -> None:
    await sign_in(admin, "ops")
    first, second = tenant_names(admin, "ops")
    on_first = await choose(admin, first)
    button = on_first.page.one("reporting-button")
    assert "disabled" not in button.attrs
    assert (await submit(admin, button)).status_code == 200

    on_second = await choose(admin, second)
    button = on_second.page.one("reporting-button")
    assert "disabled" in button.attrs
    assert button.form is None
    assert "No reporting access" in on_second.page.one("reporting-refused").text
    refused = await admin.browser.post(
        "/reporting/launch",
        data={"csrf_token": on_second.csrf, "tenant_ref": on_second.tenant_ref},
        headers={"Origin": admin.url},
    )
    assert refused.status_code == 403
    assert f"Your access to {second} does not include reporting" in refused.text
    assert "sso_token" not in refused.text
    assert Page(refused.text).one("current-tenant").text == second
