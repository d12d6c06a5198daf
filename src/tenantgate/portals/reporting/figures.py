"""Turning the banking KPIs into what the dashboard shows: the summary JSON and the CSV.

Money leaves as exact strings (never floats): `amount` in major units for machines,
`formatted` for people."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from ...banking import Kpis, format_minor
from ...banking.money import minor_to_decimal
from ...bff.sessions import PortalSession
from .periods import Period

# The demo platform books every account in USD (banking generator); a multi-currency
# platform would carry the currency per KPI row from the banking read model instead.
CURRENCY = "USD"
# OWASP "CSV injection": a spreadsheet treats these first characters as a formula.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def money(minor: int) -> dict[str, Any]:
    return {
        "minor": minor,
        "amount": str(minor_to_decimal(minor)),
        "currency": CURRENCY,
        "formatted": f"${format_minor(minor)}",
    }


def summary_json(session: PortalSession, period: Period, kpis: Kpis) -> dict[str, Any]:
    """CONTRACT §3: `tenant` and `kpis` at the top level, for the session's FI only."""
    return {
        "session": session.public_id,
        "tenant": {"ref": session.tenant_ref, "name": session.tenant_name},
        "period": period.as_json(),
        "kpis": {
            "active_customers": kpis.active_customers,
            "transactions": kpis.transactions,
            "volume": money(kpis.volume_minor),
            "logins": kpis.logins,
            "failed_logins": kpis.failed_logins,
        },
        "activity": [
            {
                "day": day.day.isoformat(),
                "transactions": day.transactions,
                "volume": str(minor_to_decimal(day.volume_minor)),
                "active_customers": day.active_customers,
                "logins": day.logins,
                "failed_logins": day.failed_logins,
            }
            for day in kpis.series
        ],
        "by_kind": [
            {
                "kind": total.kind,
                "transactions": total.transactions,
                "volume": money(total.volume_minor),
                "share": _share(total.volume_minor, kpis.volume_minor),
            }
            for total in kpis.by_kind
        ],
    }


def _share(part: int, whole: int) -> str:
    """Percent of the period's volume, one decimal, as text (exact enough for a table)."""
    if whole <= 0:
        return "0.0"
    return f"{part * 100 / whole:.1f}"


def neutralize_cell(value: str) -> str:
    """Quote a cell a spreadsheet would run as a formula (prefix `'`)."""
    return f"'{value}" if value.startswith(_FORMULA_STARTS) else value


def csv_text(rows: Iterable[Sequence[str]]) -> str:
    """RFC 4180 CSV (CRLF), every cell made formula-safe.

    The banking rows are dates and non-negative numbers today; the quoting stays so a
    future column (an FI name, a transaction label) cannot turn into a formula."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        writer.writerow([neutralize_cell(str(cell)) for cell in row])
    return buffer.getvalue()


def export_filename(period: Period) -> str:
    # Only digits and dashes from validated dates: nothing to escape in the header.
    return f"reporting-{period.start.isoformat()}-to-{period.end.isoformat()}.csv"
