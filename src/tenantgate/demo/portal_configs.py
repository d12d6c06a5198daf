"""The demo's portal configurations: one client, origin and session key per portal."""

from __future__ import annotations

import secrets
from pathlib import Path

from ..bff.config import PortalConfig

HOST = "127.0.0.1"
PORTALS = {
    "admin": ("admin-portal", "Admin & Operations", "admin-api", 1),
    "reporting": ("reporting-portal", "Reporting Dashboard", "reporting-api", 2),
    "customer": ("customer-portal", "Customer Portal", "customer-api", 3),
}


def portal_config(
    name: str, clients: dict[str, dict[str, str]], port_base: int, *, cookie_secure: bool = False
) -> PortalConfig:
    client_id, title, audience, offset = PORTALS[name]
    return PortalConfig(
        name=name,
        title=title,
        public_url=f"http://{HOST}:{port_base + offset}",
        issuer=f"http://{HOST}:{port_base}",
        client_id=client_id,
        client_secret=clients[client_id]["client_secret"],
        audience=audience,
        session_key=secrets.token_bytes(32),
        cookie_secure=cookie_secure,
    )


def sessions_url(database_url: str | None, data_dir: Path, name: str) -> str:
    if database_url:
        return database_url
    return f"sqlite+aiosqlite:///{(data_dir / f'{name}-sessions.db').resolve()}"
