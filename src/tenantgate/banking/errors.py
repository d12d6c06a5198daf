"""Domain errors of the banking context.

Every error carries a message that is safe to show to the user as it is: it never names another
tenant's objects, internal ids or SQL. Portals map them to 4xx answers; a 5xx from banking code is
always a bug, never a refusal.
"""

from __future__ import annotations


class BankingError(Exception):
    """Base of every refusal the banking context raises on purpose."""

    #: A short, stable, machine-readable code (portals may map it to HTTP statuses or i18n keys).
    reason: str = "banking_error"

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if reason is not None:
            self.reason = reason

    def __str__(self) -> str:
        return self.message


class InvalidRequest(BankingError):
    """A query parameter is out of range (page size, search text, period)."""

    reason = "invalid_request"


class TransferRefused(BankingError):
    """A transfer was not made; nothing was written.

    Reasons: ``malformed_amount``, ``amount_not_positive``, ``too_many_decimals``,
    ``amount_too_large``, ``same_account``, ``unknown_account``, ``currency_mismatch``,
    ``customer_locked``, ``insufficient_funds``.
    """

    reason = "transfer_refused"


class UnknownCustomer(BankingError):
    """The customer does not exist in the caller's tenant (or is in another one: same answer)."""

    reason = "unknown_customer"

    def __init__(self) -> None:
        super().__init__("No such customer.")
