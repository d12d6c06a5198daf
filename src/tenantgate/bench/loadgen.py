"""The load generator: its own process, one thread, uvloop, raw HTTP/1.1 keep-alive
connections (`http1.py`).  It prepares its sessions (untimed), then drives each scenario
for a fixed time per repeat and prints one JSON document: rates, latency percentiles and
the cores used over each measured window by the server, by itself and by the machine.

    python -m tenantgate.bench.loadgen PLAN.json

A *target* is either the real identity server or the bare-bones baseline app
(`baseline_app.py`); both answer the same requests, so one generator drives both.
Every connection owns one session (one refresh family), so nothing it does is reuse."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import secrets
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from .cpu import CpuWindow
from .http1 import Answer, Connection
from .stats import percentile

EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS = "urn:ietf:params:oauth:token-type:access_token"
SSO_TYPE = "urn:tenantgate:token-type:sso"
FORM = (b"Content-Type", b"application/x-www-form-urlencoded")
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def _basic(client: dict[str, str]) -> tuple[bytes, bytes]:
    pair = f"{quote(client['client_id'])}:{quote(client['client_secret'])}".encode()
    return b"Authorization", b"Basic " + base64.b64encode(pair)


def _form(**fields: str) -> bytes:
    return urlencode(fields).encode()


class BenchFailure(RuntimeError):
    pass


def _error_line(body: bytes) -> str:
    found = re.search(rb'role="alert"[^>]*>([^<]*)<', body)
    return found.group(1).decode().strip() if found else repr(body[-300:])


def _json(answer: Answer, what: str) -> dict[str, Any]:
    if answer.status != 200:
        raise BenchFailure(f"{what}: HTTP {answer.status}: {answer.body[:300]!r}")
    document: dict[str, Any] = json.loads(answer.body)
    return document


@dataclass
class Slot:
    """One connection's state: its session's tokens."""

    conn: Connection
    unscoped: str = ""
    scoped: str = ""
    refresh: str = ""
    login_user: str = ""


class Driver:
    def __init__(self, plan: dict[str, Any]) -> None:
        self.plan = plan
        self.host, self.port = plan["host"], int(plan["port"])
        clients = plan["clients"]
        self.admin = clients["admin-portal"]
        self.admin_auth = _basic(self.admin)
        self.reporting = clients["reporting-portal"]
        self.reporting_auth = _basic(self.reporting)
        self.ref = ""
        self.slots: list[Slot] = []

    # -- preparation (untimed) -------------------------------------------------------

    async def login(
        self, conn: Connection, client: dict[str, str], username: str
    ) -> tuple[str, str]:
        """The hosted login page: GET /authorize, POST /authorize; (code, PKCE verifier)."""
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        params = urlencode(
            {
                "response_type": "code",
                "client_id": client["client_id"],
                "redirect_uri": client["redirect_uri"],
                "state": "s",
                "code_challenge": challenge.rstrip(b"=").decode(),
                "code_challenge_method": "S256",
            }
        )
        page = await conn.request(b"GET", b"/authorize?" + params.encode())
        if page.status != 200:
            raise BenchFailure(f"login page: HTTP {page.status}")
        fields = dict(_HIDDEN.findall(page.body.decode()))
        fields.update(username=username, password=self.plan["password"])
        cookie = page.cookies[0].split(b";", 1)[0] if page.cookies else b""
        answer = await conn.request(
            b"POST",
            b"/authorize",
            headers=[FORM, (b"Cookie", cookie)],
            body=urlencode(fields).encode(),
        )
        location = answer.headers.get(b"location", b"").decode()
        if answer.status != 302 or "code=" not in location:
            raise BenchFailure(f"login: HTTP {answer.status}: {_error_line(answer.body)}")
        query = dict(p.split("=", 1) for p in urlsplit(location).query.split("&"))
        return query["code"], verifier

    async def prepare_slot(self, conn: Connection) -> Slot:
        slot = Slot(conn)
        if self.plan["target"] == "baseline":
            tokens = _json(await conn.request(b"POST", b"/bench/session"), "baseline session")
            slot.unscoped = slot.scoped = tokens["access_token"]
            slot.refresh = tokens["refresh_token"]
            self.ref = tokens["tenant"]
            return slot
        code, verifier = await self.login(conn, self.admin, self.plan["username"])
        tokens = _json(
            await conn.request(
                b"POST",
                b"/token",
                headers=[FORM, self.admin_auth],
                body=_form(
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=verifier,
                    redirect_uri=self.admin["redirect_uri"],
                ),
            ),
            "code exchange",
        )
        slot.unscoped = tokens["access_token"]
        if not self.ref:
            listing = _json(
                await conn.request(
                    b"GET",
                    b"/tenants",
                    headers=[(b"Authorization", b"Bearer " + slot.unscoped.encode())],
                ),
                "tenant listing",
            )
            self.ref = listing["tenants"][0]["ref"]
        await self.select(slot)
        return slot

    # -- the measured operations ---------------------------------------------------------

    async def refresh(self, slot: Slot) -> None:
        tokens = _json(
            await slot.conn.request(
                b"POST",
                b"/token",
                headers=[FORM, self.admin_auth],
                body=_form(grant_type="refresh_token", refresh_token=slot.refresh),
            ),
            "refresh",
        )
        slot.refresh, slot.scoped = tokens["refresh_token"], tokens["access_token"]

    async def sso(self, slot: Slot) -> None:
        minted = _json(
            await slot.conn.request(
                b"POST",
                b"/token",
                headers=[FORM, self.admin_auth],
                body=_form(
                    grant_type=EXCHANGE,
                    subject_token=slot.scoped,
                    subject_token_type=ACCESS,
                    requested_token_type=SSO_TYPE,
                    audience="reporting-portal",
                ),
            ),
            "SSO mint",
        )
        _json(
            await slot.conn.request(
                b"POST",
                b"/token",
                headers=[FORM, self.reporting_auth],
                body=_form(
                    grant_type=EXCHANGE,
                    subject_token=minted["access_token"],
                    subject_token_type=SSO_TYPE,
                ),
            ),
            "SSO redeem",
        )

    async def select(self, slot: Slot) -> None:
        tokens = _json(
            await slot.conn.request(
                b"POST",
                b"/token",
                headers=[FORM, self.admin_auth],
                body=_form(
                    grant_type=EXCHANGE,
                    subject_token=slot.unscoped,
                    subject_token_type=ACCESS,
                    tenant=self.ref,
                ),
            ),
            "tenant selection",
        )
        slot.refresh, slot.scoped = tokens["refresh_token"], tokens["access_token"]

    async def login_only(self, slot: Slot) -> None:
        """A login per connection, each with its own account: the throttle counts a
        username's attempts in flight, as it must."""
        await self.login(slot.conn, self.reporting, slot.login_user)


