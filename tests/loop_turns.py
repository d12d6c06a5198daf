"""Counting the event loop's turns: a task that ticks whenever it gets one, to show that
some work ran without suspending (no other task got a turn meanwhile)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class Turns:
    def __init__(self) -> None:
        self.count = 0
        self.running = True


@asynccontextmanager
async def other_task_turns() -> AsyncIterator[Turns]:
    """A ticking task, already past its first turn; its count of turns so far."""
    turns = Turns()

    async def ticker() -> None:
        while turns.running:
            turns.count += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    try:
        yield turns
    finally:
        turns.running = False
        await task
