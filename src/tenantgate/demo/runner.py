"""`tenantgate demo`: migrate, seed, start every app on the port base, write demo.json."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import secrets
import time
from pathlib import Path
from typing import Any

import anyio.to_thread
import httpx

from ..banking import create_banking_engine
from ..identity.bootstrap import build_deps
from ..identity.domain.passwords import Passwords
from ..identity.storage.administration import SqlAdministration
from ..identity.storage.engine import create_engine_for, upgrade_database
from ..identity.web.app import create_identity_app
from ..serving import Served, serve_all
from ..settings import Settings
from .banking_seed import app_role_url, seed_banking
from .portal_apps import build_portal_apps
from .seed import DemoIdentity, seed_identity

HOST = "127.0.0.1"


class DemoError(RuntimeError):
    pass


def demo_settings(data_dir: Path, port_base: int) -> Settings:
    kek = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
    return Settings(
        demo_mode=True,
        data_dir=data_dir,
        issuer=f"http://{HOST}:{port_base}",
        key_encryption_key=kek,
    )


def _fresh_sqlite(settings: Settings) -> None:
    if settings.database_url:
        return
    names = ["identity", "banking", *(f"{p}-sessions" for p in ("admin", "reporting", "customer"))]
    for name in names:
        for suffix in ("", "-wal", "-shm"):
            Path(str(settings.data_dir / f"{name}.db") + suffix).unlink(missing_ok=True)


def banking_url(settings: Settings) -> str:
    if settings.database_url:
        return settings.database_url
    return f"sqlite+aiosqlite:///{(settings.data_dir / 'banking.db').resolve()}"


async def prepare(
    settings: Settings, *, banks: int, port_base: int, passwords: Passwords
) -> DemoIdentity:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    _fresh_sqlite(settings)
    url = settings.resolved_database_url
    await anyio.to_thread.run_sync(upgrade_database, url)
    engine = create_engine_for(url)
    try:
        admin = SqlAdministration(engine, time.time())
        if await admin.count_tenants():
            raise DemoError("the database already holds FIs; the demo seeds an empty database only")
        return await seed_identity(
            admin,
            passwords,
            banks=banks,
            port_base=port_base,
            demo_password=os.environ.get("TENANTGATE_DEMO_PASSWORD") or None,
            key_encryption_key=settings.key_encryption_key_bytes(),
        )
    finally:
        await engine.dispose()


def demo_document(identity: DemoIdentity, port_base: int) -> dict[str, Any]:
    return {
        "urls": {
            "identity": f"http://{HOST}:{port_base}",
            "admin": f"http://{HOST}:{port_base + 1}",
            "reporting": f"http://{HOST}:{port_base + 2}",
            "customer": f"http://{HOST}:{port_base + 3}",
        },
        "clients": identity.clients,
        "users": [user.as_json() for user in identity.users],
    }


async def _wait_until_serving(urls: list[str]) -> None:
    deadline = time.monotonic() + 30.0
    async with httpx.AsyncClient(timeout=2.0) as client:
        for url in urls:
            while True:
                try:
                    if (await client.get(f"{url}/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise DemoError(f"{url} did not come up")
                await asyncio.sleep(0.1)


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def _print_summary(document: dict[str, Any], path: Path) -> None:
    urls = document["urls"]
    print("\nTenantgate demo is running (Ctrl-C stops everything):")
    for name in ("identity", "admin", "reporting", "customer"):
        print(f"  {name:<10} {urls[name]}")
    print("\nDemo logins:")
    shown = document["users"][:4] + [u for u in document["users"] if u.get("totp_secret")]
    for user in shown:
        fis = ", ".join(t["name"] for t in user["tenants"][:2])
        more = "" if len(user["tenants"]) <= 2 else f" (+{len(user['tenants']) - 2} more)"
        print(f"  {user['username']:<32} {user['password']:<20} {user['kind']:<9} {fis}{more}")
        if user.get("totp_secret"):
            print(f"  {'':<32} TOTP secret {user['totp_secret']}")
    print(f"\nEvery user, client secret and URL: {path}\n", flush=True)


async def run_demo(*, banks: int, customers_per_bank: int, port_base: int, data_dir: Path) -> None:
    settings = demo_settings(data_dir, port_base)
    passwords = Passwords()
    identity = await prepare(settings, banks=banks, port_base=port_base, passwords=passwords)
    started_at = time.perf_counter()
    report = await seed_banking(
        banking_url(settings),
        [(tenant_id, name) for name, tenant_id in identity.tenants.items()],
        identity.customer_subjects,
        customers_per_bank=customers_per_bank,
    )
    print(
        f"Seeded {report.banks} FIs, {report.customers:,} customers and "
        f"{report.transactions:,} transactions in {time.perf_counter() - started_at:.1f} s",
        flush=True,
    )
    deps = build_deps(settings, passwords=passwords)
    banking = create_banking_engine(app_role_url(banking_url(settings)))
    try:
        async with httpx.AsyncClient(timeout=10.0) as http:
            portal_apps = build_portal_apps(
                identity.clients,
                port_base=port_base,
                data_dir=settings.data_dir,
                database_url=settings.database_url,
                banking=banking,
                http=http,
            )
            identity_app = create_identity_app(deps, cookie_secure=False)
            apps = [Served("identity", identity_app, HOST, port_base)]
            apps += [
                Served(name, app, HOST, port_base + offset)
                for offset, (name, app) in enumerate(portal_apps.items(), start=1)
            ]
            await _serve(apps, identity, settings, port_base)
    finally:
        # Shared by the three portals: closed once, after all of them stopped.
        await banking.dispose()


async def _serve(
    apps: list[Served], identity: DemoIdentity, settings: Settings, port_base: int
) -> None:
    document = demo_document(identity, port_base)
    started = asyncio.Event()

    async def announce() -> None:
        await started.wait()
        await _wait_until_serving(list(document["urls"].values()))
        path = settings.data_dir / "demo.json"
        _write_private(path, json.dumps(document, indent=2))
        _print_summary(document, path)

    announcer = asyncio.create_task(announce())
    try:
        await serve_all(apps, started)
    finally:
        announcer.cancel()
