"""One success across all instances: two real `tenantgate serve identity` processes
sharing one PostgreSQL database, 20 parallel redemptions of one SSO token split
between them, and a token minted on one instance redeemed on the other.
"""

from __future__ import annotations

import base64
import html
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import anyio
import httpx
import pytest

from tenantgate.demo.seed import DemoIdentity
from tenantgate.identity.domain.clock import ManualClock
from tenantgate.identity.storage.sql_store import SqlIdentityStore

from ..databases import postgres_schema
from ..harness import (
    ACCESS_TOKEN_TYPE,
    KEK,
    SSO_TOKEN_TYPE,
    TOKEN_EXCHANGE,
    build_deps,
    pkce_pair,
    prepare_database,
)

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

ISSUER = "https://identity.test"
STARTUP_TIMEOUT = 30.0
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


@dataclass
class Instance:
    name: str
    base: str
    process: subprocess.Popen[bytes]
    log: Path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start(name: str, url: str, log: Path) -> Instance:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENANTGATE_")}
    env.update(
        {
            "TENANTGATE_DATABASE_URL": url,
            "TENANTGATE_KEY_ENCRYPTION_KEY": base64.urlsafe_b64encode(KEK).decode().rstrip("="),
            "TENANTGATE_ISSUER": ISSUER,
            "PYTHONUNBUFFERED": "1",
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
        c = self.seed.clients[client_id]
        return c["client_id"], c["client_secret"]

    async def login(self, at: Instance, username: str) -> dict[str, Any]:
        """The hosted login page over real HTTP, then the code at /token."""
        client = self.seed.clients["admin-portal"]
        verifier, challenge = pkce_pair()
        params = {
            "response_type": "code",
            "client_id": "admin-portal",
            "redirect_uri": client["redirect_uri"],
            "state": secrets.token_urlsafe(12),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        page = await self.http.get(f"{at.base}/authorize", params=params)
        assert page.status_code == 200, page.text
        # Outside demo mode the CSRF cookie is `__Host-` and Secure; this plain-HTTP
        # loopback hop is ours, so carry it by hand.
        cookie = page.headers["set-cookie"].split(";", 1)[0]
        fields = {k: html.unescape(v) for k, v in HIDDEN.findall(page.text)}
        user = next(u for u in self.seed.users if u.username == username)
        fields.update({"username": username, "password": user.password})
        answer = await self.http.post(
            f"{at.base}/authorize", data=fields, headers={"Cookie": cookie}
        )
        assert answer.status_code == 302, answer.text
        code = parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]
        token = await self.http.post(
            f"{at.base}/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "code_verifier": verifier,
                "redirect_uri": client["redirect_uri"],
            },
            auth=self.basic("admin-portal"),
        )
        assert token.status_code == 200, token.text
        body: dict[str, Any] = token.json()
        return body

    async def scoped_admin(self, at: Instance, tenant: str) -> str:
        unscoped = (await self.login(at, "admin"))["access_token"]
        listing = await self.http.get(
            f"{at.base}/tenants", headers={"Authorization": f"Bearer {unscoped}"}
        )
        assert listing.status_code == 200, listing.text
        ref = next(t["ref"] for t in listing.json()["tenants"] if t["name"] == tenant)
        selected = await self.http.post(
            f"{at.base}/token",
            data={
                "grant_type": TOKEN_EXCHANGE,
                "subject_token": unscoped,
                "subject_token_type": ACCESS_TOKEN_TYPE,
                "tenant": ref,
            },
            auth=self.basic("admin-portal"),
        )
        assert selected.status_code == 200, selected.text
        return str(selected.json()["access_token"])

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
    seed = await prepare_database(shared_database)
    # Create the first keys once, so both instances start on the same current keys.
    deps = build_deps(shared_database, ManualClock(time.time()))
    await deps.keyring.refresh()
    assert isinstance(deps.store, SqlIdentityStore)
    await deps.store.engine.dispose()

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
