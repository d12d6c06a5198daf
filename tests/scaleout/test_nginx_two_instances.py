"""Scale-out: two `tenantgate serve identity` processes behind nginx (the shipped
`deploy/nginx/tenantgate.conf`, ports and paths substituted) sharing one PostgreSQL.

Two cores cannot show linear speed-up, so these tests prove correctness instead: an SSO
token minted through one instance is redeemed through the other, a replay is refused on
every instance, a login page served by one instance is accepted by the other, refresh
rotation and reuse detection hold across instances, and key and tenant-ref rotation reach
both instances consistently.

Needs nginx (Debian: `apt-get install nginx-light`) and PostgreSQL; without nginx the
module is skipped with a loud reason (CI would need nginx installed in its image)."""

from __future__ import annotations

import base64
import json
import os
import re
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

from ..identity.databases import postgres_schema
from ..identity.harness import KEK, TOKEN_EXCHANGE
from ..identity.http.test_sso_multiprocess import Cluster, Instance, start, stop, wait_healthy
from ..identity.over_http import free_port, prepare_shared_database
from .nginx import NGINX, SKIP_REASON, render_config, start_nginx, stop_nginx

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.slow,
    pytest.mark.skipif(
        NGINX is None,
        reason=SKIP_REASON,
    ),
]


