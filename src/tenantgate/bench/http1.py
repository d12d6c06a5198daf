"""A minimal HTTP/1.1 keep-alive client on a raw asyncio Protocol: the load generator's
transport.  It does the least work a client can do per request (one write, one header
scan, Content-Length framing), so the generator takes little CPU from the server.

Only what the benchmarked servers send is understood: Content-Length bodies, no chunked
transfer encoding (uvicorn frames every non-streaming response with Content-Length)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import cast


class ProtocolError(RuntimeError):
    pass


@dataclass(slots=True)
class Answer:
    status: int
    headers: dict[bytes, bytes]
    cookies: list[bytes] = field(default_factory=list)
    body: bytes = b""


class _Conn(asyncio.Protocol):
    def __init__(self) -> None:
        self.buffer = bytearray()
        self.waiter: asyncio.Future[Answer] | None = None
        self.transport: asyncio.WriteTransport | None = None
        self.lost: BaseException | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.WriteTransport, transport)  # a stream socket

    def connection_lost(self, exc: BaseException | None) -> None:
        self.lost = exc or ProtocolError("connection closed by the server")
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(self.lost)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0 or self.waiter is None:
            return
        head = bytes(self.buffer[:end]).split(b"\r\n")
        headers: dict[bytes, bytes] = {}
        cookies: list[bytes] = []
        for line in head[1:]:
            name, _, value = line.partition(b":")
            key = name.strip().lower()
            if key == b"set-cookie":
                cookies.append(value.strip())
            headers[key] = value.strip()
        if b"transfer-encoding" in headers:
            self.waiter.set_exception(ProtocolError("chunked responses are not supported"))
            return
        length = int(headers.get(b"content-length", b"0"))
        if len(self.buffer) < end + 4 + length:
            return
        body = bytes(self.buffer[end + 4 : end + 4 + length])
        del self.buffer[: end + 4 + length]
        waiter, self.waiter = self.waiter, None
        waiter.set_result(Answer(int(head[0].split(b" ", 2)[1]), headers, cookies, body))


class Connection:
    """One keep-alive connection; one request at a time (no pipelining)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._conn: _Conn | None = None
        self._host_header = f"{host}:{port}".encode()

    async def _open(self) -> _Conn:
        loop = asyncio.get_running_loop()
        _, protocol = await loop.create_connection(_Conn, self.host, self.port)
        return protocol

    async def request(
        self,
        method: bytes,
        target: bytes,
        *,
        headers: Sequence[tuple[bytes, bytes]] = (),
        body: bytes = b"",
    ) -> Answer:
        if self._conn is None or self._conn.lost is not None:
            self._conn = await self._open()
        conn = self._conn
        lines = [method + b" " + target + b" HTTP/1.1", b"Host: " + self._host_header]
        lines += [name + b": " + value for name, value in headers]
        if body or method == b"POST":
            lines.append(b"Content-Length: " + str(len(body)).encode())
        waiter: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        conn.waiter = waiter
        if conn.transport is None:
            raise ProtocolError("not connected")
        conn.transport.write(b"\r\n".join(lines) + b"\r\n\r\n" + body)
        return await waiter

    def close(self) -> None:
        if self._conn is not None and self._conn.transport is not None:
            self._conn.transport.close()
