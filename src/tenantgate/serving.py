"""Running several ASGI apps in one process (the demo) or one app alone (`serve`)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Coroutine, Generator
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.types import ASGIApp


class _QuietServer(uvicorn.Server):
    """Signals are handled once for all servers by `serve_all`, not by each."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def run(main: Coroutine[Any, Any, None]) -> None:
    """``asyncio.run`` on uvloop when it is installed (it ships with uvicorn[standard]):
    ``serve_all`` drives uvicorn's servers itself, so uvicorn's own loop setup never runs."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvicorn[standard] brings it
        asyncio.run(main)
        return
    uvloop.run(main)


@dataclass(frozen=True, slots=True)
class Served:
    name: str
    app: ASGIApp
    host: str
    port: int


def _server(served: Served) -> _QuietServer:
    config = uvicorn.Config(
        served.app,
        host=served.host,
        port=served.port,
        log_config=None,
        access_log=False,  # our own logs never carry query strings (codes, tokens)
        server_header=False,
        lifespan="on",
        limit_concurrency=2000,
        h11_max_incomplete_event_size=16 * 1024,
    )
    return _QuietServer(config)


async def serve_all(apps: list[Served], started: asyncio.Event | None = None) -> None:
    servers = [_server(s) for s in apps]
    loop = asyncio.get_running_loop()

    def stop() -> None:
        for server in servers:
            server.should_exit = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop)
    tasks = [asyncio.create_task(server.serve()) for server in servers]
    try:
        while not all(server.started for server in servers):
            if any(task.done() for task in tasks):
                stop()
                break
            await asyncio.sleep(0.05)
        else:
            if started is not None:
                started.set()
        await asyncio.gather(*tasks)
    finally:
        stop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
