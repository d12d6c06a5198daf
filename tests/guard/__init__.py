"""Tests of tenantgate.guard, the relying-party token verifier."""
