"""Banking: the platform's tenant-scoped business data and its KPI queries.

Its own bounded context: it imports nothing from identity, guard, bff or portals. Callers build a
``TenantScope`` from a verified token and pass it to every function; see scope.py for why.
The demo data generator is ``tenantgate.banking.generator`` (not imported here, so that
``python -m tenantgate.banking.generator`` runs it cleanly).
"""

from tenantgate.banking.accounts import (
    Account,
    TransactionLine,
    list_accounts_of_customer,
    open_account,
    recent_transactions,
)
from tenantgate.banking.customers import (
    Customer,
    CustomerPage,
    create_customer,
    find_customer_by_subject,
    get_customer,
    link_customer_to_subject,
    list_customers,
    lock_customer,
    unlock_customer,
)
from tenantgate.banking.engine import create_banking_engine, prepare_engine
from tenantgate.banking.errors import BankingError, InvalidRequest, TransferRefused, UnknownCustomer
from tenantgate.banking.institutions import Institution, get_institution, upsert_institution
from tenantgate.banking.kpis import DailyActivity, KindTotal, Kpis, csv_rows, export_rows, summarize
from tenantgate.banking.logins import record_login_event
from tenantgate.banking.money import MAX_TRANSFER_MINOR, format_minor, parse_amount
from tenantgate.banking.rls import DEFAULT_APP_ROLE, create_app_role, drop_app_role
from tenantgate.banking.schema import create_schema, metadata
from tenantgate.banking.scope import TenantScope, tenant_transaction
from tenantgate.banking.transfers import TransferReceipt, transfer_between_own_accounts
from tenantgate.banking.verification import compare_rollups_with_facts

__all__ = [
    "DEFAULT_APP_ROLE",
    "MAX_TRANSFER_MINOR",
    "Account",
    "BankingError",
    "Customer",
    "CustomerPage",
    "DailyActivity",
    "Institution",
    "InvalidRequest",
    "KindTotal",
    "Kpis",
    "TenantScope",
    "TransactionLine",
    "TransferReceipt",
    "TransferRefused",
    "UnknownCustomer",
    "compare_rollups_with_facts",
    "create_app_role",
    "create_banking_engine",
    "create_customer",
    "create_schema",
    "csv_rows",
    "drop_app_role",
    "export_rows",
    "find_customer_by_subject",
    "format_minor",
    "get_customer",
    "get_institution",
    "link_customer_to_subject",
    "list_accounts_of_customer",
    "list_customers",
    "lock_customer",
    "metadata",
    "open_account",
    "parse_amount",
    "prepare_engine",
    "recent_transactions",
    "record_login_event",
    "summarize",
    "tenant_transaction",
    "transfer_between_own_accounts",
    "unlock_customer",
    "upsert_institution",
]
