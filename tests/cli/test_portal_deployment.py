from __future__ import annotations

import base64
import secrets
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from tenantgate.cli import main
from tenantgate.portal_apps import build_deployed_portal_app
from tenantgate.portal_settings import load_portal_deployment
from tenantgate.settings import InsecureSettingsError

KEY = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")


def env_for(name: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    prefix = f"TENANTGATE_{name.upper()}_"
    values = {
        "TENANTGATE_ISSUER": "https://id.bank.example",
        "TENANTGATE_DATA_DIR": str(tmp_path),
        prefix + "PUBLIC_URL": f"https://{name}.bank.example",
        prefix + "CLIENT_SECRET": "s3cret-from-clients-create",
        prefix + "SESSION_KEY": KEY,
        prefix + "REPORTING_URL": "https://reporting.bank.example",
    }
    values.update(extra)
    return values


def test_a_portal_deployment_comes_from_its_prefixed_variables(tmp_path: Path) -> None:
    deployment = load_portal_deployment("admin", env_for("admin", tmp_path))
    assert deployment.config.client_id == "admin-portal"
    assert deployment.config.audience == "admin-api"
    assert deployment.config.cookie_secure
    assert deployment.config.session_cookie == "__Host-tg_admin"
    assert deployment.reporting_url == "https://reporting.bank.example"
    assert deployment.banking_url.endswith("banking.db")


@pytest.mark.parametrize(
    "override",
    [
        {"TENANTGATE_CUSTOMER_CLIENT_SECRET": ""},
        {"TENANTGATE_CUSTOMER_SESSION_KEY": ""},
        {"TENANTGATE_CUSTOMER_SESSION_KEY": "too-short"},
        {"TENANTGATE_CUSTOMER_PUBLIC_URL": "http://customer.bank.example"},
        {"TENANTGATE_ISSUER": "http://id.bank.example"},
    ],
)
def test_insecure_or_missing_values_are_refused(tmp_path: Path, override: dict[str, str]) -> None:
    with pytest.raises(InsecureSettingsError):
        load_portal_deployment("customer", env_for("customer", tmp_path, **override))


@pytest.mark.anyio
@pytest.mark.parametrize("name", ["admin", "reporting", "customer"])
async def test_each_portal_builds_and_serves_health_on_its_own(name: str, tmp_path: Path) -> None:
    app = build_deployed_portal_app(name, env_for(name, tmp_path))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://x") as client:
            assert (await client.get("/healthz")).json() == {"status": "ok"}
            assert (await client.get("/readyz")).status_code == 200


def test_serve_portal_refuses_incomplete_settings(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["serve", "portal", "reporting", "--port", "9999"],
        env={"TENANTGATE_DATA_DIR": str(tmp_path), "TENANTGATE_REPORTING_PUBLIC_URL": ""},
    )
    assert result.exit_code != 0
    assert "settings refused" in result.output


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
