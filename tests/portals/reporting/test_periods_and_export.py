"""Period choice, CSV export and the `reporting:view` permission, over HTTP."""

from __future__ import annotations

import csv
import io
import secrets
from datetime import timedelta

import pytest

from tenantgate.bff.sessions import PortalSession, Tokens, digest, new_cookie_value
from tenantgate.portals.reporting.periods import today_utc

from ..harness import PortalWorld
from .steps import api, banner_of, dashboard, employee_login, employee_of_fi, fi_names, summary

pytestmark = pytest.mark.anyio


async def test_presets_and_custom_periods(reporting: PortalWorld) -> None:
    session = await employee_login(reporting, employee_of_fi(reporting, fi_names(reporting)[0]))
    today = today_utc(reporting.portal.clock())
    for days in (7, 30, 90):
        body = await summary(reporting, session, range=str(days))
        assert body["period"]["days"] == days == len(body["activity"])
        assert body["period"]["end"] == today.isoformat()
    start, end = today - timedelta(days=13), today - timedelta(days=4)
    body = await summary(reporting, session, start=start.isoformat(), end=end.isoformat())
    assert body["period"] == {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "days": 10,
        "preset": None,
    }
    page = await dashboard(reporting, f"?start={start.isoformat()}&end={end.isoformat()}")
    assert page.status_code == 200
    assert f'data-period="start={start.isoformat()}&amp;end={end.isoformat()}"' in page.text


BAD_PERIODS = [
    ({"range": "12"}, "7, 30 or 90"),
    ({"range": "7", "start": "2024-01-01", "end": "2024-01-02"}, "not both"),
    ({"start": "2024-01-01"}, "both a start and an end"),
    ({"start": "2024-02-30", "end": "2024-03-01"}, "does not exist"),
    ({"start": "01/02/2024", "end": "2024-03-01"}, "like 2024-05-31"),
    ({"start": "2024-0１-01", "end": "2024-03-01"}, "like 2024-05-31"),
    ({"start": "2024-03-02", "end": "2024-03-01"}, "before the start"),
    ({"start": "2020-01-01", "end": "2022-01-01"}, "at most 367 days"),
    ({"start": "1999-12-31", "end": "2000-01-05"}, "at the earliest"),
    ({"start": "2024-01-01", "end": "2999-01-01"}, "future"),
    ({"start": "' OR 1=1 --", "end": "x" * 5000}, "like 2024-05-31"),
]


async def test_bad_periods_are_clear_400s(reporting: PortalWorld) -> None:
    name = fi_names(reporting)[0]
    session = await employee_login(reporting, employee_of_fi(reporting, name))
    for params, message in BAD_PERIODS:
        for path in ("/api/summary", "/api/export.csv"):
            answer = await api(reporting, path, session, **params)
            assert answer.status_code == 400, (params, path, answer.text)
            assert answer.json()["error"] == "invalid_period"
            assert message in answer.json()["error_description"], params
        page = await reporting.browser.get("/dashboard", params=params)
        assert page.status_code == 400, params
        assert 'data-testid="period-error"' in page.text
        assert message in page.text
        assert banner_of(page.text) == name
        assert "data-period=" not in page.text  # no figures are loaded for a bad period


async def test_csv_export_is_the_session_fi_period(reporting: PortalWorld) -> None:
    session = await employee_login(reporting, employee_of_fi(reporting, fi_names(reporting)[1]))
    body = await summary(reporting, session, range="7")
    for by_header in (True, False):
        if by_header:
            answer = await api(reporting, "/api/export.csv", session, range="7")
        else:
            answer = await reporting.browser.get(
                "/api/export.csv", params={"range": "7", "session": session}
            )
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "text/csv; charset=utf-8"
        start, end = body["period"]["start"], body["period"]["end"]
        assert answer.headers["content-disposition"] == (
            f'attachment; filename="reporting-{start}-to-{end}.csv"'
        )
        assert answer.headers["cache-control"] == "no-store"
        rows = list(csv.reader(io.StringIO(answer.text)))
        assert rows[0] == [
            "day",
            "transactions",
            "volume",
            "active_customers",
            "logins",
            "failed_logins",
        ]
        assert [r[0] for r in rows[1:]] == [d["day"] for d in body["activity"]]
        assert sum(int(r[1]) for r in rows[1:]) == body["kpis"]["transactions"]
        assert all(not cell.startswith(("=", "+", "-", "@")) for r in rows for cell in r)
    # The page's download link names the session in the query (a plain link sends no header).
    page = await dashboard(reporting, "?range=7")
    assert f"/api/export.csv?range=7&amp;session={session}" in page.text


async def test_reporting_view_is_required(reporting: PortalWorld) -> None:
    """A live session on an FI without `reporting:view` (none can log in here today, as
    the identity server admits only employees to this client, so it is stored directly)."""
    now = reporting.portal.clock()
    cookie = new_cookie_value()
    session = PortalSession(
        id_digest=digest(cookie),
        public_id=secrets.token_urlsafe(12),
        subject="sub-without-permission",
        kind="employee",
        tokens=Tokens("not-a-real-access-token", "not-a-real-refresh-token"),
        access_expires_at=now + 900,
        csrf_token=secrets.token_urlsafe(24),
        created_at=now,
        last_seen_at=now,
        expires_at=now + 3600,
        tenant_id=reporting.identity.seed.tenants[fi_names(reporting)[0]],
        tenant_ref="ref-x",
        tenant_name=fi_names(reporting)[0],
        permissions=frozenset({"accounts:read"}),
    )
    await reporting.portal.sessions.create(session)
    reporting.browser.cookies.set("tg_reporting", cookie)
    page = await dashboard(reporting)
    assert page.status_code == 403
    assert "does not have reporting access" in page.text
    assert 'data-testid="kpi-transactions"' not in page.text
    for path in ("/api/summary", "/api/session", "/api/export.csv"):
        answer = await api(reporting, path, session.public_id)
        assert answer.status_code == 403, path
        assert answer.json()["error"] == "forbidden"