def rotate_signing_key(database_url: str) -> str:
    """`tenantgate keys rotate --use sig` as an operator would run it; the new kid."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENANTGATE_")}
    env["TENANTGATE_DATABASE_URL"] = database_url
    env["TENANTGATE_KEY_ENCRYPTION_KEY"] = base64.urlsafe_b64encode(KEK).decode().rstrip("=")
    env["TENANTGATE_ISSUER"] = "https://identity.test"
    done = subprocess.run(
        [sys.executable, "-m", "tenantgate.cli", "keys", "rotate", "--use", "sig"],
        env=env,
        capture_output=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    return str(re.findall(r"new current key (\S+)", done.stdout.decode())[0])


def port_of(instance: Instance) -> int:
    return int(instance.base.rsplit(":", 1)[1])


@dataclass
class Balanced(Cluster):
    balancer: Instance


@pytest.fixture
def shared_database() -> Iterator[str]:
    with postgres_schema() as url:
        yield url


@pytest.fixture
async def cluster(shared_database: str, tmp_path: Path) -> AsyncIterator[Balanced]:
    assert NGINX is not None
    seed = await prepare_shared_database(shared_database)

    instances: list[Instance] = []
    nginx: subprocess.Popen[bytes] | None = None
    try:
        for name in ("a", "b"):
            instances.append(start(name, shared_database, tmp_path / f"identity-{name}.log"))
        lb_port = free_port()
        ports = {"8700": lb_port, "8702": free_port()}
        ports |= {"8711": port_of(instances[0]), "8712": port_of(instances[1])}
        ports |= {"8721": free_port(), "8722": free_port()}
        config = render_config(tmp_path, ports)
        log = tmp_path / "nginx.out"
        nginx = start_nginx(tmp_path, config, log)
        balancer = Instance("nginx", f"http://127.0.0.1:{lb_port}", nginx, log)
        async with httpx.AsyncClient(timeout=20) as http:
            for instance in (*instances, balancer):
                await wait_healthy(http, instance)
            yield Balanced(instances[0], instances[1], seed, http, balancer)
    finally:
        stop_nginx(nginx)
        for instance in instances:
            stop(instance)


async def test_balancer_spreads_requests_over_both_instances(cluster: Balanced) -> None:
    lb = cluster.balancer
    for _ in range(6):
        assert (await cluster.http.get(f"{lb.base}/healthz")).status_code == 200
    # Login through the balancer: the page and the form post land on different instances
    # (round robin), so the login CSRF binding works across instances.
    for _ in range(2):
        tokens = await cluster.login(lb, "admin")
        assert tokens["token_type"].lower() == "bearer"


async def test_sso_minted_on_one_instance_is_redeemed_once_on_the_other(
    cluster: Balanced,
) -> None:
    a, b, lb = cluster.a, cluster.b, cluster.balancer
    tenant = next(iter(cluster.seed.tenants))
    scoped = await cluster.scoped_admin(lb, tenant)

    sso = await cluster.mint(a, scoped)
    redeemed = await cluster.redeem(b, sso)
    assert redeemed.status_code == 200, redeemed.text
    assert redeemed.json()["tenant"]["name"] == tenant
    for at in (a, b, lb):  # a replay is refused on every instance
        replay = await cluster.redeem(at, sso)
        assert replay.status_code == 400, replay.text
        assert replay.json()["error"] == "invalid_grant"

    # And the other way round, through the balancer.
    other = await cluster.mint(b, scoped)
    assert (await cluster.redeem(lb, other)).status_code == 200
    assert (await cluster.redeem(a, other)).status_code == 400


async def _refresh(cluster: Balanced, at: Instance, token: str) -> httpx.Response:
    return await cluster.http.post(
        f"{at.base}/token",
        data={"grant_type": "refresh_token", "refresh_token": token},
        auth=cluster.basic("admin-portal"),
    )


async def test_refresh_rotation_and_reuse_detection_hold_across_instances(
    cluster: Balanced,
) -> None:
    a, b = cluster.a, cluster.b
    first = (await cluster.login(a, "admin"))["refresh_token"]
    second = await _refresh(cluster, a, first)
    assert second.status_code == 200, second.text
    third = await _refresh(cluster, b, second.json()["refresh_token"])
    assert third.status_code == 200, third.text
    # The rotated first token presented to the other instance is reuse: refused, and the
    # whole family ends — including the newest token, on either instance.
    reused = await _refresh(cluster, b, first)
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"
    newest = await _refresh(cluster, a, third.json()["refresh_token"])
    assert newest.status_code == 400


def _kid(token: str) -> str:
    header = token.split(".")[0]
    document: dict[str, Any] = json.loads(base64.urlsafe_b64decode(header + "=="))
    return str(document["kid"])


async def _jwks_kids(cluster: Balanced, at: Instance) -> set[str]:
    keys = (await cluster.http.get(f"{at.base}/jwks.json")).json()["keys"]
    return {str(k["kid"]) for k in keys}


async def test_key_and_ref_rotation_are_consistent_across_instances(
    cluster: Balanced, shared_database: str
) -> None:
    a, b = cluster.a, cluster.b
    before = await _jwks_kids(cluster, a)
    assert before == await _jwks_kids(cluster, b)

    new_kid = await anyio.to_thread.run_sync(rotate_signing_key, shared_database)

    # Both instances publish the new key within the key cache window (10 s) and sign with it.
    deadline = time.monotonic() + 30
    signed: dict[str, str] = {}
    while time.monotonic() < deadline and len(signed) < 2:
        for at in (a, b):
            if at.name not in signed and new_kid in await _jwks_kids(cluster, at):
                tokens = await cluster.login(at, "admin")
                if _kid(tokens["access_token"]) == new_kid:
                    signed[at.name] = tokens["access_token"]
        await anyio.sleep(0.5)
    assert set(signed) == {"a", "b"}, f"not every instance signs with {new_kid}: {signed}"
    # The retired key stays published on both (tokens signed before rotation stay valid).
    assert before <= await _jwks_kids(cluster, a)
    assert before <= await _jwks_kids(cluster, b)

    # Tenant refs: both instances hand out the same ref for the same FI and epoch, and a
    # ref listed by one instance selects the FI on the other.
    unscoped = signed["a"]
    listings = [
        (
            await cluster.http.get(
                f"{at.base}/tenants", headers={"Authorization": f"Bearer {unscoped}"}
            )
        ).json()["tenants"]
        for at in (a, b)
    ]
    assert listings[0] == listings[1]
    selected = await cluster.http.post(
        f"{b.base}/token",
        data={
            "grant_type": TOKEN_EXCHANGE,
            "subject_token": unscoped,
            "subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
            "tenant": listings[0][0]["ref"],
        },
        auth=cluster.basic("admin-portal"),
    )
    assert selected.status_code == 200, selected.text
    assert selected.json()["tenant"]["ref"] == listings[0][0]["ref"]
