"""Scale-out of the reporting side: two `tenantgate serve identity` and two
`tenantgate serve portal reporting` processes behind nginx (the shipped
`deploy/nginx/tenantgate.conf`), sharing PostgreSQL (identity, portal sessions and banking
each in a schema of their own).

The portals reach the identity server only through the balancer (their issuer URL), so
every hand-off below crosses instances in ways round robin decides. The tests prove what a
second reporting instance must not break: an SSO landing on one instance gives a session
that the other serves; a replayed hand-off is refused by every instance; a newer session
started on one instance ends the older one on both (one reporting session per browser);
and after a signing-key rotation both reporting instances accept tokens signed with the
new key."""

from __future__ import annotations

import base64
import html
import json
import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpx
import pytest

from tenantgate.demo.banking_seed import seed_banking
from tenantgate.demo.seed import DemoIdentity

from ..identity.databases import postgres_schema
from ..identity.http.test_sso_multiprocess import Cluster, Instance, start, stop, wait_healthy
from ..identity.over_http import free_port, prepare_shared_database
from .nginx import NGINX, SKIP_REASON, render_config, start_nginx, stop_nginx
from .test_nginx_two_instances import rotate_signing_key

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.slow,
    pytest.mark.skipif(NGINX is None, reason=SKIP_REASON),
]

SESSION_KEY = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
COOKIE = "tg_reporting"  # plain-HTTP loopback runs in demo mode: no __Host- prefix


@dataclass(frozen=True)
class Databases:
    identity: str
    sessions: str
    banking: str


@dataclass
class Site(Cluster):
    """Identity instances a/b, reporting instances r1/r2, and the balancer's two origins."""

    r1: Instance
    r2: Instance
    identity_lb: Instance
    reporting_lb: Instance
    databases: Databases

    async def land(self, at: Instance, sso: str, cookie: str | None = None) -> httpx.Response:
        """The admin portal's auto-posted form, as the browser sends it."""
        headers = {"Cookie": f"{COOKIE}={cookie}"} if cookie else {}
        return await self.http.post(
            f"{at.base}/sso/landing", data={"sso_token": sso}, headers=headers
        )

    async def api(self, at: Instance, cookie: str, path: str, session: str) -> httpx.Response:
        return await self.http.get(
            f"{at.base}{path}",
            headers={"Cookie": f"{COOKIE}={cookie}", "X-Reporting-Session": session},
        )

    async def session_of(self, at: Instance, cookie: str) -> tuple[str, str]:
        """(the page's session id, its FI's name), as a dashboard tab learns them."""
        page = await self.http.get(f"{at.base}/dashboard", headers={"Cookie": f"{COOKIE}={cookie}"})
        assert page.status_code == 200, (at.name, page.text)
        found = re.search(r'data-session="([^"]+)" data-tenant-name="([^"]*)"', page.text)
        assert found is not None, page.text
        return found.group(1), html.unescape(found.group(2))


def session_cookie(landing: httpx.Response) -> str:
    assert landing.status_code == 200, landing.text
    for header in landing.headers.get_list("set-cookie"):
        if header.startswith(f"{COOKIE}="):
            return header.split(";", 1)[0].split("=", 1)[1]
    raise AssertionError(f"no {COOKIE} cookie set: {landing.headers}")


# Plain HTTP on loopback needs demo mode; nothing else about the processes changes.
DEMO = {"TENANTGATE_DEMO_MODE": "true"}


def start_reporting(
    name: str, port: int, databases: Databases, issuer: str, public_url: str, secret: str, log: Path
) -> Instance:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENANTGATE_")}
    env.update(
        {
            **DEMO,
            "TENANTGATE_ISSUER": issuer,
            "PYTHONUNBUFFERED": "1",
            "TENANTGATE_REPORTING_PUBLIC_URL": public_url,
            "TENANTGATE_REPORTING_CLIENT_SECRET": secret,
            "TENANTGATE_REPORTING_SESSION_KEY": SESSION_KEY,  # the same on every instance
            "TENANTGATE_REPORTING_SESSIONS_DATABASE_URL": databases.sessions,
            "TENANTGATE_BANKING_DATABASE_URL": databases.banking,
        }
    )
    command = [sys.executable, "-m", "tenantgate.cli", "serve", "portal", "reporting"]
    command += ["--port", str(port)]
    with log.open("wb") as sink:
        process = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT)
    return Instance(name, f"http://127.0.0.1:{port}", process, log)


@pytest.fixture
def databases() -> Iterator[Databases]:
    with postgres_schema() as identity, postgres_schema() as sessions, postgres_schema() as banking:
        yield Databases(identity, sessions, banking)


async def _seed(databases: Databases) -> DemoIdentity:
    seed = await prepare_shared_database(databases.identity)
    await seed_banking(
        databases.banking,
        [(tenant_id, name) for name, tenant_id in seed.tenants.items()],
        seed.customer_subjects,
        customers_per_bank=10,
    )
    return seed


