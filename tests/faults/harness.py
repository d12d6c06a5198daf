"""Fault-test machinery: a private PostgreSQL server, real `tenantgate serve identity`
processes, OAuth steps over real HTTP, and direct reads of the audit trail.

Everything listens on loopback only.  The shared PostgreSQL server is never stopped: the
restart scenario initialises its own cluster in a temporary directory."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from sqlalchemy import create_engine, text

from tenantgate.demo.seed import DemoIdentity
from tenantgate.identity.storage.engine import sync_url

from ..identity.harness import ACCESS_TOKEN_TYPE, KEK, SSO_TOKEN_TYPE, TOKEN_EXCHANGE
from ..identity.over_http import client_auth, free_port, hosted_login, select_tenant

ISSUER = "https://identity.test"
STARTUP_TIMEOUT = 30.0
PG_BIN = Path("/usr/lib/postgresql/15/bin")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def base_env(url: str, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENANTGATE_")}
    env.update(
        {
            "TENANTGATE_DATABASE_URL": url,
            "TENANTGATE_KEY_ENCRYPTION_KEY": base64.urlsafe_b64encode(KEK).decode().rstrip("="),
            "TENANTGATE_ISSUER": ISSUER,
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update({f"TENANTGATE_{k.upper()}": v for k, v in settings.items()})
    return env


def cli(url: str, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    """The `tenantgate` command in its own process, on the same database."""
    return subprocess.run(
        [sys.executable, "-m", "tenantgate.cli", *args],
        env=base_env(url, **settings),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


# -- a private PostgreSQL ---------------------------------------------------------------


@dataclass
class PrivatePostgres:
    directory: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _ctl(self, *args: str) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1"
        command = [str(PG_BIN / "pg_ctl"), "-D", str(self.directory / "data"), "-w"]
        command += ["-l", str(self.directory / "postgres.log"), "-o", options, *args]
        subprocess.run(
            ["runuser", "-u", "postgres", "--", *command],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def start(self) -> None:
        self._ctl("start")

    def stop(self) -> None:
        self._ctl("stop", "-m", "fast")


def postgres_tools_missing() -> str | None:
    if shutil.which("runuser") is None:
        return "runuser is not installed"
    if not (PG_BIN / "initdb").exists():
        return f"{PG_BIN / 'initdb'} is not installed"
    if os.geteuid() != 0:
        return "runuser needs root"
    return None


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    missing = postgres_tools_missing()
    if missing is not None:
        if in_ci():
            pytest.fail(f"a private PostgreSQL is required in CI: {missing}")
        pytest.skip(f"PRIVATE POSTGRESQL UNAVAILABLE — fault test skipped: {missing}")
    # Not under pytest's tmp dir: its parents are private to root, and postgres must reach it.
    directory = Path(tempfile.mkdtemp(prefix="tg-faults-pg-"))
    shutil.chown(directory, "postgres", "postgres")
    server = PrivatePostgres(directory, free_port())
    subprocess.run(
        [
            "runuser", "-u", "postgres", "--", str(PG_BIN / "initdb"),
            "-D", str(directory / "data"), "-A", "trust", "-U", "postgres",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )  # fmt: skip
    server.start()
    try:
        yield server
    finally:
        try:
            server.stop()
        finally:
            shutil.rmtree(directory, ignore_errors=True)


# -- identity server processes ------------------------------------------------------------


@dataclass
class Server:
    url: str  # the database
    settings: dict[str, str]
    log: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.port = free_port()
        command = [sys.executable, "-m", "tenantgate.cli", "serve", "identity"]
        command += ["--port", str(self.port)]
        with self.log.open("ab") as sink:
            self.process = subprocess.Popen(
                command,
                env=base_env(self.url, **self.settings),
                stdout=sink,
                stderr=subprocess.STDOUT,
            )

    def stop(self) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    async def wait_healthy(self, http: httpx.AsyncClient) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                pytest.fail(f"identity exited: {self.log.read_text(errors='replace')[-3000:]}")
            try:
                if (await http.get(f"{self.base}/healthz", timeout=2)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await anyio.sleep(0.1)
        pytest.fail(f"identity did not serve within {STARTUP_TIMEOUT}s")


@contextmanager
def serving(url: str, log: Path, **settings: str) -> Iterator[Server]:
    server = Server(url, settings, log)
    server.start()
    try:
        yield server
    finally:
        server.stop()


# -- OAuth over HTTP -----------------------------------------------------------------------


@dataclass
class Oauth:
    """Protocol steps against one identity server (its base may change across restarts)."""

    server: Server
    seed: DemoIdentity
    http: httpx.AsyncClient
    tally: dict[str, int] = field(default_factory=dict)

    def count(self, what: str) -> None:
        self.tally[what] = self.tally.get(what, 0) + 1

    def basic(self, client_id: str) -> tuple[str, str]:
        return client_auth(self.seed, client_id)

    async def token(self, client_id: str, **form: str) -> httpx.Response:
        return await self.http.post(
            f"{self.server.base}/token", data=form, auth=self.basic(client_id)
        )

    async def login(self, username: str, client_id: str = "admin-portal") -> dict[str, Any]:
        body = await hosted_login(self.http, self.server.base, self.seed, username, client_id)
        self.count("code.exchanged")
        return body

    async def scoped_admin(self, tenant: str, username: str = "admin") -> dict[str, Any]:
        unscoped = (await self.login(username))["access_token"]
        body = await select_tenant(self.http, self.server.base, self.seed, unscoped, tenant)
        self.count("tenant.selected")
        return body

    async def refresh(self, refresh_token: str, client_id: str = "admin-portal") -> httpx.Response:
        return await self.token(client_id, grant_type="refresh_token", refresh_token=refresh_token)

    async def revoke(self, token: str, client_id: str = "admin-portal") -> httpx.Response:
        return await self.http.post(
            f"{self.server.base}/revoke", data={"token": token}, auth=self.basic(client_id)
        )

    async def introspect(self, token: str, client_id: str = "admin-portal") -> httpx.Response:
        return await self.http.post(
            f"{self.server.base}/introspect", data={"token": token}, auth=self.basic(client_id)
        )

    async def mint_sso(self, access_token: str) -> httpx.Response:
        return await self.token(
            "admin-portal",
            grant_type=TOKEN_EXCHANGE,
            subject_token=access_token,
            subject_token_type=ACCESS_TOKEN_TYPE,
            requested_token_type=SSO_TOKEN_TYPE,
            audience="reporting-portal",
        )

    async def redeem_sso(self, sso_token: str) -> httpx.Response:
        return await self.token(
            "reporting-portal",
            grant_type=TOKEN_EXCHANGE,
            subject_token=sso_token,
            subject_token_type=SSO_TOKEN_TYPE,
        )


# -- the audit trail ----------------------------------------------------------------------


def audit_counts(url: str) -> dict[str, int]:
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT event, count(*) FROM audit_events GROUP BY event"))
            return {str(event): int(n) for event, n in rows}
    finally:
        engine.dispose()


def assert_audit_verifies(url: str) -> str:
    verified = cli(url, "audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "intact" in verified.stdout, verified.stdout
    return verified.stdout.strip()
