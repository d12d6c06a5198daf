"""One success across all instances: two real `tenantgate serve identity` processes
sharing one PostgreSQL database, 20 parallel redemptions of one SSO token split
between them, and a token minted on one instance redeemed on the other.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from tenantgate.demo.seed import DemoIdentity

from ..databases import postgres_schema
from ..harness import (
    ACCESS_TOKEN_TYPE,
    KEK,
    SSO_TOKEN_TYPE,
    TOKEN_EXCHANGE,
)
from ..over_http import client_auth, free_port, hosted_login, prepare_shared_database, select_tenant

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

ISSUER = "https://identity.test"
STARTUP_TIMEOUT = 30.0


@dataclass
class Instance:
    name: str
    base: str
    process: subprocess.Popen[bytes]
    log: Path


def start(name: str, url: str, log: Path, *, port: int | None = None, **settings: str) -> Instance:
    """`tenantgate serve identity` on ``url``; ``settings`` (``TENANTGATE_*``) override."""
    port = port or free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENANTGATE_")}
    env.update(
        {
            "TENANTGATE_DATABASE_URL": url,
            "TENANTGATE_KEY_ENCRYPTION_KEY": base64.urlsafe_b64encode(KEK).decode().rstrip("="),
            "TENANTGATE_ISSUER": ISSUER,
            "PYTHONUNBUFFERED": "1",
            **settings,
        }
    )
    command = [sys.executable, "-m", "tenantgate.cli", "serve", "identity", "--port", str(port)]
    with log.open("wb") as sink:
        process = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT)
    return Instance(name, f"http://127.0.0.1:{port}", process, log)


def stop(instance: Instance) -> None:
    if instance.process.poll() is None:
        instance.process.terminate()
        try:
            instance.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            instance.process.kill()
            instance.process.wait(timeout=10)


async def wait_healthy(http: httpx.AsyncClient, instance: Instance) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if instance.process.poll() is not None:
            pytest.fail(f"{instance.name} exited: {instance.log.read_text(errors='replace')}")
        try:
            if (await http.get(f"{instance.base}/healthz", timeout=2)).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await anyio.sleep(0.1)
    pytest.fail(f"{instance.name} did not serve within {STARTUP_TIMEOUT}s")


@dataclass
class Cluster:
    a: Instance
    b: Instance
    seed: DemoIdentity
    http: httpx.AsyncClient

    def basic(self, client_id: str) -> tuple[str, str]:
        return client_auth(self.seed, client_id)

    async def login(self, at: Instance, username: str) -> dict[str, Any]:
        return await hosted_login(self.http, at.base, self.seed, username)

    async def scoped_admin(self, at: Instance, tenant: str) -> str:
        unscoped = (await self.login(at, "admin"))["access_token"]
        selected = await select_tenant(self.http, at.base, self.seed, unscoped, tenant)
        return str(selected["access_token"])

    async def mint(self, at: Instance, scoped: str) -> str:
        minted = await self.http.post(
            f"{at.base}/token",
            data={
                "grant_type": TOKEN_EXCHANGE,
                "subject_token": scoped,
                "subject_token_type": ACCESS_TOKEN_TYPE,
                "requested_token_type": SSO_TOKEN_TYPE,
                "audience": "reporting-portal",
            },
            auth=self.basic("admin-portal"),
        )
        assert minted.status_code == 200, minted.text
        return str(minted.json()["access_token"])

    async def redeem(self, at: Instance, sso: str) -> httpx.Response:
        return await self.http.post(
            f"{at.base}/token",
            data={
                "grant_type": TOKEN_EXCHANGE,
                "subject_token": sso,
                "subject_token_type": SSO_TOKEN_TYPE,
            },
            auth=self.basic("reporting-portal"),
        )


@pytest.fixture
def shared_database() -> Iterator[str]:
    with postgres_schema() as url:
        yield url


@pytest.fixture
async def cluster(shared_database: str, tmp_path: Path) -> AsyncIterator[Cluster]:
    seed = await prepare_shared_database(shared_database)

    instances: list[Instance] = []
    try:
        for name in ("a", "b"):
            instances.append(start(name, shared_database, tmp_path / f"identity-{name}.log"))
        async with httpx.AsyncClient(timeout=20) as http:
            for instance in instances:
                await wait_healthy(http, instance)
            yield Cluster(instances[0], instances[1], seed, http)
    finally:
        for instance in instances:
            stop(instance)


async def test_one_success_across_two_identity_processes(cluster: Cluster) -> None:
    a, b = cluster.a, cluster.b
    tenant = next(iter(cluster.seed.tenants))
    scoped = await cluster.scoped_admin(a, tenant)
    sso = await cluster.mint(a, scoped)

    results: list[httpx.Response] = []

    async def redeem(at: Instance) -> None:
        results.append(await cluster.redeem(at, sso))

    with anyio.fail_after(60):
        async with anyio.create_task_group() as tg:
            for i in range(20):
                tg.start_soon(redeem, a if i % 2 == 0 else b)

    assert len(results) == 20
    assert not [r.text for r in results if r.status_code >= 500]
    statuses = sorted(r.status_code for r in results)
    assert statuses == [200] + [400] * 19, statuses
    assert {r.json()["error"] for r in results if r.status_code == 400} == {"invalid_grant"}

    # Cross-instance: minted on B, redeemed on A.
    other = await cluster.mint(b, scoped)
    crossed = await cluster.redeem(a, other)
    assert crossed.status_code == 200, crossed.text
    assert crossed.json()["tenant"]["name"] == tenant

    # Neither server ever logged an SSO token (the refusals above were logged).
    stop(a)
    stop(b)
    logs = a.log.read_text(errors="replace") + b.log.read_text(errors="replace")
    assert "request_refused" in logs
    for token in (sso, other):
        assert token not in logs
        assert token.split(".")[3] not in logs
