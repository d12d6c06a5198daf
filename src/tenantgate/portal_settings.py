"""Settings of one portal backend, from `TENANTGATE_<PORTAL>_*` variables (plus the shared
`TENANTGATE_ISSUER`, `TENANTGATE_DATABASE_URL`, `TENANTGATE_DATA_DIR`, `TENANTGATE_DEMO_MODE`).

    TENANTGATE_ADMIN_PUBLIC_URL      https://admin.bank.example   (this portal's origin)
    TENANTGATE_ADMIN_CLIENT_SECRET   the secret `tenantgate clients create` printed
    TENANTGATE_ADMIN_SESSION_KEY     32 random bytes, base64url: seals tokens at rest
    TENANTGATE_ADMIN_REPORTING_URL   (admin only) the reporting portal's origin
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .bff.config import PortalConfig
from .settings import InsecureSettingsError, decode_kek

PORTALS = {
    "admin": ("admin-portal", "Admin & Operations", "admin-api"),
    "reporting": ("reporting-portal", "Reporting Dashboard", "reporting-api"),
    "customer": ("customer-portal", "Customer Portal", "customer-api"),
}


@dataclass(frozen=True, slots=True)
class PortalDeployment:
    config: PortalConfig
    sessions_url: str
    banking_url: str
    reporting_url: str | None


def load_portal_deployment(name: str, env: dict[str, str] | None = None) -> PortalDeployment:
    values = dict(os.environ if env is None else env)
    prefix = f"TENANTGATE_{name.upper()}_"

    def need(key: str) -> str:
        value = values.get(prefix + key, "")
        if not value:
            raise InsecureSettingsError(f"{prefix}{key} is required")
        return value

    demo = values.get("TENANTGATE_DEMO_MODE", "").lower() in {"1", "true", "yes"}
    client_id, title, audience = PORTALS[name]
    issuer = values.get("TENANTGATE_ISSUER", "http://127.0.0.1:8700").rstrip("/")
    public_url = need("PUBLIC_URL").rstrip("/")
    if not demo and not (issuer.startswith("https://") and public_url.startswith("https://")):
        raise InsecureSettingsError("outside demo mode the issuer and PUBLIC_URL must be https")
    data_dir = Path(values.get("TENANTGATE_DATA_DIR") or ".tenantgate")
    shared_db = values.get("TENANTGATE_DATABASE_URL") or ""
    config = PortalConfig(
        name=name,
        title=title,
        public_url=public_url,
        issuer=issuer,
        client_id=values.get(prefix + "CLIENT_ID") or client_id,
        client_secret=need("CLIENT_SECRET"),
        audience=audience,
        session_key=decode_kek(need("SESSION_KEY")),
        cookie_secure=not demo,
    )
    return PortalDeployment(
        config=config,
        sessions_url=values.get(prefix + "SESSIONS_DATABASE_URL")
        or shared_db
        or f"sqlite+aiosqlite:///{(data_dir / f'{name}-sessions.db').resolve()}",
        banking_url=values.get("TENANTGATE_BANKING_DATABASE_URL")
        or shared_db
        or f"sqlite+aiosqlite:///{(data_dir / 'banking.db').resolve()}",
        reporting_url=(values.get(prefix + "REPORTING_URL") or None) if name == "admin" else None,
    )
