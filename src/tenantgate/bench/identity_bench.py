"""Identity-server throughput, in process over the ASGI interface on embedded SQLite.

A first, honest baseline: client and server share one process and one event loop,
so the figures include the client's own cost.  They are comparable run to run, not
with a separate load generator against PostgreSQL."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import secrets
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from ..demo.seed import seed_identity
from ..identity.domain.clock import SystemClock
from ..identity.domain.passwords import Passwords
from ..identity.services.config import IdentityConfig
from ..identity.services.context import Deps
from ..identity.services.keyring import KeyRing
from ..identity.storage.administration import SqlAdministration
from ..identity.storage.engine import create_engine_for, upgrade_database
from ..identity.storage.sql_store import SqlIdentityStore
from ..identity.web.app import create_identity_app
from .stats import figure, percentile

ISSUER = "http://127.0.0.1:8700"
EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS = "urn:ietf:params:oauth:token-type:access_token"
CONCURRENCY = 50
REQUESTS = 400


async def _world(directory: Path) -> tuple[httpx.AsyncClient, dict[str, Any], Deps]:
    url = f"sqlite+aiosqlite:///{directory / 'bench.db'}"
    await asyncio.to_thread(upgrade_database, url)
    engine = create_engine_for(url)
    passwords = Passwords()
    seed = await seed_identity(
        SqlAdministration(engine, time.time()),
        passwords,
        banks=12,
        port_base=8700,
        demo_password="bench-password-123",
    )
    store = SqlIdentityStore(engine)
    config = IdentityConfig(issuer=ISSUER, key_encryption_key=secrets.token_bytes(32))
    deps = Deps(store, config, SystemClock(), KeyRing(store, config, SystemClock()), passwords)
    app = create_identity_app(deps, cookie_secure=False)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ISSUER)
    return client, seed.clients, deps


async def _login(http: httpx.AsyncClient, client: dict[str, str]) -> dict[str, Any]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    params = {
        "response_type": "code",
        "client_id": client["client_id"],
        "redirect_uri": client["redirect_uri"],
        "state": "s",
        "code_challenge": challenge.rstrip(b"=").decode(),
        "code_challenge_method": "S256",
    }
    page = await http.get("/authorize", params=params)
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text))
    fields.update(username="admin", password="bench-password-123")
    answer = await http.post(
        "/authorize",
        content=urlencode(fields),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    code = parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]
    tokens = await http.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": verifier,
            "redirect_uri": client["redirect_uri"],
        },
        auth=(client["client_id"], client["client_secret"]),
    )
    body: dict[str, Any] = tokens.json()
    return body


async def _load(
    operation: Callable[[int], Awaitable[None]], concurrency: int, total: int
) -> tuple[float, list[float]]:
    latencies: list[float] = []
    queue = iter(range(total))

    async def worker(slot: int) -> None:
        # Each simulated connection owns one slot (one refresh family): no self-inflicted reuse.
        for _ in queue:
            started = time.perf_counter()
            await operation(slot)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker(slot) for slot in range(concurrency)))
    return total / (time.perf_counter() - started), latencies


class _Scenario:
    """The three measured operations; each admin session holds one refresh family."""

    def __init__(self, http: httpx.AsyncClient, clients: dict[str, Any]) -> None:
        self.http = http
        admin, reporting = clients["admin-portal"], clients["reporting-portal"]
        self.admin = admin
        self.auth = (admin["client_id"], admin["client_secret"])
        self.reporting_auth = (reporting["client_id"], reporting["client_secret"])
        self.unscoped = ""
        self.ref = ""
        self.refresh_tokens: list[str] = []
        self.scoped = ""

    async def prepare(self) -> None:
        self.refresh_tokens = []
        for _ in range(CONCURRENCY):
            unscoped = (await _login(self.http, self.admin))["access_token"]
            if not self.ref:
                listing = await self.http.get(
                    "/tenants", headers={"Authorization": f"Bearer {unscoped}"}
                )
                self.ref = listing.json()["tenants"][0]["ref"]
            selected = (await self._select(unscoped)).json()
            self.refresh_tokens.append(selected["refresh_token"])
            self.unscoped, self.scoped = unscoped, selected["access_token"]

    async def _select(self, unscoped: str) -> httpx.Response:
        return await self.http.post(
            "/token",
            auth=self.auth,
            data={
                "grant_type": EXCHANGE,
                "subject_token": unscoped,
                "subject_token_type": ACCESS,
                "tenant": self.ref,
            },
        )

    async def refresh(self, slot: int) -> None:
        answer = await self.http.post(
            "/token",
            auth=self.auth,
            data={"grant_type": "refresh_token", "refresh_token": self.refresh_tokens[slot]},
        )
        self.refresh_tokens[slot] = answer.json()["refresh_token"]

    async def sso(self, _: int) -> None:
        minted = await self.http.post(
            "/token",
            auth=self.auth,
            data={
                "grant_type": EXCHANGE,
                "subject_token": self.scoped,
                "subject_token_type": ACCESS,
                "requested_token_type": "urn:tenantgate:token-type:sso",
                "audience": "reporting-portal",
            },
        )
        redeemed = await self.http.post(
            "/token",
            auth=self.reporting_auth,
            data={
                "grant_type": EXCHANGE,
                "subject_token": minted.json()["access_token"],
                "subject_token_type": "urn:tenantgate:token-type:sso",
            },
        )
        if redeemed.status_code != 200:
            raise RuntimeError(f"SSO hand-off failed: {redeemed.text}")

    async def select(self, _: int) -> None:
        if (await self._select(self.unscoped)).status_code != 200:
            raise RuntimeError("tenant selection failed")


async def run_identity_benchmarks(repeats: int) -> dict[str, Any]:
    results: dict[str, list[float]] = {k: [] for k in ("refresh", "sso", "select")}
    p50: dict[str, list[float]] = {k: [] for k in results}
    p99: dict[str, list[float]] = {k: [] for k in results}
    with tempfile.TemporaryDirectory() as directory:
        http, clients, deps = await _world(Path(directory))
        scenario = _Scenario(http, clients)
        for _ in range(repeats):
            await scenario.prepare()
            operations = {
                "refresh": scenario.refresh,
                "sso": scenario.sso,
                "select": scenario.select,
            }
            for name, operation in operations.items():
                rate, latencies = await _load(operation, CONCURRENCY, REQUESTS)
                results[name].append(rate)
                p50[name].append(percentile(latencies, 50) * 1000)
                p99[name].append(percentile(latencies, 99) * 1000)
        await http.aclose()
        if isinstance(deps.store, SqlIdentityStore):
            await deps.store.engine.dispose()
    labels = {"refresh": "refresh grants", "sso": "SSO hand-offs", "select": "tenant selections"}
    out: dict[str, Any] = {}
    for name, label in labels.items():
        out[f"{label} per second"] = figure(results[name], "1/s")
        out[f"{label} p50"] = figure(p50[name], "ms")
        out[f"{label} p99"] = figure(p99[name], "ms")
    return out
