"""Amount parsing: what a user may type into the transfer form, and what is refused."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tenantgate.banking.errors import TransferRefused
from tenantgate.banking.money import (
    MAX_TRANSFER_MINOR,
    format_minor,
    minor_to_decimal,
    parse_amount,
)

# (typed text, expected reason) — every one must be refused with a readable message.
MALFORMED: list[tuple[str, str]] = [
    ("", "malformed_amount"),
    ("   ", "malformed_amount"),
    ("abc", "malformed_amount"),
    ("-5", "amount_not_positive"),
    ("-0.01", "amount_not_positive"),
    ("0", "amount_not_positive"),
    ("0.00", "amount_not_positive"),
    ("1.234", "too_many_decimals"),
    ("0.001", "too_many_decimals"),
    ("NaN", "malformed_amount"),
    ("nan", "malformed_amount"),
    ("sNaN", "malformed_amount"),
    ("inf", "malformed_amount"),
    ("Infinity", "malformed_amount"),
    ("1e3", "malformed_amount"),
    ("1E-2", "malformed_amount"),
    ("+5", "malformed_amount"),
    ("5.", "malformed_amount"),
    (".5", "malformed_amount"),
    ("1,00", "malformed_amount"),
    ("1 000", "malformed_amount"),
    ("0x10", "malformed_amount"),
    ("١٢٣", "malformed_amount"),  # Arabic-Indic digits: Decimal would accept them
    ("5\x00", "malformed_amount"),
    ("1" * 33, "malformed_amount"),
    ("9" * 30, "amount_too_large"),
    ("1000000.01", "amount_too_large"),
    ("12.5.0", "malformed_amount"),
    ("$5", "malformed_amount"),
]


@pytest.mark.parametrize(("typed", "reason"), MALFORMED)
def test_malformed_amounts_are_refused_with_a_clear_reason(typed: str, reason: str) -> None:
    with pytest.raises(TransferRefused) as refused:
        parse_amount(typed)
    assert refused.value.reason == reason
    assert refused.value.message.endswith(".")


@pytest.mark.parametrize(
    ("typed", "minor"),
    [
        ("1", 100),
        ("0.01", 1),
        ("0.1", 10),
        ("125.50", 12_550),
        (" 42.00 ", 4_200),
        ("1,234.56", 123_456),
        ("1000000", MAX_TRANSFER_MINOR),
        ("007.5", 750),
    ],
)
def test_valid_amounts_parse_exactly(typed: str, minor: int) -> None:
    assert parse_amount(typed) == minor


def test_maximum_is_configurable() -> None:
    assert parse_amount("50", maximum_minor=5_000) == 5_000
    with pytest.raises(TransferRefused) as refused:
        parse_amount("50.01", maximum_minor=5_000)
    assert refused.value.reason == "amount_too_large"
    assert "50.00" in refused.value.message


def test_formatting_is_exact() -> None:
    assert format_minor(123_456) == "1,234.56"
    assert format_minor(5) == "0.05"
    assert format_minor(-5) == "-0.05"
    assert format_minor(0) == "0.00"
    assert minor_to_decimal(12_345) == Decimal("123.45")
    assert str(minor_to_decimal(100)) == "1.00"
