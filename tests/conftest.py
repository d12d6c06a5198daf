"""Suite-wide hooks.  Fixtures live beside the tests that use them."""

from __future__ import annotations

import pytest


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    try:
        from .identity.databases import SKIPPED_POSTGRES
    except ImportError:
        return
    if SKIPPED_POSTGRES:
        terminalreporter.write_sep(
            "!",
            f"POSTGRESQL WAS NOT REACHABLE: {len(SKIPPED_POSTGRES)} PostgreSQL tests did not run "
            f"({SKIPPED_POSTGRES[0]})",
            red=True,
            bold=True,
        )
