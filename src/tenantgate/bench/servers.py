"""Real server processes for the benchmarks, and the load generator as a process of its own."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy.engine import make_url


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited ({process.returncode}):\n{log.read_text()[-3000:]}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.1)
    raise RuntimeError(f"server did not listen on {port} within {timeout}s")


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(
    name: str, args: list[str], env: dict[str, str], port: int, directory: Path
) -> Server:
    log = directory / f"{name}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, *args],
            env={**os.environ, **env},
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    server = Server(name, port, process, log)
    try:
        wait_for_port(port, process, log, 60)
    except BaseException:
        server.stop()
        raise
    return server


def identity_env(database_url: str, kek: bytes, port: int) -> dict[str, str]:
    return {
        "TENANTGATE_DATABASE_URL": database_url,
        "TENANTGATE_KEY_ENCRYPTION_KEY": base64.urlsafe_b64encode(kek).decode().rstrip("="),
        "TENANTGATE_DEMO_MODE": "true",  # plain-HTTP issuer on loopback
        "TENANTGATE_ISSUER": f"http://127.0.0.1:{port}",
    }


def start_identity(database_url: str, kek: bytes, directory: Path, tag: str = "") -> Server:
    port = free_port()
    args = ["-m", "tenantgate.cli", "--log-level", "WARNING", "serve", "identity"]
    args += ["--port", str(port)]
    return start_server(
        f"identity{tag}", args, identity_env(database_url, kek, port), port, directory
    )


def start_baseline(database_url: str, clients: dict[str, Any], directory: Path) -> Server:
    port = free_port()
    config = directory / "baseline.json"
    config.write_text(json.dumps({"database_url": database_url, "clients": clients, "port": port}))
    return start_server(
        "baseline", ["-m", "tenantgate.bench.baseline_app", str(config)], {}, port, directory
    )


def run_loadgen(plan: dict[str, Any], directory: Path) -> dict[str, Any]:
    path = directory / f"plan-{secrets.token_hex(4)}.json"
    path.write_text(json.dumps(plan))
    done = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "tenantgate.bench.loadgen", str(path)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed:\n{done.stderr.decode()[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextlib.contextmanager
def bench_database(postgres_url: str | None) -> Iterator[tuple[str, str, Path]]:
    """(kind, SQLAlchemy URL, scratch directory): a fresh SQLite file, or a private schema
    on PostgreSQL that is dropped afterwards."""
    with tempfile.TemporaryDirectory(prefix="tg-bench-") as scratch:
        directory = Path(scratch)
        if postgres_url is None:
            yield "sqlite", f"sqlite+aiosqlite:///{directory / 'identity.db'}", directory
            return
        import psycopg

        schema = f"tg_bench_{secrets.token_hex(5)}"
        with psycopg.connect(_libpq(postgres_url), autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        separator = "&" if "?" in postgres_url else "?"
        url = f"{postgres_url}{separator}options={quote(f'-csearch_path={schema}')}"
        try:
            yield "postgresql", url, directory
        finally:
            with psycopg.connect(_libpq(postgres_url), autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