async def _drive(
    slots: list[Slot],
    operation: Callable[[Slot], Awaitable[None]],
    warmup: float,
    duration: float,
    server_pids: tuple[int, ...],
) -> dict[str, Any]:
    latencies: list[float] = []
    window = CpuWindow(server_pids)
    measuring = False
    stop_at = time.perf_counter() + warmup + duration
    errors: list[str] = []

    async def worker(slot: Slot) -> None:
        while True:
            started = time.perf_counter()
            if started >= stop_at:
                return
            try:
                await operation(slot)
            except BenchFailure as exc:
                errors.append(str(exc))
                if len(errors) > 20:
                    raise
                continue
            if measuring:
                latencies.append(time.perf_counter() - started)

    tasks = [asyncio.create_task(worker(s)) for s in slots]
    await asyncio.sleep(warmup)
    measuring = True
    window.start()
    began = time.perf_counter()
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - began
    cpu = window.stop()
    if not latencies:
        raise BenchFailure(f"no operation completed: {errors[:3]}")
    return {
        "rate": len(latencies) / elapsed,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        "operations": len(latencies),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        **cpu,
    }


async def run(plan: dict[str, Any]) -> dict[str, Any]:
    driver = Driver(plan)
    pids = tuple(int(p) for p in plan["server_pids"])
    concurrency = int(plan["concurrency"])
    conns = [Connection(driver.host, driver.port) for _ in range(concurrency)]
    slots: list[Slot] = []
    if set(plan["scenarios"]) == {"login"}:
        slots = [Slot(c) for c in conns]  # logins need no session of their own
    else:
        # Prepare a few at a time: the throttle refuses more than 5 attempts of one username
        # in flight (they are counted before the password is checked).
        for start in range(0, concurrency, 4):
            batch = conns[start : start + 4]
            slots += await asyncio.gather(*(driver.prepare_slot(c) for c in batch))
    users = plan.get("login_users") or [plan["username"]]
    for index, slot in enumerate(slots):
        slot.login_user = users[index % len(users)]
    operations: dict[str, Callable[[Slot], Awaitable[None]]] = {
        "refresh": driver.refresh,
        "sso": driver.sso,
        "select": driver.select,
        "login": driver.login_only,
    }
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in plan["scenarios"]}
    for _ in range(int(plan["repeats"])):
        for name in plan["scenarios"]:
            active = slots[: int(plan.get("login_concurrency", 8))] if name == "login" else slots
            results[name].append(
                await _drive(
                    active,
                    operations[name],
                    float(plan["warmup"]),
                    float(plan["duration"]),
                    pids,
                )
            )
    for conn in conns:
        conn.close()
    return results


def main() -> int:
    plan = json.loads(Path(sys.argv[1]).read_text())
    try:
        import uvloop

        runner: Callable[..., Any] = uvloop.run
    except ImportError:  # pragma: no cover - uvloop ships with uvicorn[standard]
        runner = asyncio.run
    print(json.dumps(runner(run(plan))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
