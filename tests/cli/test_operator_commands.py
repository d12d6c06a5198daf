from __future__ import annotations

import asyncio
import base64
import secrets
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from tenantgate.cli import main
from tenantgate.identity.storage.engine import create_engine_for
from tenantgate.identity.storage.schema import admin_grants, keys

KEK = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "TENANTGATE_DATA_DIR": str(tmp_path),
        "TENANTGATE_KEY_ENCRYPTION_KEY": KEK,
        "TENANTGATE_ISSUER": "https://identity.example",
        "TENANTGATE_DATABASE_URL": "",
    }


def run(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    result = CliRunner().invoke(main, list(args), env=env, input=stdin)
    assert result.exit_code == 0, result.output
    return result.output


def rows(tmp_path: Path, table: object) -> list[dict[str, object]]:
    async def read() -> list[dict[str, object]]:
        engine = create_engine_for(f"sqlite+aiosqlite:///{tmp_path / 'identity.db'}")
        try:
            async with engine.connect() as conn:
                return [dict(r._mapping) for r in (await conn.execute(select(table)))]  # type: ignore[call-overload]
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_an_operator_sets_up_an_fi_an_admin_and_a_grant(
    env: dict[str, str], tmp_path: Path
) -> None:
    assert "up to date" in run(env, "db", "upgrade")
    assert "First Harbor Bank" in run(env, "tenants", "create", "First Harbor Bank")
    run(
        env,
        "accounts",
        "create",
        "alice",
        "--kind",
        "admin",
        "--password-stdin",
        stdin="a long passphrase\n",
    )
    out = run(
        env,
        "grants",
        "set",
        "alice",
        "--tenant",
        "First Harbor Bank",
        "--permission",
        "customers:read",
        "--permission",
        "reporting:view",
    )
    assert "customers:read reporting:view" in out
    assert rows(tmp_path, admin_grants)[0]["permissions"] == "customers:read reporting:view"
    run(env, "grants", "remove", "alice", "--tenant", "First Harbor Bank")
    assert rows(tmp_path, admin_grants) == []


def test_operator_mistakes_get_clear_errors(env: dict[str, str]) -> None:
    run(env, "db", "upgrade")
    runner = CliRunner()
    weak = runner.invoke(
        main,
        ["accounts", "create", "bob", "--kind", "admin", "--password-stdin"],
        env=env,
        input="short\n",
    )
    assert weak.exit_code != 0
    assert "at least 8" in weak.output
    unknown = runner.invoke(
        main, ["grants", "set", "bob", "--tenant", "X", "--permission", "root:all"], env=env
    )
    assert unknown.exit_code != 0
    assert "unknown permission" in unknown.output


def test_keys_rotate_keeps_the_previous_key_for_the_overlap(
    env: dict[str, str], tmp_path: Path
) -> None:
    run(env, "db", "upgrade")
    run(env, "keys", "rotate")
    run(env, "keys", "rotate", "--use", "sig")
    stored = rows(tmp_path, keys)
    signing = [k for k in stored if k["use"] == "sig"]
    assert len(signing) == 2
    assert sum(k["retired_at"] is None for k in signing) == 1
    assert sum(k["use"] == "enc" for k in stored) == 1


def test_clients_create_prints_the_secret_once(env: dict[str, str]) -> None:
    run(env, "db", "upgrade")
    out = run(
        env,
        "clients",
        "create",
        "admin-portal",
        "--name",
        "Admin",
        "--redirect-uri",
        "https://admin.example/auth/callback",
        "--account-kind",
        "admin",
        "--audience",
        "admin-api",
    )
    assert "client_secret=" in out


def test_settings_refuse_to_run_without_a_key_encryption_key(tmp_path: Path) -> None:
    env = {
        "TENANTGATE_DATA_DIR": str(tmp_path),
        "TENANTGATE_KEY_ENCRYPTION_KEY": "",
        "TENANTGATE_DATABASE_URL": "",
    }
    result = CliRunner().invoke(main, ["keys", "rotate"], env=env)
    assert result.exit_code != 0
    assert "settings refused" in result.output
