"""The identity store on SQLAlchemy Core, one mixin per concept.  Every method is one
transaction; the guarantees that matter across instances are single conditional
statements (`UPDATE ... WHERE used_at IS NULL`, `INSERT ... ON CONFLICT DO NOTHING`)."""

from __future__ import annotations

from .sql_accounts import AccountRows
from .sql_audit import AuditRows, append_audit_event
from .sql_keys import KeyRows
from .sql_login import LoginRows
from .sql_overview import OverviewRows
from .sql_sessions import SessionRows

__all__ = ["SqlIdentityStore", "append_audit_event"]


class SqlIdentityStore(AccountRows, LoginRows, SessionRows, OverviewRows, KeyRows, AuditRows):
    """Implements every port in services/ports.py."""
