"""Fuzzing the three portals' OpenAPI schemas (their JSON APIs and the in-schema pages),
in-process and wired to an in-process identity server as in tests/portals/harness.py.

Without a session every operation must refuse (401/403, or a redirect to sign in for a
page); with a real signed-in session, CSRF token and same-origin header, no input may
produce a 5xx."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .apps import Portal, build_identity, build_portals
from .support import client, fuzz_all_modes, lifespans, operations, refuses_anonymous

pytestmark = [pytest.mark.slow]

# Where an unauthenticated page may send the browser: the portal's own login start, or the
# identity server's authorization endpoint.
LOGIN_PREFIXES = ("/auth/login", "http://127.0.0.1:8700/authorize")
# Who signs in to each portal for the authenticated runs.
USERS = {"admin": "admin", "reporting": "employee", "customer": "customer"}
# Operations each portal is known to list (the JSON APIs first); anything else the schema
# lists is fuzzed too, as non-public.
KNOWN = {
    "admin": ["GET /api/context", "GET /", "GET /tenants", "POST /tenants/select"],
    "reporting": ["GET /api/session", "GET /api/summary", "GET /api/export.csv"],
    "customer": ["GET /api/accounts", "GET /api/accounts/{account_id}", "POST /api/transfers"],
}


@pytest.fixture(scope="module")
def portals(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Portal]]:
    directory: Path = tmp_path_factory.mktemp("fuzz-portals")
    built = None
    try:
        with lifespans():
            built = build_portals(build_identity(directory), directory)
            yield built.by_name
    finally:
        if built is not None:
            built.dispose()


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_the_schema_lists_the_json_apis(portals: dict[str, Portal], name: str) -> None:
    listed = {op.label for op in operations(portals[name].schema)}
    assert set(KNOWN[name]) <= listed, listed


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_anonymous(portals: dict[str, Portal], name: str) -> None:
    """No session: every operation of the schema refuses, none answers 5xx."""
    portal = portals[name]
    sent = 0
    for operation in operations(portal.schema):
        sent += fuzz_all_modes(operation, checks=[refuses_anonymous(LOGIN_PREFIXES)])
    assert sent > 0


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_signed_in(portals: dict[str, Portal], name: str) -> None:
    """A live session, its CSRF token and a same-origin header: still never a 5xx."""
    portal = portals[name]
    cookies, csrf = portal.sign_in(portal.identity.first(USERS[name]))
    headers = {"X-CSRF-Token": csrf, "Origin": portal.public_url}
    probe_path = KNOWN[name][0].split(" ", 1)[1]
    probe = client(portal.app).get(probe_path, cookies=cookies, allow_redirects=False)
    # The session is live (reporting pages also name their session: 409 without it).
    assert probe.status_code in (200, 409), (probe.status_code, probe.text[:200])
    sent = 0
    for operation in operations(portal.schema):
        sent += fuzz_all_modes(operation, checks=[], headers=headers, cookies=cookies)
    assert sent > 0
