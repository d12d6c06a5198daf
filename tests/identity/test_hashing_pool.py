"""The pool Argon2 runs on: bounded, off the event loop, wired from settings."""

from __future__ import annotations

import asyncio
import base64
import os
import threading
import time
from pathlib import Path

import pytest

from tenantgate.identity.bootstrap import build_deps
from tenantgate.identity.services.hashing_pool import HashingPool, usable_cores
from tenantgate.settings import Settings

pytestmark = pytest.mark.anyio


async def test_never_more_calls_at_once_than_threads() -> None:
    pool = HashingPool(2)
    lock, running, peak = threading.Lock(), [0], [0]

    def work(n: int) -> int:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        return n * n

    try:
        results = await asyncio.gather(*(pool.run(work, n) for n in range(6)))
    finally:
        pool.close()
    assert results == [n * n for n in range(6)]
    assert peak[0] == 2


async def test_calls_run_off_the_event_loop_thread_and_raise_through() -> None:
    pool = HashingPool(1)
    try:
        assert await pool.run(threading.get_ident) != threading.get_ident()

        def fails() -> None:
            raise ValueError("inside the pool")

        with pytest.raises(ValueError, match="inside the pool"):
            await pool.run(fails)
    finally:
        pool.close()


async def test_closing_lets_the_threads_go_and_a_later_call_starts_again() -> None:
    pool = HashingPool(1)
    first = await pool.run(threading.get_ident)
    pool.close()
    threads = {t.ident for t in threading.enumerate()}
    for _ in range(100):  # the idle worker sees the shutdown and exits
        if first not in threads:
            break
        await asyncio.sleep(0.01)
        threads = {t.ident for t in threading.enumerate()}
    assert first not in threads
    try:
        assert await pool.run(lambda: 6 * 7) == 42
    finally:
        pool.close()


def test_the_setting_sizes_the_pool_and_zero_means_one_per_core(tmp_path: Path) -> None:
    def settings(threads: int) -> Settings:
        return Settings(
            demo_mode=True,
            data_dir=tmp_path,
            key_encryption_key=_kek(),
            password_hashing_threads=threads,
        )

    assert Settings.model_fields["password_hashing_threads"].default == 0
    configured, default = build_deps(settings(3)), build_deps(settings(0))
    try:
        assert configured.hashing.threads == 3
        assert default.hashing.threads == usable_cores() >= 1
    finally:
        configured.hashing.close()
        default.hashing.close()


def _kek() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
