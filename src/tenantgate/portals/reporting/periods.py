"""The reporting period a user chose: a preset (last 7/30/90 days) or custom dates.

Parsed from query parameters on the server, always: the browser's date pickers are a
convenience, not a check. Days are UTC calendar days, as in the banking rollups."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

PRESETS = (7, 30, 90)
DEFAULT_PRESET = 30
#: The banking KPIs accept at most 367 days; the message here is the one users see.
MAX_DAYS = 367
#: Nothing was booked before the platform existed; refuse absurd years early.
EARLIEST = date(2000, 1, 1)
# ASCII digits only: `date.fromisoformat` alone accepts forms (20240101, week dates) that a
# date field never sends, and `\d` would match non-ASCII digits.
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)


class BadPeriod(ValueError):
    """The requested period is invalid; the message is safe and clear to show."""


@dataclass(frozen=True, slots=True)
class Period:
    start: date
    end: date
    preset: int | None  # 7, 30 or 90; None for custom dates

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def query(self) -> str:
        """The query string that names this period (for links and API calls)."""
        if self.preset is not None:
            return f"range={self.preset}"
        return f"start={self.start.isoformat()}&end={self.end.isoformat()}"

    def as_json(self) -> dict[str, object]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "days": self.days,
            "preset": self.preset,
        }


def today_utc(now: float) -> date:
    return datetime.fromtimestamp(now, UTC).date()


def _day(value: str, label: str) -> date:
    if len(value) != 10 or not _ISO_DAY.fullmatch(value):
        raise BadPeriod(f"The {label} date must be a date like 2024-05-31.")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadPeriod(f"The {label} date {value} does not exist.") from None


def parse_period(params: Mapping[str, str], today: date) -> Period:
    """`range=7|30|90`, or `start` and `end` (YYYY-MM-DD, inclusive); default: last 30 days."""
    start_text, end_text = params.get("start"), params.get("end")
    range_text = params.get("range")
    if start_text or end_text:
        if range_text:
            raise BadPeriod("Choose either a preset period or custom dates, not both.")
        if not start_text or not end_text:
            raise BadPeriod("A custom period needs both a start and an end date.")
        return custom_period(_day(start_text, "start"), _day(end_text, "end"), today)
    if range_text is None or range_text == "":
        return preset_period(DEFAULT_PRESET, today)
    if range_text not in {str(p) for p in PRESETS}:
        raise BadPeriod("Choose the last 7, 30 or 90 days, or custom dates.")
    return preset_period(int(range_text), today)


def preset_period(days: int, today: date) -> Period:
    return Period(today - timedelta(days=days - 1), today, days)


def custom_period(start: date, end: date, today: date) -> Period:
    if start < EARLIEST:
        raise BadPeriod(f"Reports start on {EARLIEST.isoformat()} at the earliest.")
    if end > today:
        raise BadPeriod("The period cannot end in the future.")
    if end < start:
        raise BadPeriod("The end date is before the start date.")
    if (end - start).days + 1 > MAX_DAYS:
        raise BadPeriod(f"Choose a period of at most {MAX_DAYS} days.")
    return Period(start, end, None)
