"""Operator commands: FIs, accounts, grants and clients."""

from __future__ import annotations

import getpass
import json
import secrets
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import click

from .cli_support import load_settings, run_async
from .identity.domain import totp
from .identity.domain.accounts import AccountKind
from .identity.domain.opaque_tokens import digest_opaque_token
from .identity.domain.passwords import (
    RECOMMENDED_ADMIN_PASSWORD_LENGTH,
    Passwords,
    PasswordTooWeak,
    check_password_policy,
    is_short_for_an_admin,
)
from .identity.domain.permissions import UnknownPermission, validate_admin_permissions
from .identity.services import audit_events
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


def _operator() -> str:
    """Who ran the command, for the audit trail (the OS user; best effort)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _when(epoch: float | None) -> str:
    if epoch is None:
        return "-"
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


def _warn_if_short_for_admin(password: str, kind: AccountKind) -> None:
    if kind is AccountKind.ADMIN and is_short_for_an_admin(password):
        click.echo(
            f"warning: admins should use at least {RECOMMENDED_ADMIN_PASSWORD_LENGTH} "
            "characters (a passphrase of several words is easy to remember)",
            err=True,
        )


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
    account_kind = AccountKind(kind)
    password = _read_password(password_stdin)
    _warn_if_short_for_admin(password, account_kind)
    password_hash = Passwords().hash(password)

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
    password = _read_password(password_stdin)
    _, kind = _with_admin(lambda admin: admin.account_id(username))
    _warn_if_short_for_admin(password, kind)
    password_hash = Passwords().hash(password)
    _with_admin(lambda admin: admin.set_password_hash(username, password_hash))
    click.echo(f"password of {username} replaced")


@accounts.command("totp-enroll")
@click.argument("username")
def accounts_totp_enroll(username: str) -> None:
    """Give an admin a (new) TOTP secret; printed once, stored sealed under the KEK.

    From the next login on, the hosted login asks for a code after the password.  A second
    enrolment replaces the secret (the old authenticator entry stops working)."""
    kek = load_settings().key_encryption_key_bytes()

    async def enroll(admin: SqlAdministration) -> totp.TotpEnrolment:
        account_id, kind, subject = await admin.account_subject(username)
        if kind is not AccountKind.ADMIN:
            raise AdministrationError("TOTP is for admin accounts")
        enrolment = totp.enrol(username, subject, kek)
        await admin.set_totp(username, enrolment.sealed)
        await admin.audit(audit_events.TOTP_ENROLLED, account_id=account_id, by=_operator())
        return enrolment

    enrolment = _with_admin(enroll)
    click.echo(f"secret={enrolment.secret}\nuri={enrolment.uri}")


@accounts.command("totp-remove")
@click.argument("username")
def accounts_totp_remove(username: str) -> None:
    """Remove an account's TOTP second factor (password only again)."""

    async def remove(admin: SqlAdministration) -> None:
        account_id, _ = await admin.account_id(username)
        await admin.set_totp(username, None)
        await admin.audit(audit_events.TOTP_REMOVED, account_id=account_id, by=_operator())

    _with_admin(remove)
    click.echo(f"TOTP of {username} removed")


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


@click.group()
def sessions() -> None:
    """Live login sessions (each holds refresh tokens; access tokens die with it)."""


@sessions.command("list")
@click.argument("username")
def sessions_list(username: str) -> None:
    """An account's live sessions: sid, client, FI, started, last refresh (UTC)."""

    async def listing(admin: SqlAdministration) -> list[Any]:
        account_id, _ = await admin.account_id(username)
        return list(await admin.live_sessions(account_id))

    found = _with_admin(listing)
    click.echo("sid\tclient\tfi\tstarted\tlast_refresh")
    for live in found:
        fi = live.tenant_name or "-"
        started, last = _when(live.started_at), _when(live.last_refresh_at)
        click.echo(f"{live.sid}\t{live.client_id}\t{fi}\t{started}\t{last}")


@sessions.command("revoke")
@click.argument("username")
@click.option("--sid", help="The one session to end (see `sessions list`).")
@click.option("--all", "every", is_flag=True, help="End every live session of the account.")
def sessions_revoke(username: str, sid: str | None, every: bool) -> None:
    """End sessions: their refresh tokens stop at once, their access tokens with them."""
    if (sid is None) == (not every):
        raise click.UsageError("give exactly one of --sid SID or --all")
    ended = _with_admin(
        lambda admin: admin.revoke_sessions(username, sid=sid, operator=_operator())
    )
    for one in ended:
        click.echo(f"revoked {one}")
    click.echo(f"{len(ended)} session(s) of {username} revoked")


@click.group()
def audit() -> None:
    """The hash-chained audit trail."""


@audit.command("verify")
def audit_verify() -> None:
    """Walk the whole chain; exit 1 at the first broken link."""
    report = _with_admin(lambda admin: admin.verify_audit_chain())
    if report.broken is not None:
        where = f"record {report.broken.seq}" if report.broken.seq is not None else "chain head"
        click.echo(
            f"BROKEN at {where}: {report.broken.reason} ({report.checked} records intact before)",
            err=True,
        )
        sys.exit(1)
    click.echo(f"intact: {report.checked} records, head {report.head_hash}")


@audit.command("tail")
@click.option("--tenant", "tenant_name", help="Only events of this FI.")
@click.option("--account", "username", help="Only events of this account.")
@click.option("--event", help="Only this event name (e.g. login.failed).")
@click.option("-n", "limit", type=click.IntRange(1, 100_000), default=20, show_default=True)
def audit_tail(
    tenant_name: str | None, username: str | None, event: str | None, limit: int
) -> None:
    """The most recent events as JSON lines, oldest first."""

    async def tail(admin: SqlAdministration) -> list[dict[str, Any]]:
        tenant_id = await admin.tenant_id(tenant_name) if tenant_name else None
        account_id = (await admin.account_id(username))[0] if username else None
        return await admin.recent_audit_events(
            limit=limit, tenant_id=tenant_id, account_id=account_id, event=event
        )

    for row in _with_admin(tail):
        row["time"] = _when(row["at"])
        row["detail"] = json.loads(row["detail"])
        click.echo(json.dumps(row, sort_keys=True, default=str))
