"""Operator commands of the hardening work: password policy, TOTP enrolment, sessions,
the audit trail (verify and tail)."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from pathlib import Path

import pyotp
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select, update

from tenantgate.cli import main
from tenantgate.identity.domain import totp
from tenantgate.identity.services.records import RefreshFamily, RefreshToken, Session
from tenantgate.identity.storage.engine import create_engine_for
from tenantgate.identity.storage.schema import accounts, audit_events
from tenantgate.identity.storage.sql_store import SqlIdentityStore

from .test_operator_commands import KEK


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    environment = {
        "TENANTGATE_DATA_DIR": str(tmp_path),
        "TENANTGATE_KEY_ENCRYPTION_KEY": KEK,
        "TENANTGATE_ISSUER": "https://identity.example",
        "TENANTGATE_DATABASE_URL": "",
    }
    invoke(environment, "db", "upgrade")
    return environment


def invoke(env: dict[str, str], *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env, input=stdin)


def ok(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    result = invoke(env, *args, stdin=stdin)
    assert result.exit_code == 0, result.output
    return result.output


def db_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'identity.db'}"


def create_admin(env: dict[str, str], username: str = "alice") -> None:
    ok(
        env,
        *("accounts", "create", username, "--kind", "admin", "--password-stdin"),
        stdin="a long enough admin passphrase\n",
    )


def test_common_passwords_are_refused_and_short_admin_passwords_warned(
    env: dict[str, str],
) -> None:
    refused = invoke(
        env,
        "accounts",
        "create",
        "alice",
        "--kind",
        "admin",
        "--password-stdin",
        stdin="Password1234\n",
    )
    assert refused.exit_code != 0
    assert "commonly used" in refused.output
    short = invoke(
        env,
        "accounts",
        "create",
        "alice",
        "--kind",
        "admin",
        "--password-stdin",
        stdin="mqzvtrkwpl\n",
    )
    assert short.exit_code == 0, short.output
    assert "at least 15" in short.stderr
    replaced = invoke(
        env, "accounts", "set-password", "alice", "--password-stdin", stdin="zxqv mlkj\n"
    )
    assert replaced.exit_code == 0
    assert "at least 15" in replaced.stderr
    common = invoke(
        env, "accounts", "set-password", "alice", "--password-stdin", stdin="iloveyou1\n"
    )
    assert common.exit_code != 0


def test_totp_enrolment_prints_the_secret_once_and_stores_it_sealed(
    env: dict[str, str], tmp_path: Path
) -> None:
    create_admin(env)
    out = ok(env, "accounts", "totp-enroll", "alice")
    secret = out.split("secret=")[1].split()[0]
    uri = out.split("uri=")[1].split()[0]
    assert uri.startswith("otpauth://totp/Tenantgate:alice?")
    assert pyotp.parse_uri(uri).secret == secret

    async def stored() -> tuple[str, str]:
        engine = create_engine_for(db_url(tmp_path))
        try:
            async with engine.connect() as conn:
                row = (
                    await conn.execute(
                        select(accounts.c.totp_sealed, accounts.c.subject).where(
                            accounts.c.username == "alice"
                        )
                    )
                ).one()
                return str(row.totp_sealed), str(row.subject)
        finally:
            await engine.dispose()

    sealed, subject = asyncio.run(stored())
    assert secret not in sealed
    kek = base64.urlsafe_b64decode(KEK + "=" * (-len(KEK) % 4))
    assert totp.open_secret(sealed, subject, kek) == secret
    assert "account.totp_enrolled" in ok(env, "audit", "tail", "--account", "alice")
    ok(env, "tenants", "create", "Bank")
    ok(
        env,
        *("accounts", "create", "emp", "--kind", "employee", "--tenant", "Bank"),
        "--password-stdin",
        stdin="an employee passphrase\n",
    )
    refused = invoke(env, "accounts", "totp-enroll", "emp")
    assert refused.exit_code != 0
    assert "admin" in refused.output
    assert "removed" in ok(env, "accounts", "totp-remove", "alice")
    assert asyncio.run(stored())[0] == "None"


async def _start_sessions(url: str, account: str, sids: list[str]) -> None:
    store = SqlIdentityStore(create_engine_for(url))
    now = time.time()
    try:
        account_row = await store.account_by_username(account)
        assert account_row is not None
        for sid in sids:
            await store.start_session(Session(sid, account_row.id, "admin-portal", now - 60))
            family = RefreshFamily(
                f"fam-{sid}", sid, "admin-portal", account_row.id, None, now - 60, now + 3600
            )
            token = RefreshToken(f"digest-{sid}", family.id, now - 10, now + 3600)
            await store.start_family(family, token, replaces_others=False)
    finally:
        await store.engine.dispose()


def test_sessions_are_listed_and_revoked_one_or_all_with_an_audit_record(
    env: dict[str, str], tmp_path: Path
) -> None:
    create_admin(env)
    asyncio.run(_start_sessions(db_url(tmp_path), "alice", ["sid-one", "sid-two", "sid-three"]))
    listing = ok(env, "sessions", "list", "alice").splitlines()
    assert listing[0].split("\t") == ["sid", "client", "fi", "started", "last_refresh"]
    assert sorted(line.split("\t")[0] for line in listing[1:]) == [
        "sid-one",
        "sid-three",
        "sid-two",
    ]
    assert all(line.split("\t")[1] == "admin-portal" for line in listing[1:])

    assert invoke(env, "sessions", "revoke", "alice").exit_code != 0  # neither --sid nor --all
    assert invoke(env, "sessions", "revoke", "alice", "--sid", "nope").exit_code != 0
    ok(env, "sessions", "revoke", "alice", "--sid", "sid-two")
    remaining = ok(env, "sessions", "list", "alice")
    assert "sid-two" not in remaining
    assert "sid-one" in remaining
    assert "2 session(s)" in ok(env, "sessions", "revoke", "alice", "--all")
    assert ok(env, "sessions", "list", "alice").strip().count("\n") == 0  # header only

    revoked = [
        json.loads(line)
        for line in ok(env, "audit", "tail", "--event", "session.revoked").splitlines()
    ]
    assert sorted(r["session_id"] for r in revoked) == ["sid-one", "sid-three", "sid-two"]
    assert all(r["detail"]["by"] for r in revoked)


def test_audit_tail_filters_and_limits(env: dict[str, str], tmp_path: Path) -> None:
    create_admin(env)
    create_admin(env, "bob")
    ok(env, "accounts", "totp-enroll", "alice")
    ok(env, "accounts", "totp-enroll", "bob")
    ok(env, "accounts", "totp-enroll", "bob")
    lines = ok(env, "audit", "tail", "-n", "2").splitlines()
    assert len(lines) == 2
    events = [json.loads(line) for line in lines]
    assert [e["seq"] for e in events] == [2, 3]  # the newest, oldest first
    only_alice = ok(env, "audit", "tail", "--account", "alice").splitlines()
    assert len(only_alice) == 1
    assert invoke(env, "audit", "tail", "--tenant", "No Such Bank").exit_code != 0


def test_audit_verify_passes_then_finds_tampering(env: dict[str, str], tmp_path: Path) -> None:
    create_admin(env)
    for _ in range(3):
        ok(env, "accounts", "totp-enroll", "alice")
    assert "intact: 3 records" in ok(env, "audit", "verify")

    async def tamper() -> None:
        engine = create_engine_for(db_url(tmp_path))
        try:
            async with engine.begin() as conn:
                await conn.execute(
                    update(audit_events).where(audit_events.c.seq == 2).values(detail="{}")
                )
        finally:
            await engine.dispose()

    asyncio.run(tamper())
    broken = invoke(env, "audit", "verify")
    assert broken.exit_code == 1
    assert "record 2" in broken.stderr
