"""nginx in front of the test's processes: the shipped `deploy/nginx/tenantgate.conf`
with this run's ports and private pid/log paths substituted."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
CONFIG = Path(__file__).parents[2] / "deploy" / "nginx" / "tenantgate.conf"
SKIP_REASON = "NGINX NOT INSTALLED — scale-out tests skipped (apt-get install nginx-light)"


def render_config(directory: Path, ports: dict[str, int]) -> Path:
    """The shipped config with each shipped port (``"8700"``, ``"8711"``, …) replaced."""
    text = CONFIG.read_text()
    for old, new in ports.items():
        text, count = re.subn(rf"127\.0\.0\.1:{old}\b", f"127.0.0.1:{new}", text)
        assert count == 1, f"port {old} not found exactly once in {CONFIG}"
    text = text.replace("/run/tenantgate-nginx.pid", str(directory / "nginx.pid"))
    text = text.replace("/var/log/tenantgate-nginx-error.log", str(directory / "error.log"))
    text = text.replace("worker_processes auto;", "worker_processes 1;")
    path = directory / "nginx.conf"
    path.write_text(text)
    return path


def start_nginx(directory: Path, config: Path, log: Path) -> subprocess.Popen[bytes]:
    assert NGINX is not None
    with log.open("wb") as sink:
        return subprocess.Popen(
            [NGINX, "-p", str(directory), "-c", str(config), "-g", "daemon off;"],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )


def stop_nginx(process: subprocess.Popen[bytes] | None) -> None:
    if process is not None and process.poll() is None:
        process.terminate()
        process.wait(timeout=10)
