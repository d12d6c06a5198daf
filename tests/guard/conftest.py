from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import anyio.abc
import pytest

from .support import Env, JwksEndpoint, LocalListener, build_env, eddsa_key, es256_key


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    es, ed = es256_key(), eddsa_key()
    endpoint = JwksEndpoint(keys=[es.public_jwk(), ed.public_jwk()])
    async with endpoint.client() as client:
        yield build_env(client, endpoint, es, ed)


@pytest.fixture
async def local_listener() -> AsyncIterator[LocalListener]:
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    port = listener.extra(anyio.abc.SocketAttribute.local_port)  # noqa: S610 - anyio, not Django
    spy = LocalListener(port)
    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, spy.on_connect)
        yield spy
        tg.cancel_scope.cancel()
