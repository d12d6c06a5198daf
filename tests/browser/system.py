"""The whole demo system in a subprocess, for browser tests: the four apps on a free
port base, seeded small, with a known demo password."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEMO_PASSWORD = "browser-tests-demo-password"


def free_port_base(count: int = 4) -> int:
    for base in range(20000 + os.getpid() % 2000 * 10, 60000, 10):
        sockets = []
        try:
            for offset in range(count):
                s = socket.socket()
                sockets.append(s)  # closed below whether or not the bind succeeds
                s.bind(("127.0.0.1", base + offset))
            return base
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise RuntimeError("no free port range")


@dataclass
class DemoSystem:
    process: subprocess.Popen[bytes]
    data_dir: Path
    document: dict[str, Any]
    log_path: Path

    @property
    def urls(self) -> dict[str, str]:
        urls: dict[str, str] = self.document["urls"]
        return urls

    def user(self, username: str) -> dict[str, Any]:
        found: dict[str, Any] = next(u for u in self.document["users"] if u["username"] == username)
        return found

    def first_of_kind(self, kind: str, index: int = 0) -> dict[str, Any]:
        found: dict[str, Any] = [u for u in self.document["users"] if u["kind"] == kind][index]
        return found

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def start_demo(data_dir: Path, *, banks: int = 3, customers: int = 40, **env: str) -> DemoSystem:
    port_base = free_port_base()
    log_path = data_dir / "demo.log"
    data_dir.mkdir(parents=True, exist_ok=True)
    environment = {
        **os.environ,
        "TENANTGATE_DEMO_PASSWORD": DEMO_PASSWORD,
        "TENANTGATE_DATABASE_URL": "",
        **env,
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tenantgate.cli",
                "--log-level",
                "DEBUG",
                "demo",
                "--banks",
                str(banks),
                "--customers-per-bank",
                str(customers),
                "--port-base",
                str(port_base),
                "--data-dir",
                str(data_dir),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=environment,
        )
    document_path = data_dir / "demo.json"
    deadline = time.monotonic() + 120
    while not document_path.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"demo did not start:\n{log_path.read_text(errors='replace')}")
        time.sleep(0.2)
    time.sleep(0.2)
    document = json.loads(document_path.read_text())
    return DemoSystem(process, data_dir, document, log_path)
