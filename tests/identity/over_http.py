"""Talking to a real identity-server process over HTTP (multi-process, fault and scale-out
tests): the hosted login page, the code exchange and a tenant selection, as a portal
backend does them."""

from __future__ import annotations

import html
import re
import secrets
import socket
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from tenantgate.demo.seed import DemoIdentity
from tenantgate.identity.domain.clock import ManualClock
from tenantgate.identity.storage.sql_store import SqlIdentityStore

from .harness import ACCESS_TOKEN_TYPE, TOKEN_EXCHANGE, build_deps, pkce_pair, prepare_database

HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def prepare_shared_database(url: str) -> DemoIdentity:
    """Migrate and seed ``url`` and create the first keys once, so that every identity
    process started on it begins with the same current keys."""
    seed = await prepare_database(url)
    deps = build_deps(url, ManualClock(time.time()))
    await deps.keyring.refresh()
    assert isinstance(deps.store, SqlIdentityStore)
    await deps.store.engine.dispose()
    return seed


def client_auth(seed: DemoIdentity, client_id: str) -> tuple[str, str]:
    client = seed.clients[client_id]
    return client["client_id"], client["client_secret"]


async def hosted_login(
    http: httpx.AsyncClient,
    base: str,
    seed: DemoIdentity,
    username: str,
    client_id: str = "admin-portal",
) -> dict[str, Any]:
    """The hosted login page over real HTTP, then the code at /token; the token answer."""
    client = seed.clients[client_id]
    verifier, challenge = pkce_pair()
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": client["redirect_uri"],
        "state": secrets.token_urlsafe(12),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    page = await http.get(f"{base}/authorize", params=params)
    assert page.status_code == 200, page.text
    # Outside demo mode the CSRF cookie is `__Host-` and Secure; this plain-HTTP loopback
    # hop is ours, so carry it by hand.
    cookie = page.headers["set-cookie"].split(";", 1)[0]
    fields = {k: html.unescape(v) for k, v in HIDDEN.findall(page.text)}
    user = next(u for u in seed.users if u.username == username)
    fields.update({"username": username, "password": user.password})
    answer = await http.post(f"{base}/authorize", data=fields, headers={"Cookie": cookie})
    assert answer.status_code == 302, answer.text
    code = parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]
    token = await http.post(
        f"{base}/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": verifier,
            "redirect_uri": client["redirect_uri"],
        },
        auth=client_auth(seed, client_id),
    )
    assert token.status_code == 200, token.text
    body: dict[str, Any] = token.json()
    return body


async def select_tenant(
    http: httpx.AsyncClient, base: str, seed: DemoIdentity, unscoped: str, tenant: str
) -> dict[str, Any]:
    """An admin's unscoped token exchanged for one scoped to the FI named ``tenant``."""
    listing = await http.get(f"{base}/tenants", headers={"Authorization": f"Bearer {unscoped}"})
    assert listing.status_code == 200, listing.text
    ref = next(t["ref"] for t in listing.json()["tenants"] if t["name"] == tenant)
    selected = await http.post(
        f"{base}/token",
        data={
            "grant_type": TOKEN_EXCHANGE,
            "subject_token": unscoped,
            "subject_token_type": ACCESS_TOKEN_TYPE,
            "tenant": ref,
        },
        auth=client_auth(seed, "admin-portal"),
    )
    assert selected.status_code == 200, selected.text
    body: dict[str, Any] = selected.json()
    return body
