"""Operator commands: FIs, accounts, grants and clients."""

from __future__ import annotations

import secrets
import sys
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click

from .cli_support import load_settings, run_async
from .identity.domain.accounts import AccountKind
from .identity.domain.opaque_tokens import digest_opaque_token
from .identity.domain.passwords import Passwords, PasswordTooWeak, check_password_policy
from .identity.domain.permissions import UnknownPermission, validate_admin_permissions
from .identity.storage.administration import (
    AdministrationError,
    ClientRegistration,
    SqlAdministration,
)
from .identity.storage.engine import create_engine_for

T = TypeVar("T")


def _with_admin(action: Callable[[SqlAdministration], Awaitable[T]]) -> T:
    settings = load_settings()

    async def run() -> T:
        engine = create_engine_for(settings.resolved_database_url)
        try:
            return await action(SqlAdministration(engine, time.time()))
        except AdministrationError as exc:
            raise click.ClickException(str(exc)) from exc
        finally:
            await engine.dispose()

    return run_async(run)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        check_password_policy(password)
    except PasswordTooWeak as exc:
        raise click.ClickException(str(exc)) from exc
    return password


@click.group()
def tenants() -> None:
    """Financial institutions (tenants)."""


@tenants.command("create")
@click.argument("names", nargs=-1, required=True)
def tenants_create(names: tuple[str, ...]) -> None:
    """Create FIs by name."""
    created = _with_admin(lambda admin: admin.create_tenants(names))
    for name in names:
        click.echo(f"{created[name]}\t{name}")


@click.group()
def accounts() -> None:
    """Admin, employee and customer accounts."""


@accounts.command("create")
@click.argument("username")
@click.option("--kind", type=click.Choice([k.value for k in AccountKind]), required=True)
@click.option("--tenant", "tenant_name", help="The FI of an employee or customer.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def accounts_create(
    username: str, kind: str, tenant_name: str | None, password_stdin: bool
) -> None:
    """Create an account."""
    password_hash = Passwords().hash(_read_password(password_stdin))
    account_kind = AccountKind(kind)

    async def create(admin: SqlAdministration) -> dict[str, int]:
        tenant_id = await admin.tenant_id(tenant_name) if tenant_name else None
        return await admin.create_accounts([(username, account_kind, tenant_id, password_hash)])

    _with_admin(create)
    click.echo(f"created {kind} {username}")


@accounts.command("set-password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True)
def accounts_set_password(username: str, password_stdin: bool) -> None:
    """Replace an account's password."""
    password_hash = Passwords().hash(_read_password(password_stdin))
    _with_admin(lambda admin: admin.set_password_hash(username, password_hash))
    click.echo(f"password of {username} replaced")


@accounts.command("disable")
@click.argument("username")
def accounts_disable(username: str) -> None:
    """Disable an account: its refresh and SSO stop at once."""
    _with_admin(lambda admin: admin.set_account_active(username, False))
    click.echo(f"{username} disabled")


@accounts.command("enable")
@click.argument("username")
def accounts_enable(username: str) -> None:
    """Enable a disabled account."""
    _with_admin(lambda admin: admin.set_account_active(username, True))
    click.echo(f"{username} enabled")


@click.group()
def grants() -> None:
    """An admin's per-FI permissions."""


@grants.command("set")
@click.argument("username")
@click.option("--tenant", "tenant_name", required=True)
@click.option("--permission", "permissions", multiple=True, required=True)
def grants_set(username: str, tenant_name: str, permissions: tuple[str, ...]) -> None:
    """Give an admin exactly these permissions on an FI."""
    try:
        granted = validate_admin_permissions(set(permissions))
    except UnknownPermission as exc:
        raise click.ClickException(f"unknown permission: {exc}") from exc

    async def grant(admin: SqlAdministration) -> None:
        account_id, kind = await admin.account_id(username)
        if kind is not AccountKind.ADMIN:
            raise AdministrationError("only admins hold per-FI grants")
        await admin.grant(account_id, await admin.tenant_id(tenant_name), granted)

    _with_admin(grant)
    click.echo(f"{username} on {tenant_name}: {' '.join(sorted(granted))}")


@grants.command("remove")
@click.argument("username")
@click.option("--tenant", "tenant_name", required=True)
def grants_remove(username: str, tenant_name: str) -> None:
    """Remove an admin's grant on an FI: refresh and SSO for it stop at once."""

    async def remove(admin: SqlAdministration) -> None:
        account_id, _ = await admin.account_id(username)
        await admin.revoke_grant(account_id, await admin.tenant_id(tenant_name))

    _with_admin(remove)
    click.echo(f"grant of {username} on {tenant_name} removed")


@click.group()
def clients() -> None:
    """OAuth clients (the portal backends)."""


@clients.command("create")
@click.argument("client_id")
@click.option("--name", required=True)
@click.option("--redirect-uri", "redirect_uris", multiple=True, required=True)
@click.option(
    "--account-kind",
    "kinds",
    multiple=True,
    required=True,
    type=click.Choice([k.value for k in AccountKind]),
)
@click.option("--audience", required=True, help="The API its access tokens are for.")
@click.option(
    "--grant-type", "grant_types", multiple=True, default=("authorization_code", "refresh_token")
)
@click.option("--sso-audience", "sso_audiences", multiple=True, help="May mint SSO tokens for.")
@click.option("--redeems-sso", is_flag=True)
def clients_create(
    client_id: str,
    name: str,
    redirect_uris: tuple[str, ...],
    kinds: tuple[str, ...],
    audience: str,
    grant_types: tuple[str, ...],
    sso_audiences: tuple[str, ...],
    redeems_sso: bool,
) -> None:
    """Register a confidential client; its secret is printed once."""
    secret = secrets.token_urlsafe(32)
    registration = ClientRegistration(
        client_id=client_id,
        secret_digest=digest_opaque_token(secret),
        name=name,
        redirect_uris=redirect_uris,
        account_kinds=tuple(AccountKind(k) for k in kinds),
        grant_types=grant_types,
        audience=audience,
        sso_audiences=sso_audiences,
        redeems_sso=redeems_sso,
    )
    _with_admin(lambda admin: admin.register_client(registration))
    click.echo(f"client_id={client_id}\nclient_secret={secret}")
