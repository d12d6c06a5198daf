"""The bare-bones baseline: a raw ASGI app (no framework, no ORM) that answers the same
token requests as the identity server with the same cryptography and exactly one
database round trip each — the ceiling the identity server is measured against.

* refresh: client secret (SHA-256, constant-time compare), one conditional UPDATE of the
  refresh token's digest, a new 256-bit token, one ES256 access token;
* SSO mint: ES256 verification of the subject token, one SELECT (the session is live),
  A256GCM encryption of the hand-off claims;
* SSO redeem: A256GCM decryption, one INSERT … ON CONFLICT DO NOTHING (single use),
  one ES256 access token and a new refresh token;
* tenant selection: ES256 verification, one UPDATE (new family token), one ES256 token.

    python -m tenantgate.bench.baseline_app CONFIG.json   (served by uvicorn, like `serve`)
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import secrets
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
SSO_TYPE = "urn:tenantgate:token-type:sso"
ECDSA = ec.ECDSA(hashes.SHA256())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Database:
    """One round trip per call: SQLite through one aiosqlite connection (autocommit) or
    PostgreSQL through a small pool of psycopg connections (autocommit)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._sqlite: Any = None
        self._pool: asyncio.Queue[Any] = asyncio.Queue()

    async def open(self) -> None:
        if self.url.startswith("sqlite"):
            import aiosqlite

            path = self.url.split("///", 1)[1]
            self._sqlite = await aiosqlite.connect(path, isolation_level=None)
            await self._sqlite.execute("PRAGMA journal_mode=WAL")
            await self._sqlite.execute("PRAGMA synchronous=NORMAL")
            await self._sqlite.execute("PRAGMA busy_timeout=30000")
        else:
            import psycopg
            from sqlalchemy.engine import make_url

            dsn = make_url(self.url).set(drivername="postgresql").render_as_string(False)
            for _ in range(10):
                self._pool.put_nowait(await psycopg.AsyncConnection.connect(dsn, autocommit=True))
        for ddl in (
            "CREATE TABLE IF NOT EXISTS bench_baseline_tokens"
            " (digest TEXT PRIMARY KEY, session_id TEXT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS bench_baseline_uses (jti TEXT PRIMARY KEY)",
        ):
            await self.execute(ddl, ())

    async def execute(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        if self._sqlite is not None:
            cursor = await self._sqlite.execute(sql, params)
            rows: list[tuple[Any, ...]] = list(await cursor.fetchall())
            await cursor.close()
            return rows
        conn = await self._pool.get()
        try:
            cursor = await conn.execute(sql.replace("?", "%s"), params)
            return list(await cursor.fetchall()) if cursor.description else []
        finally:
            self._pool.put_nowait(conn)


class Baseline:
    def __init__(self, config: dict[str, Any]) -> None:
        self.db = Database(config["database_url"])
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.public = self.key.public_key()
        self.aead = AESGCM(AESGCM.generate_key(bit_length=256))
        self.clients = {
            c["client_id"]: hashlib.sha256(c["client_secret"].encode()).digest()
            for c in config["clients"].values()
        }
        self.issuer = config.get("issuer", "http://127.0.0.1")

    # -- cryptography ---------------------------------------------------------------------

    def sign(self, session_id: str) -> str:
        now = int(time.time())
        header = _b64(b'{"alg":"ES256","typ":"at+jwt","kid":"k1"}')
        claims = {
            "iss": self.issuer,
            "sub": "u_bench",
            "aud": "admin-api",
            "client_id": "admin-portal",
            "iat": now,
            "exp": now + 1200,
            "jti": secrets.token_urlsafe(16),
            "sid": session_id,
            "tenant": "fi_bench",
            "permissions": ["customers:read", "reporting:view"],
        }
        payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
        signing_input = f"{header}.{payload}".encode()
        r, s = decode_dss_signature(self.key.sign(signing_input, ECDSA))
        return f"{header}.{payload}.{_b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"

    def verify(self, token: str) -> dict[str, Any]:
        header, payload, signature = token.split(".")
        raw = _unb64(signature)
        der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        self.public.verify(der, f"{header}.{payload}".encode(), ECDSA)
        claims: dict[str, Any] = json.loads(_unb64(payload))
        return claims

    # -- requests ------------------------------------------------------------------------

    def client(self, headers: list[tuple[bytes, bytes]]) -> str | None:
        for name, value in headers:
            if name == b"authorization":
                client_id, _, secret = base64.b64decode(value[6:]).decode().partition(":")
                digest = self.clients.get(unquote(client_id))
                presented = hashlib.sha256(unquote(secret).encode()).digest()
                if digest is not None and hmac.compare_digest(digest, presented):
                    return unquote(client_id)
        return None

    async def new_session(self) -> dict[str, Any]:
        refresh, session_id = secrets.token_urlsafe(32), secrets.token_urlsafe(16)
        await self.db.execute(
            "INSERT INTO bench_baseline_tokens (digest, session_id) VALUES (?, ?)",
            (hashlib.sha256(refresh.encode()).hexdigest(), session_id),
        )
        return {"access_token": self.sign(session_id), "refresh_token": refresh, "tenant": "r"}

    async def token(self, client: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        grant = form.get("grant_type")
        if grant == "refresh_token":
            new = secrets.token_urlsafe(32)
            rows = await self.db.execute(
                "UPDATE bench_baseline_tokens SET digest = ? WHERE digest = ? RETURNING session_id",
                (
                    hashlib.sha256(new.encode()).hexdigest(),
                    hashlib.sha256(form["refresh_token"].encode()).hexdigest(),
                ),
            )
            if not rows:
                return 400, {"error": "invalid_grant"}
            return 200, {"access_token": self.sign(rows[0][0]), "refresh_token": new}
        if grant != EXCHANGE:
            return 400, {"error": "unsupported_grant_type"}
        if form.get("subject_token_type") == SSO_TYPE:
            nonce, sealed = form["subject_token"].split(".")
            claims = json.loads(self.aead.decrypt(_unb64(nonce), _unb64(sealed), b"sso"))
            rows = await self.db.execute(
                "INSERT INTO bench_baseline_uses (jti) VALUES (?)"
                " ON CONFLICT DO NOTHING RETURNING jti",
                (claims["jti"],),
            )
            if not rows:
                return 400, {"error": "invalid_grant"}
            return 200, {
                "access_token": self.sign(claims["sid"]),
                "refresh_token": secrets.token_urlsafe(32),
            }
        claims = self.verify(form["subject_token"])
        if form.get("requested_token_type") == SSO_TYPE:
            rows = await self.db.execute(
                "SELECT 1 FROM bench_baseline_tokens WHERE session_id = ? LIMIT 1",
                (claims["sid"],),
            )
            if not rows:
                return 400, {"error": "invalid_grant"}
            iv = os.urandom(12)
            hand_off = {"jti": secrets.token_urlsafe(16), "sid": claims["sid"]}
            box = self.aead.encrypt(iv, json.dumps(hand_off).encode(), b"sso")
            return 200, {"access_token": f"{_b64(iv)}.{_b64(box)}"}
        new = secrets.token_urlsafe(32)
        rows = await self.db.execute(
            "UPDATE bench_baseline_tokens SET digest = ? WHERE session_id = ? RETURNING session_id",
            (hashlib.sha256(new.encode()).hexdigest(), claims["sid"]),
        )
        if not rows:
            return 400, {"error": "invalid_grant"}
        return 200, {"access_token": self.sign(claims["sid"]), "refresh_token": new}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await self.db.open()
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        status, document = 404, {"error": "not_found"}
        try:
            if scope["path"] == "/bench/session":
                status, document = 200, await self.new_session()
            elif scope["path"] == "/token":
                client = self.client(scope["headers"])
                if client is None:
                    status, document = 401, {"error": "invalid_client"}
                else:
                    form = dict(parse_qsl(body.decode(), keep_blank_values=True))
                    status, document = await self.token(client, form)
        except (KeyError, ValueError, InvalidSignature) as exc:
            status, document = 400, {"error": "invalid_request", "detail": repr(exc)}
        payload = json.dumps(document).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                    (b"cache-control", b"no-store"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})


def main() -> int:
    import uvicorn

    config = json.loads(Path(sys.argv[1]).read_text())
    uvicorn.run(
        Baseline(config),
        host="127.0.0.1",
        port=int(config["port"]),
        log_config=None,
        access_log=False,
        server_header=False,
        lifespan="on",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
