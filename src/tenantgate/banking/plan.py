"""A deterministic, realistic plan of one FI's banking data — pure Python, no database.

Each bank draws from its own generator seeded by ``(seed, tenant_id)``: a bank's data depends on
nothing else, so adding banks or changing their order never changes another bank's data, and
banks could be planned in parallel. Rows are tuples with *local* indexes (position in the
plan); the loader turns them into database ids. Timestamps are whole seconds after the window's
first midnight (UTC), which both loaders format cheaply and tests compare exactly.

Money stays integer minor units; balances evolve event by event and a debit that would overdraw
is simply not made, so every balance stays non-negative like the real thing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from tenantgate.banking.clock import ACCOUNT_ID_PREFIX, CUSTOMER_ID_PREFIX, format_public_id
from tenantgate.banking.rollups import PASSIVE_KINDS
from tenantgate.banking.vocabulary import (
    EMAIL_DOMAINS,
    EMPLOYERS,
    FIRST_NAMES,
    LAST_NAMES,
    MERCHANTS,
)

DAY_SECONDS = 86_400
# Share of events that are a transfer pair; used to keep the row count near the target.
_TRANSFER_SHARE = 0.16
# Declined debits (no overdraft) drop about a sixth of planned events; plan that many more.
_DECLINE_COMPENSATION = 1.2


@dataclass(slots=True)
class BankPlan:
    tenant_id: int
    name: str
    first_day: date
    days: int
    # (public_id, full_name, email, status, created_day_offset)
    customers: list[tuple[str, str, str, str, int]] = field(default_factory=list)
    # (public_id, customer_index, kind, currency, balance)
    accounts: list[tuple[str, int, str, str, int]] = field(default_factory=list)
    # (account_index, kind, amount, description, second)
    transactions: list[tuple[int, str, int, str, int]] = field(default_factory=list)
    # (customer_index, success, second)
    logins: list[tuple[int, int, int]] = field(default_factory=list)
    # (day_index, customer_index)
    active_days: list[tuple[int, int]] = field(default_factory=list)

    def day(self, index: int) -> date:
        return self.first_day + timedelta(days=index)


def _pick(rng: random.Random, values: tuple[str, ...]) -> str:
    return values[int(rng.random() * len(values))]


def plan_bank(
    tenant_id: int,
    name: str,
    *,
    customers: int,
    first_day: date,
    days: int,
    horizon_seconds: int,
    seed: int,
    transactions_per_customer: float = 20.0,
    logins_per_customer: float = 10.0,
) -> BankPlan:
    """Plan one bank: ``customers`` customers over ``days`` days from ``first_day`` 00:00 UTC.

    ``horizon_seconds`` ends the window early (the generator passes "now" so nothing is booked
    in the future). The per-customer figures are averages over 90 days.
    """
    # Reproducibility is the point here, not unpredictability: demo data, never secrets.
    rng = random.Random(f"tenantgate-banking:{seed}:{tenant_id}")  # noqa: S311
    plan = BankPlan(tenant_id=tenant_id, name=name, first_day=first_day, days=days)
    span = max(1, min(days * DAY_SECONDS, horizon_seconds))
    per_window = span / (90 * DAY_SECONDS)
    for index in range(customers):
        _plan_customer(
            plan, rng, index, span, per_window, transactions_per_customer, logins_per_customer
        )
    return plan


def _plan_customer(
    plan: BankPlan,
    rng: random.Random,
    index: int,
    span: int,
    per_window: float,
    tx_target: float,
    login_target: float,
) -> None:
    first, last = _pick(rng, FIRST_NAMES), _pick(rng, LAST_NAMES)
    email = f"{first.lower()}.{last.lower()}{index}@{_pick(rng, EMAIL_DOMAINS)}"
    status = "locked" if rng.random() < 0.01 else "active"
    plan.customers.append(
        (
            format_public_id(CUSTOMER_ID_PREFIX, rng.getrandbits(128)),
            f"{first} {last}",
            email,
            status,
            -int(rng.random() * 5 * 365) - 1,
        )
    )
    roll = rng.random()
    count = 1 if roll < 0.5 else 2 if roll < 0.85 else 3
    own: list[int] = []
    balances: list[int] = []
    for position in range(count):
        kind = "checking" if position == 0 or rng.random() < 0.3 else "savings"
        balance = int(rng.lognormvariate(11.5 if kind == "savings" else 10.5, 0.9))
        own.append(len(plan.accounts))
        balances.append(balance)
        plan.accounts.append(
            (format_public_id(ACCOUNT_ID_PREFIX, rng.getrandbits(128)), index, kind, "USD", 0)
        )
    # Activity differs a lot between customers; the mean factor is 1.
    activity = 0.2 + 1.6 * rng.random()
    events = round(
        tx_target * per_window * activity * _DECLINE_COMPENSATION / (1 + _TRANSFER_SHARE)
    )
    active: set[int] = set()
    txs = plan.transactions
    for second in sorted(int(rng.random() * span) for _ in range(events)):
        roll = rng.random()
        if roll < 0.55:
            kind, amount = "card", -max(50, int(rng.lognormvariate(3.3, 0.9) * 100))
            description = _pick(rng, MERCHANTS)
        elif roll < 0.67:
            kind, amount = "deposit", int(rng.uniform(800, 4500)) * 100
            description = f"Payroll {_pick(rng, EMPLOYERS)}"
        elif roll < 0.79:
            kind, amount, description = "withdrawal", -int(1 + rng.random() * 15) * 2000, "ATM"
        elif roll < 1 - _TRANSFER_SHARE or count == 1:
            kind, amount, description = "fee", -500 * int(1 + rng.random() * 4), "Monthly fee"
        else:
            # A pair of legs between the checking account and another own account.
            other = 1 + int(rng.random() * (count - 1))
            source, target = (0, other) if rng.random() < 0.7 else (other, 0)
            moved = int(rng.uniform(20, 800)) * 100
            if balances[source] < moved:
                continue
            balances[source] -= moved
            balances[target] += moved
            txs.append(
                (
                    own[source],
                    "transfer_out",
                    -moved,
                    f"Transfer to ••{plan.accounts[own[target]][0][-4:]}",
                    second,
                )
            )
            txs.append(
                (
                    own[target],
                    "transfer_in",
                    moved,
                    f"Transfer from ••{plan.accounts[own[source]][0][-4:]}",
                    second,
                )
            )
            active.add(second // DAY_SECONDS)
            continue
        if balances[0] + amount < 0:
            continue  # the bank would decline it: no overdrafts
        balances[0] += amount
        txs.append((own[0], kind, amount, description, second))
        if kind not in PASSIVE_KINDS:
            active.add(second // DAY_SECONDS)
    for position, account_index in enumerate(own):
        public_id, owner, kind, currency, _ = plan.accounts[account_index]
        plan.accounts[account_index] = (public_id, owner, kind, currency, balances[position])
    for _ in range(round(login_target * per_window * activity)):
        second = int(rng.random() * span)
        success = 1 if rng.random() < 0.94 else 0
        plan.logins.append((index, success, second))
        if success:
            active.add(second // DAY_SECONDS)
    plan.active_days.extend((day, index) for day in sorted(active))
