"""Pure pieces: period parsing, CSV safety, the login-callback cookie detection."""

from __future__ import annotations

from datetime import date

import pytest

from tenantgate.portals.reporting.figures import csv_text, neutralize_cell
from tenantgate.portals.reporting.periods import BadPeriod, parse_period
from tenantgate.portals.reporting.replacement import _sets_new_session

TODAY = date(2024, 6, 30)


def test_default_and_preset_periods() -> None:
    assert parse_period({}, TODAY).query() == "range=30"
    week = parse_period({"range": "7"}, TODAY)
    assert (week.start, week.end, week.days) == (date(2024, 6, 24), TODAY, 7)
    custom = parse_period({"start": "2024-02-28", "end": "2024-03-01"}, TODAY)
    assert custom.days == 3
    assert custom.preset is None
    assert custom.query() == "start=2024-02-28&end=2024-03-01"
    assert parse_period({"start": "2023-06-30", "end": "2024-06-30"}, TODAY).days == 367


@pytest.mark.parametrize(
    "params",
    [
        {"range": "0"},
        {"range": "-7"},
        {"range": "7.0"},
        {"end": "2024-06-01"},
        {"start": "2024-6-1", "end": "2024-06-02"},
        {"start": "２０２４-06-01", "end": "2024-06-02"},
        {"start": "2024-06-01T00:00", "end": "2024-06-02"},
        {"start": "2024-07-01", "end": "2024-07-01"},
        {"start": "2023-06-29", "end": "2024-06-30"},
    ],
)
def test_bad_periods(params: dict[str, str]) -> None:
    with pytest.raises(BadPeriod):
        parse_period(params, TODAY)


@pytest.mark.parametrize(
    ("cell", "safe"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1", "'+1"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("2024-01-01", "2024-01-01"),
        ("12.50", "12.50"),
        ("", ""),
    ],
)
def test_csv_cells_cannot_be_formulas(cell: str, safe: str) -> None:
    assert neutralize_cell(cell) == safe


def test_csv_text_quotes_and_neutralizes() -> None:
    text = csv_text([("day", "note"), ("2024-01-01", '=1+2,"x"')])
    assert text == 'day,note\r\n2024-01-01,"\'=1+2,""x"""\r\n'


def _start(*cookies: str) -> dict[str, object]:
    return {
        "type": "http.response.start",
        "status": 200,
        "headers": [(b"set-cookie", c.encode()) for c in cookies],
    }


def test_only_a_set_session_cookie_counts_as_a_new_session() -> None:
    assert _sets_new_session(_start("tg_reporting=abc; HttpOnly; Path=/"), "tg_reporting")
    assert not _sets_new_session(_start('tg_reporting=""; Max-Age=0; Path=/'), "tg_reporting")
    assert not _sets_new_session(_start("tg_reporting_login=abc; Path=/"), "tg_reporting")
    assert not _sets_new_session(_start(), "tg_reporting")
