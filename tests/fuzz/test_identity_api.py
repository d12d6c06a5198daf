"""Fuzzing the identity server's OpenAPI schema (form bodies described in oauth_routes).

Each operation is fuzzed without credentials (positive and negative data: no 5xx; every
non-public operation refuses), then the authenticated ones again with real client
credentials or a real bearer token (no 5xx however wrong the body)."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
from schemathesis import GenerationMode

from .apps import Identity, build_identity
from .support import fuzz, fuzz_all_modes, lifespans, operations, refuses_anonymous

pytestmark = [pytest.mark.slow]

# The public allow-list: the only operations that may answer without credentials.  Every
# other operation, including ones added after this list was written, must refuse.
PUBLIC = {
    "GET /.well-known/oauth-authorization-server",
    "GET /jwks.json",
    "GET /healthz",
    "GET /readyz",
    "GET /authorize",  # the hosted login page
    "POST /authorize",  # its form: the credentials are what it checks
}
CLIENT_AUTH = {"POST /token", "POST /revoke", "POST /introspect", "POST /tenant-refs/resolve"}
BEARER = {"GET /tenants"}
OPERATIONS = sorted(PUBLIC | CLIENT_AUTH | BEARER)
LOGIN_PREFIXES = ("http://127.0.0.1:",)  # never expected: no identity route redirects to login


@pytest.fixture(scope="module")
def identity(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Identity]:
    with lifespans():
        yield build_identity(tmp_path_factory.mktemp("fuzz-identity"))


def test_the_schema_lists_the_known_operations(identity: Identity) -> None:
    listed = {op.label for op in operations(identity.schema)}
    assert set(OPERATIONS) <= listed


def test_operations_added_since_are_not_public(identity: Identity) -> None:
    """Anything the schema lists beyond the known operations is fuzzed as non-public."""
    for operation in operations(identity.schema):
        if operation.label not in OPERATIONS:
            assert fuzz_all_modes(operation, checks=[refuses_anonymous(LOGIN_PREFIXES)]) > 0


def test_form_bodies_are_described(identity: Identity) -> None:
    paths = identity.app.openapi()["paths"]
    for path in ("/token", "/revoke", "/introspect", "/tenant-refs/resolve"):
        content = paths[path]["post"]["requestBody"]["content"]
        assert list(content) == ["application/x-www-form-urlencoded"], path


@pytest.mark.parametrize("label", OPERATIONS)
def test_anonymous(identity: Identity, label: str) -> None:
    method, path = label.split(" ", 1)
    checks = [] if label in PUBLIC else [refuses_anonymous(LOGIN_PREFIXES)]
    assert fuzz_all_modes(identity.schema[path][method], checks=checks) > 0


def _basic(identity: Identity, client_id: str) -> str:
    pair = ":".join(identity.basic(client_id))
    return "Basic " + base64.b64encode(pair.encode()).decode()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("label", sorted(CLIENT_AUTH))
@pytest.mark.parametrize("client_id", ["admin-portal", "reporting-portal"])
def test_with_client_credentials(
    identity: Identity, label: str, client_id: str, mode: GenerationMode
) -> None:
    method, path = label.split(" ", 1)
    headers = {"Authorization": _basic(identity, client_id)}
    assert fuzz(identity.schema[path][method], checks=[], mode=mode, headers=headers) > 0


def test_tenants_with_a_real_bearer_token(identity: Identity) -> None:
    token = identity.login("admin-portal", "admin")["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert fuzz_all_modes(identity.schema["/tenants"]["GET"], checks=[], headers=headers) > 0
