"""The `tenantgate` command: demo, serving, migrations and operator actions."""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
import sys
from pathlib import Path

import click

from .cli_support import load_settings, run_async
from .logging_setup import configure_logging
from .operator_cli import accounts, audit, clients, grants, sessions, tenants
from .settings import sqlite_url


@click.group()
@click.option("--log-level", default="INFO", show_default=True)
def main(log_level: str) -> None:
    """Tenantgate: multi-tenant identity and cross-application SSO."""
    configure_logging(log_level.upper(), json_output=True)


@main.command()
@click.option("--banks", type=click.IntRange(1, 5000), default=12, show_default=True)
@click.option("--customers-per-bank", type=click.IntRange(1, 1_000_000), default=300)
@click.option("--port-base", type=click.IntRange(1024, 65000), default=8700, show_default=True)
@click.option("--data-dir", type=click.Path(path_type=Path), default=None)
def demo(banks: int, customers_per_bank: int, port_base: int, data_dir: Path | None) -> None:
    """Migrate, seed and run every app on embedded SQLite; Ctrl-C stops."""
    from .demo.runner import DemoError, run_demo

    directory = data_dir or Path(os.environ.get("TENANTGATE_DATA_DIR") or ".tenantgate")
    try:
        asyncio.run(
            run_demo(
                banks=banks,
                customers_per_bank=customers_per_bank,
                port_base=port_base,
                data_dir=directory,
            )
        )
    except DemoError as exc:
        raise click.ClickException(str(exc)) from exc
    except KeyboardInterrupt:
        pass


@main.group()
def serve() -> None:
    """Serve one app."""


@serve.command("identity")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8700, show_default=True)
def serve_identity(host: str, port: int) -> None:
    """The identity server, configured from TENANTGATE_* variables."""
    from .identity.bootstrap import build_deps
    from .identity.web.app import create_identity_app
    from .serving import Served, run, serve_all

    settings = load_settings()
    app = create_identity_app(build_deps(settings), cookie_secure=not settings.demo_mode)
    run(serve_all([Served("identity", app, host, port)]))


@serve.command("portal")
@click.argument("name", type=click.Choice(["admin", "reporting", "customer"]))
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, required=True)
def serve_portal(name: str, host: str, port: int) -> None:
    """One portal backend, configured from TENANTGATE_<NAME>_* variables."""
    from .portal_apps import build_deployed_portal_app
    from .serving import Served, run, serve_all
    from .settings import InsecureSettingsError

    try:
        app = build_deployed_portal_app(name)
    except InsecureSettingsError as exc:
        raise click.ClickException(f"settings refused: {exc}") from exc
    run(serve_all([Served(name, app, host, port)]))


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration to TENANTGATE_DATABASE_URL (or the embedded SQLite)."""
    from .identity.storage.engine import upgrade_database

    data_dir = Path(os.environ.get("TENANTGATE_DATA_DIR") or ".tenantgate")
    upgrade_database(os.environ.get("TENANTGATE_DATABASE_URL") or sqlite_url(data_dir))
    click.echo("identity schema is up to date")


@main.group()
def keys() -> None:
    """Signing and SSO encryption keys."""


@keys.command("new-kek")
def keys_new_kek() -> None:
    """Print a fresh key-encryption key for TENANTGATE_KEY_ENCRYPTION_KEY."""
    click.echo(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("="))


@keys.command("rotate")
@click.option("--use", "uses", type=click.Choice(["sig", "enc", "all"]), default="all")
def keys_rotate(uses: str) -> None:
    """Make new current keys; the previous ones stay published for the overlap."""
    from .identity.bootstrap import identity_config
    from .identity.domain.clock import SystemClock
    from .identity.services.keyring import rotate_keys
    from .identity.storage.engine import create_engine_for
    from .identity.storage.sql_store import SqlIdentityStore

    settings = load_settings()

    async def rotate() -> list[str]:
        store = SqlIdentityStore(create_engine_for(settings.resolved_database_url))
        kinds = ["sig", "enc"] if uses == "all" else [uses]
        config = identity_config(settings)
        try:
            return [await rotate_keys(store, config, SystemClock(), k) for k in kinds]
        finally:
            await store.engine.dispose()

    for kid in run_async(rotate):
        click.echo(f"new current key {kid}")


for group in (tenants, accounts, grants, clients, sessions, audit):
    main.add_command(group)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
