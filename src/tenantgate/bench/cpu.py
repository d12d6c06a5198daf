"""CPU accounting from /proc (no psutil): cores used by a process, by this process and by
the whole machine over a measured interval, and the load average."""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its reaped children (fields 14–17 of stat)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = text.rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / _TICK


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def machine_busy_seconds() -> float:
    """CPU seconds spent by anything on the machine (all cores), excluding idle and iowait."""
    try:
        first = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return 0.0
    values = [int(v) for v in first[:8]]
    return (sum(values) - values[3] - values[4]) / _TICK


def load_average() -> float:
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except OSError:
        return float("nan")


@dataclass(slots=True)
class CpuWindow:
    """Cores used over one measured interval by the server(s), the load generator and the
    machine as a whole (the rest is everything else: the database, other users)."""

    server_pids: tuple[int, ...]
    started: float = 0.0
    server0: float = 0.0
    own0: float = 0.0
    machine0: float = 0.0

    def start(self) -> None:
        self.started = time.perf_counter()
        self.server0 = sum(process_cpu_seconds(p) for p in self.server_pids)
        self.own0 = own_cpu_seconds()
        self.machine0 = machine_busy_seconds()

    def stop(self) -> dict[str, float]:
        wall = time.perf_counter() - self.started
        server = sum(process_cpu_seconds(p) for p in self.server_pids) - self.server0
        own = own_cpu_seconds() - self.own0
        machine = machine_busy_seconds() - self.machine0
        return {
            "server_cores": server / wall,
            "loadgen_cores": own / wall,
            "machine_busy_cores": machine / wall,
            "other_cores": max(0.0, (machine - server - own) / wall),
            "load_average_1m": load_average(),
        }
