"""A portal backend's configuration, as plain values (the composition root fills it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PortalConfig:
    name: str  # "admin", "reporting", "customer"
    title: str  # shown in the page header
    public_url: str  # this portal's origin, e.g. http://127.0.0.1:8701
    issuer: str  # the identity server
    client_id: str
    client_secret: str
    audience: str  # the API its access tokens are for (admin-api, ...)
    session_key: bytes  # 32 bytes: seals tokens at rest in the session store
    cookie_secure: bool = True
    session_idle_ttl: int = 1800
    session_absolute_ttl: int = 28800
    refresh_margin: int = 60  # refresh when the access token has less left than this

    @property
    def redirect_uri(self) -> str:
        return f"{self.public_url}/auth/callback"

    @property
    def session_cookie(self) -> str:
        # RFC 6265bis: `__Host-` pins the cookie to this origin (Secure, Path=/, no Domain).
        return f"__Host-tg_{self.name}" if self.cookie_secure else f"tg_{self.name}"

    @property
    def login_cookie(self) -> str:
        return f"__Host-tg_{self.name}_login" if self.cookie_secure else f"tg_{self.name}_login"
