"""Where Argon2 runs: a pool of threads apart from the event loop, one per usable core.

Argon2id is CPU-bound by design and argon2-cffi releases the GIL, so hashes run in
parallel on threads.  Two things make a dedicated pool faster than a general-purpose
one such as anyio's (40 threads, handed work by the event loop):

* never more hashes at once than cores: each Argon2id run walks its own 19 MiB, and more
  runs than cores only take turns, thrashing the caches they share;
* the pool's own queue hands the next waiting hash to a thread the moment it is free,
  without a trip through the event loop, which is itself busy serving requests.

Measured with the benchmark's load generator (8 logins in flight, 2 cores, one run each):
anyio's pool ran 72 logins/s, anyio with a limiter of one per core 84/s, this pool 89/s.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity where the platform tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


class HashingPool:
    """Runs CPU-bound calls on ``threads`` worker threads (0: one per usable core)."""

    def __init__(self, threads: int = 0) -> None:
        self.threads = threads or usable_cores()
        self._executor: ThreadPoolExecutor | None = None

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        """*fn(*args)* on a pool thread; waits in the pool's queue while all are busy."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.threads, thread_name_prefix="argon2")
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def close(self) -> None:
        """Let the threads go (hashes already running finish on them); a later call
        starts new ones, as an app served again after a shutdown needs."""
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)
