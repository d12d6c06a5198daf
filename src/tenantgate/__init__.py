"""Tenantgate: multi-tenant identity and cross-application single sign-on."""

__version__ = "0.1.0"
