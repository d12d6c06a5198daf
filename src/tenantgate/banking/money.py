"""Money as integer minor units (cents), and parsing what a user typed into an amount field.

Floats never touch money: binary floating point cannot represent 0.10 exactly, and rounding
errors in balances are not acceptable. Amounts are parsed with a strict pattern first and only
then with ``Decimal``, because ``Decimal`` alone happily accepts ``NaN``, ``Infinity``, ``1e3``,
``+5`` and Unicode digits — all of which a transfer form must refuse.
"""

from __future__ import annotations

import re
from decimal import Decimal

from tenantgate.banking.errors import TransferRefused

#: The largest single transfer accepted, in minor units (1,000,000.00).
MAX_TRANSFER_MINOR = 100_000_000

# Longer input is refused before any parsing work; nobody types 40 characters into an amount.
_MAX_INPUT_LENGTH = 32

# ASCII digits only (``\d`` would match Arabic-Indic and other Unicode digits), optional
# thousands separators in groups of three, optional fraction. Signs and exponents never match.
_AMOUNT = re.compile(r"(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.([0-9]+))?", re.ASCII)

_EXAMPLE = "Enter an amount like 125.50."


def parse_amount(text: str, *, maximum_minor: int = MAX_TRANSFER_MINOR) -> int:
    """Parse a user-typed positive amount into minor units; raise ``TransferRefused`` if bad."""
    if not isinstance(text, str):
        raise TransferRefused(_EXAMPLE, reason="malformed_amount")
    candidate = text.strip()
    if not candidate or len(candidate) > _MAX_INPUT_LENGTH:
        raise TransferRefused(_EXAMPLE, reason="malformed_amount")
    if candidate.startswith("-"):
        raise TransferRefused("The amount must be greater than zero.", reason="amount_not_positive")
    match = _AMOUNT.fullmatch(candidate)
    if match is None:
        raise TransferRefused(_EXAMPLE, reason="malformed_amount")
    fraction = match.group(1)
    if fraction is not None and len(fraction) > 2:
        raise TransferRefused(
            "Amounts have at most two decimal places.", reason="too_many_decimals"
        )
    # Exact: the pattern guarantees a finite decimal with at most two fractional digits.
    minor = int(Decimal(candidate.replace(",", "")) * 100)
    if minor <= 0:
        raise TransferRefused("The amount must be greater than zero.", reason="amount_not_positive")
    if minor > maximum_minor:
        raise TransferRefused(
            f"The amount exceeds the maximum of {format_minor(maximum_minor)} per transfer.",
            reason="amount_too_large",
        )
    return minor


def format_minor(minor: int) -> str:
    """``123456`` → ``"1,234.56"``; ``-5`` → ``"-0.05"``. Exact, no float."""
    sign = "-" if minor < 0 else ""
    units, cents = divmod(abs(minor), 100)
    return f"{sign}{units:,}.{cents:02d}"


def minor_to_decimal(minor: int) -> Decimal:
    """Minor units as an exact ``Decimal`` in major units (for CSV and JSON)."""
    return Decimal(minor).scaleb(-2)
