"""The identity server: accounts, tenants, grants, keys, sessions, tokens and the audit trail."""
