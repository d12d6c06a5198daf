"""Profile the identity server under the benchmark's load: `make profile` (py-spy).

    python -m tenantgate.bench.profile [SCENARIO] [SECONDS]

Starts `tenantgate serve identity` on a freshly seeded database exactly as `make bench`
does (SQLite, or PostgreSQL when ``TENANTGATE_DATABASE_URL`` is set), drives SCENARIO
(``refresh``, ``sso``, ``select`` or ``login``; default ``refresh``) at 50 connections, and
samples the server process with py-spy once the load generator's untimed preparation is
over.  Writes ``bench/profile-SCENARIO.txt``: collapsed stacks, one line per stack and its
sample count (for grep and diff; flame-graph tools and speedscope read the format), then
prints the functions with the largest inclusive share.  One sampler only: each sampler
briefly stops the process it reads, so two would skew what they measure.

Worker-thread entries such as ``Condition.wait`` are idle threads, not work."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from .identity_bench import _plan, _seed
from .servers import bench_database, run_loadgen, start_identity

SCENARIOS = ("refresh", "sso", "select", "login")
PREPARATION_S = 7.0  # logins and selections of 50 connections before the measured window


def _py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(found).exists():
        raise SystemExit("py-spy is not installed: `make install` brings it")
    return found


def _record(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes]:
    command = [_py_spy(), "record", "-p", str(pid), "-o", str(out), "-f", "raw"]
    command += ["-r", "250", "-d", str(int(seconds))]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # noqa: S603


# Frames every stack of the server starts with: the process and thread entry points.
_ENTRY_FRAMES = frozenset(
    {
        "<module>", "_run_module_as_main", "_run_code", "Command.__call__", "Command.main",
        "Command.invoke", "Group.invoke", "Context.invoke", "serve_identity", "run",
        "Runner.run", "Thread._bootstrap", "Thread._bootstrap_inner", "Thread.run",
    }
)  # fmt: skip


def summarize(collapsed: Path, top: int = 40) -> list[tuple[float, str]]:
    """(inclusive share in %, function) from py-spy's collapsed stacks, largest first,
    without the entry frames every stack shares."""
    total = 0
    inclusive: Counter[str] = Counter()
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        samples = int(count)
        total += samples
        # A function counts once per stack, however deep it recurses.
        for frame in {frame.split(" (")[0] for frame in stack.split(";")} - _ENTRY_FRAMES:
            inclusive[frame] += samples
    if total == 0:
        return []
    return [(100.0 * n / total, name) for name, n in inclusive.most_common(top)]


def main(argv: list[str]) -> int:
    scenario = argv[0] if argv else "refresh"
    if scenario not in SCENARIOS:
        raise SystemExit(f"scenario must be one of {', '.join(SCENARIOS)}")
    seconds = float(argv[1]) if len(argv) > 1 else 10.0
    out_dir = Path("bench")
    out_dir.mkdir(exist_ok=True)
    collapsed = out_dir / f"profile-{scenario}.txt"
    with bench_database(os.environ.get("TENANTGATE_DATABASE_URL") or None) as (_, url, scratch):
        world = asyncio.run(_seed(url))
        server = start_identity(url, secrets.token_bytes(32), scratch)
        try:
            plan = _plan(server, world, [scenario], "identity")
            plan["duration"] = seconds + 4
            recorders: list[subprocess.Popen[bytes]] = []

            def start_recording() -> None:
                time.sleep(PREPARATION_S)
                recorders.append(_record(server.pid, seconds, collapsed))

            starter = threading.Thread(target=start_recording)
            starter.start()
            result = run_loadgen(plan, scratch)[scenario][0]
            starter.join()
            for recorder in recorders:
                _, stderr = recorder.communicate(timeout=seconds + 30)
                if recorder.returncode != 0:
                    raise SystemExit(f"py-spy failed: {stderr.decode(errors='replace')[-2000:]}")
        finally:
            server.stop()
    print(f"{scenario}: {result['rate']:.0f}/s, server {result['server_cores']:.2f} cores")
    for share, name in summarize(collapsed):
        print(f"{share:6.1f}%  {name}")
    print(f"\ncollapsed stacks: {collapsed}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
