"""Seeding the identity server for the demo: FIs, the three portal clients and the
demo users of CONTRACT §1.  Secrets are generated here, at run time."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from ..identity.domain import totp
from ..identity.domain.accounts import AccountKind
from ..identity.domain.opaque_tokens import digest_opaque_token
from ..identity.domain.passwords import Passwords
from ..identity.domain.permissions import (
    CUSTOMERS_LOCK,
    CUSTOMERS_READ,
    REPORTING_VIEW,
    SESSIONS_MANAGE,
)
from ..identity.services.token_exchange import GRANT_TYPE as TOKEN_EXCHANGE
from ..identity.storage.administration import ClientRegistration, SqlAdministration
from .names import fi_names, slug

ADMIN_GRANT = frozenset({CUSTOMERS_READ, CUSTOMERS_LOCK, REPORTING_VIEW, SESSIONS_MANAGE})
OPS_FIRST_GRANT = frozenset({CUSTOMERS_READ, REPORTING_VIEW})
OPS_SECOND_GRANT = frozenset({CUSTOMERS_READ, CUSTOMERS_LOCK})
EMPLOYEE_PERMISSIONS = [REPORTING_VIEW]
CUSTOMER_PERMISSIONS = ["accounts:read", "transfers:create"]
TOTP_ADMIN = "admin-totp"


@dataclass
class DemoUser:
    username: str
    password: str
    kind: AccountKind
    tenants: list[dict[str, Any]] = field(default_factory=list)
    totp_secret: str | None = None  # base32; only the TOTP demo admin has one

    def as_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "username": self.username,
            "password": self.password,
            "kind": self.kind.value,
            "tenants": self.tenants,
        }
        if self.totp_secret is not None:
            document["totp_secret"] = self.totp_secret
        return document


@dataclass
class DemoIdentity:
    tenants: dict[str, int]
    clients: dict[str, dict[str, str]]
    users: list[DemoUser]
    customer_subjects: dict[int, str] = field(default_factory=dict)  # FI id → demo customer sub


def portal_clients(port_base: int) -> list[tuple[ClientRegistration, str, str]]:
    """(registration, secret, redirect URI) for the three portals."""
    specs = [
        ("admin-portal", "Admin & Operations Portal", 1, AccountKind.ADMIN, "admin-api"),
        ("reporting-portal", "Reporting Dashboard", 2, AccountKind.EMPLOYEE, "reporting-api"),
        ("customer-portal", "Customer Portal", 3, AccountKind.CUSTOMER, "customer-api"),
    ]
    result = []
    for client_id, name, offset, kind, audience in specs:
        secret = secrets.token_urlsafe(32)
        redirect_uri = f"http://127.0.0.1:{port_base + offset}/auth/callback"
        grants = ["authorization_code", "refresh_token"]
        if client_id != "customer-portal":
            grants.append(TOKEN_EXCHANGE)
        registration = ClientRegistration(
            client_id=client_id,
            secret_digest=digest_opaque_token(secret),
            name=name,
            redirect_uris=(redirect_uri,),
            account_kinds=(kind,),
            grant_types=tuple(grants),
            audience=audience,
            sso_audiences=("reporting-portal",) if client_id == "admin-portal" else (),
            redeems_sso=client_id == "reporting-portal",
        )
        result.append((registration, secret, redirect_uri))
    return result


async def seed_identity(
    admin: SqlAdministration,
    passwords: Passwords,
    *,
    banks: int,
    port_base: int,
    demo_password: str | None,
    key_encryption_key: bytes | None = None,
) -> DemoIdentity:
    """With ``key_encryption_key`` the demo also gets ``admin-totp`` (like ``admin``, plus a
    TOTP second factor whose secret is sealed under that KEK)."""
    names = fi_names(banks)
    tenants = await admin.create_tenants(names)
    clients: dict[str, dict[str, str]] = {}
    for registration, secret, redirect_uri in portal_clients(port_base):
        await admin.register_client(registration)
        clients[registration.client_id] = {
            "client_id": registration.client_id,
            "client_secret": secret,
            "redirect_uri": redirect_uri,
        }

    def password() -> str:
        return demo_password or secrets.token_urlsafe(12)

    # Demo employees share one password and customers another, so a 500-bank demo
    # does not spend a minute on Argon2; every real account gets its own hash.
    admin_pw, ops_pw, employee_pw, customer_pw = password(), password(), password(), password()
    hashes = {pw: passwords.hash(pw) for pw in {admin_pw, ops_pw, employee_pw, customer_pw}}
    users = [
        DemoUser("admin", admin_pw, AccountKind.ADMIN),
        DemoUser("ops", ops_pw, AccountKind.ADMIN),
    ]
    rows: list[tuple[str, AccountKind, int | None, str]] = [
        ("admin", AccountKind.ADMIN, None, hashes[admin_pw]),
        ("ops", AccountKind.ADMIN, None, hashes[ops_pw]),
    ]
    for name in names:
        for prefix, kind, pw, permissions in (
            ("emp", AccountKind.EMPLOYEE, employee_pw, EMPLOYEE_PERMISSIONS),
            ("cust", AccountKind.CUSTOMER, customer_pw, CUSTOMER_PERMISSIONS),
        ):
            username = f"{prefix}-{slug(name)}"
            rows.append((username, kind, tenants[name], hashes[pw]))
            users.append(DemoUser(username, pw, kind, [{"name": name, "permissions": permissions}]))
    totp_admin: DemoUser | None = None
    if key_encryption_key is not None:
        totp_pw = password()
        hashes.setdefault(totp_pw, passwords.hash(totp_pw))
        totp_admin = DemoUser(TOTP_ADMIN, totp_pw, AccountKind.ADMIN)
        rows.append((TOTP_ADMIN, AccountKind.ADMIN, None, hashes[totp_pw]))
    ids = await admin.create_accounts(rows)

    grants = [(ids["admin"], tenants[name], ADMIN_GRANT) for name in names]
    if totp_admin is not None and key_encryption_key is not None:
        grants += [(ids[TOTP_ADMIN], tenants[name], ADMIN_GRANT) for name in names]
        totp_admin.tenants = [{"name": n, "permissions": sorted(ADMIN_GRANT)} for n in names]
        subject = (await admin.subjects([TOTP_ADMIN]))[TOTP_ADMIN]
        enrolment = totp.enrol(TOTP_ADMIN, subject, key_encryption_key)
        await admin.set_totp(TOTP_ADMIN, enrolment.sealed)
        totp_admin.totp_secret = enrolment.secret
        users.append(totp_admin)  # last: the runner's summary shows the first users
    ops_tenants = names[:2] if len(names) >= 2 else names
    ops_grants = [OPS_FIRST_GRANT, OPS_SECOND_GRANT]
    grants += [(ids["ops"], tenants[n], g) for n, g in zip(ops_tenants, ops_grants, strict=False)]
    await admin.grant_many(grants)
    users[0].tenants = [{"name": n, "permissions": sorted(ADMIN_GRANT)} for n in names]
    users[1].tenants = [
        {"name": n, "permissions": sorted(g)} for n, g in zip(ops_tenants, ops_grants, strict=False)
    ]
    customers = {f"cust-{slug(name)}": tenants[name] for name in names}
    subjects = await admin.subjects(list(customers))
    by_tenant = {customers[username]: subject for username, subject in subjects.items()}
    return DemoIdentity(tenants, clients, users, by_tenant)
