"""How accounts, money and statement lines read on screen and in the portal's JSON.

One place builds the display values so the server-rendered page and the script that
redraws it after a transfer always agree (same labels, same masking, same money text)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from tenantgate.banking import Account, TransactionLine, format_minor

ACCOUNT_LABELS = {"checking": "Checking", "savings": "Savings"}
TRANSACTION_LABELS = {
    "card": "Card payment",
    "deposit": "Deposit",
    "fee": "Fee",
    "transfer_in": "Transfer in",
    "transfer_out": "Transfer out",
    "withdrawal": "Withdrawal",
}
# Currencies written with a symbol in front; anything else gets its ISO code after the number.
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}


def money_text(minor: int, currency: str, *, signed: bool = False) -> str:
    """``12345, "USD"`` → ``"$123.45"``; with ``signed``, ``+$123.45`` / ``-$123.45``."""
    sign = "-" if minor < 0 else ("+" if signed and minor > 0 else "")
    amount = format_minor(abs(minor))
    symbol = _SYMBOLS.get(currency)
    return f"{sign}{symbol}{amount}" if symbol else f"{sign}{amount} {currency}"


def masked(public_id: str) -> str:
    # Banks name accounts by their last characters; the full id is never needed to read one.
    return "••" + public_id[-4:]


def account_name(account: Account) -> str:
    return f"{ACCOUNT_LABELS.get(account.kind, account.kind.title())} {masked(account.public_id)}"


def short_date(moment: datetime) -> str:
    return f"{moment:%b} {moment.day}, {moment.year}"


def account_view(account: Account) -> dict[str, Any]:
    return {
        "id": account.public_id,
        "kind": account.kind,
        "label": ACCOUNT_LABELS.get(account.kind, account.kind.title()),
        "masked": masked(account.public_id),
        "name": account_name(account),
        "currency": account.currency,
        "balance_minor": account.balance_minor,
        "balance": money_text(account.balance_minor, account.currency),
    }


def transaction_view(line: TransactionLine, accounts: Mapping[str, Account]) -> dict[str, Any]:
    account = accounts.get(line.account_public_id)
    currency = account.currency if account else "USD"
    return {
        "account_id": line.account_public_id,
        "account": account_name(account) if account else masked(line.account_public_id),
        "kind": line.kind,
        "label": TRANSACTION_LABELS.get(line.kind, line.kind.replace("_", " ").title()),
        "description": line.description,
        "amount_minor": line.amount_minor,
        "amount": money_text(line.amount_minor, currency, signed=True),
        "direction": "in" if line.amount_minor >= 0 else "out",
        "booked_at": line.booked_at.isoformat(),
        "date": short_date(line.booked_at),
    }


def overview(accounts: Sequence[Account], lines: Sequence[TransactionLine]) -> dict[str, Any]:
    """Accounts, statement lines and the total per currency, ready for a template or JSON."""
    by_id = {account.public_id: account for account in accounts}
    totals: dict[str, int] = {}
    for account in accounts:
        totals[account.currency] = totals.get(account.currency, 0) + account.balance_minor
    return {
        "accounts": [account_view(account) for account in accounts],
        "transactions": [transaction_view(line, by_id) for line in lines],
        "totals": [money_text(minor, currency) for currency, minor in sorted(totals.items())],
    }