@pytest.fixture
async def site(databases: Databases, tmp_path: Path) -> AsyncIterator[Site]:
    seed = await _seed(databases)
    ports = {shipped: free_port() for shipped in ("8700", "8702", "8711", "8712", "8721", "8722")}
    issuer, public = f"http://127.0.0.1:{ports['8700']}", f"http://127.0.0.1:{ports['8702']}"
    secret = seed.clients["reporting-portal"]["client_secret"]
    nginx: subprocess.Popen[bytes] | None = None
    started: list[Instance] = []
    try:
        nginx = start_nginx(tmp_path, render_config(tmp_path, ports), tmp_path / "nginx.out")
        async with httpx.AsyncClient(timeout=20) as http:
            for name, shipped in (("a", "8711"), ("b", "8712")):
                log = tmp_path / f"identity-{name}.log"
                identity = start(
                    name, databases.identity, log, port=ports[shipped],
                    TENANTGATE_ISSUER=issuer, **DEMO,
                )  # fmt: skip
                started.append(identity)
            # One after the other: each creates the session tables it needs on first start.
            for name, shipped in (("r1", "8721"), ("r2", "8722")):
                log = tmp_path / f"reporting-{name}.log"
                instance = start_reporting(
                    name, ports[shipped], databases, issuer, public, secret, log
                )
                started.append(instance)
                await wait_healthy(http, instance)
            for instance in started:
                await wait_healthy(http, instance)
            out = tmp_path / "nginx.out"
            identity_lb = Instance("identity-lb", issuer, nginx, out)
            reporting_lb = Instance("reporting-lb", public, nginx, out)
            for balancer in (identity_lb, reporting_lb):
                await wait_healthy(http, balancer)
            a, b, r1, r2 = started
            yield Site(a, b, seed, http, r1, r2, identity_lb, reporting_lb, databases)
    finally:
        stop_nginx(nginx)
        for instance in started:
            stop(instance)


def _tenants(site: Site) -> list[str]:
    return sorted(site.seed.tenants)[:2]


async def test_a_session_landed_on_one_reporting_instance_is_served_by_both(site: Site) -> None:
    tenant = _tenants(site)[0]
    scoped = await site.scoped_admin(site.identity_lb, tenant)
    sso = await site.mint(site.identity_lb, scoped)

    cookie = session_cookie(await site.land(site.r1, sso))
    public_id, shown = await site.session_of(site.r2, cookie)
    assert shown == tenant
    for at in (site.r1, site.r2, site.reporting_lb, site.reporting_lb):
        summary = await site.api(at, cookie, "/api/summary", public_id)
        assert summary.status_code == 200, (at.name, summary.text)
        assert summary.json()["tenant"]["name"] == tenant

    # The same hand-off replayed: refused by the other instance, this one and the balancer.
    for at in (site.r2, site.r1, site.reporting_lb):
        replay = await site.land(at, sso)
        assert replay.status_code == 400, (at.name, replay.text)
        assert f"{COOKIE}=" not in replay.headers.get("set-cookie", "")


async def test_a_newer_session_on_one_instance_ends_the_older_one_on_both(site: Site) -> None:
    first_fi, second_fi = _tenants(site)
    older_sso = await site.mint(
        site.identity_lb, await site.scoped_admin(site.identity_lb, first_fi)
    )
    older = session_cookie(await site.land(site.r1, older_sso))
    older_id, _ = await site.session_of(site.r2, older)

    # The same browser (it still carries the older cookie) opens reporting for another FI,
    # and this time the landing is served by the other instance.
    newer_sso = await site.mint(
        site.identity_lb, await site.scoped_admin(site.identity_lb, second_fi)
    )
    newer = session_cookie(await site.land(site.r2, newer_sso, cookie=older))
    assert newer != older

    for at in (site.r1, site.r2):
        ended = await site.api(at, older, "/api/summary", older_id)
        assert ended.status_code == 401, (at.name, ended.text)
        newer_id, shown = await site.session_of(at, newer)
        assert shown == second_fi
        assert (await site.api(at, newer, "/api/summary", newer_id)).status_code == 200
        # A tab still naming the older session, with the newer cookie: 409, never FI B's
        # figures under FI A's banner.
        confused = await site.api(at, newer, "/api/summary", older_id)
        assert confused.status_code == 409, (at.name, confused.text)


async def test_both_reporting_instances_accept_tokens_signed_after_a_key_rotation(
    site: Site,
) -> None:
    tenant = _tenants(site)[0]
    new_kid = await anyio.to_thread.run_sync(rotate_signing_key, site.databases.identity)
    # Each identity instance signs with the new key once its key cache (10 s) refreshes.
    deadline = time.monotonic() + 40
    signing: set[str] = set()
    while time.monotonic() < deadline and signing != {"a", "b"}:
        for at in (site.a, site.b):
            if _kid(await site.scoped_admin(at, tenant)) == new_kid:
                signing.add(at.name)
        await anyio.sleep(0.5)
    assert signing == {"a", "b"}, f"not every identity instance signs with {new_kid}"
    # Now every reporting session's token carries a kid neither reporting instance has
    # seen: each must refetch the JWK Set instead of refusing the landing.
    for at in (site.r1, site.r2):
        sso = await site.mint(site.identity_lb, await site.scoped_admin(site.identity_lb, tenant))
        cookie = session_cookie(await site.land(at, sso))
        public_id, shown = await site.session_of(at, cookie)
        assert shown == tenant
        summary = await site.api(at, cookie, "/api/summary", public_id)
        assert summary.status_code == 200, (at.name, summary.text)


def _kid(token: str) -> str:
    header = token.split(".")[0]
    return str(json.loads(base64.urlsafe_b64decode(header + "=="))["kid"])
