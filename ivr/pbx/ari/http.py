"""Keep-alive HTTP/1.1 connections to Asterisk for ARI's REST requests, on asyncio protocols.

Why not aiohttp's client here (it stays for the event WebSocket and recording downloads): a
request through it costs the daemon about 140 us of CPU against about 50 us here
(`bench/ari_http.py`), and at nine requests an answered call that was a fifth of the daemon's
CPU per call (issue 14's profile). The peer is Asterisk's own HTTP server on a link ops
configure, the requests are few and fixed: no redirects, cookies, proxies or compression,
and answers carry a Content-Length, are chunked, or end with the connection.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from typing import cast

# Connections open at once; more requests than this wait for one to come free.
CONNECTIONS = 16
# The most of an answer's head or body read into memory (ARI's answers are small).
MAX_ANSWER = 16 * 1024 * 1024
# A connection idle this long is closed, not reused: Asterisk closes its own after
# `session_keep_alive` (15 s by default, http.conf), and a request sent as it does would be
# lost with no way to know whether Asterisk had read it (requests are not sent twice).
KEEP_IDLE = 10.0


@dataclass(frozen=True, slots=True)
class Answer:
    """An HTTP answer: status, media type (without parameters) and body."""

    status: int
    content_type: str
    body: bytes


class HttpError(ConnectionError):
    """The connection failed or Asterisk's answer could not be read."""


class _Connection(asyncio.Protocol):
    """One connection; one request at a time on it (no pipelining)."""

    def __init__(self) -> None:
        self.transport: asyncio.WriteTransport | None = None
        self.closed = False
        self.idle_since = 0.0  # loop time when its last answer came
        self._buffer = bytearray()
        self._waiter: asyncio.Future[Answer] | None = None
        self._head: tuple[int, str, int | None, bool, bool] | None = None
        self._chunks = bytearray()
        self.keep = True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Duck-typed, not isinstance(): uvloop's transports are not asyncio's classes.
        self.transport = cast(asyncio.WriteTransport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter, self._waiter = self._waiter, None
        if waiter is None or waiter.done():
            return
        if self._head is not None and self._head[2] is None and not self._head[3]:
            # An answer without length or chunks ends with the connection.
            waiter.set_result(Answer(self._head[0], self._head[1], bytes(self._buffer)))
            return
        waiter.set_exception(
            HttpError("Asterisk closed the connection" + (f": {exc}" if exc else ""))
        )

    def send(self, request: bytes, waiter: asyncio.Future[Answer]) -> None:
        assert self.transport is not None
        self._buffer.clear()
        self._head = None
        self._chunks.clear()
        self._waiter = waiter
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        if self._waiter is None:
            # Nothing asked: the peer is out of step; this connection is not used again.
            self.keep = False
            return
        self._buffer += data
        try:
            answer = self._parse()
        except HttpError as exc:
            self.keep = False
            waiter, self._waiter = self._waiter, None
            if not waiter.done():
                waiter.set_exception(exc)
            return
        if answer is not None:
            waiter, self._waiter = self._waiter, None
            if not waiter.done():
                waiter.set_result(answer)

    def _parse(self) -> Answer | None:
        buffer = self._buffer
        if self._head is None:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(buffer) > 65536:
                    raise HttpError("the answer's head is too long")
                return None
            self._head = _head(bytes(buffer[:end]))
            del buffer[: end + 4]
        status, content_type, length, chunked, close = self._head
        if close:
            self.keep = False
        if status in (204, 304) or 100 <= status < 200:
            return Answer(status, content_type, b"")
        if chunked:
            return self._chunked(status, content_type)
        if length is None:
            self.keep = False
            if len(buffer) > MAX_ANSWER:
                raise HttpError("the answer is too long")
            return None  # until the connection ends
        if len(buffer) < length:
            return None
        body = bytes(buffer[:length])
        del buffer[:length]
        if buffer:
            self.keep = False  # more than was asked for: out of step
        return Answer(status, content_type, body)

    def _chunked(self, status: int, content_type: str) -> Answer | None:
        buffer = self._buffer
        while True:
            line_end = buffer.find(b"\r\n")
            if line_end < 0:
                return None
            try:
                size = int(bytes(buffer[:line_end]).split(b";", 1)[0], 16)
            except ValueError:
                raise HttpError("a chunk's size is not a number") from None
            if size == 0:
                # The last chunk, then trailer lines (if any) and an empty line.
                rest = buffer[line_end + 2 :]
                if rest.startswith(b"\r\n") or b"\r\n\r\n" in rest:
                    return Answer(status, content_type, bytes(self._chunks))
                return None
            if len(buffer) < line_end + 2 + size + 2:
                return None
            self._chunks += buffer[line_end + 2 : line_end + 2 + size]
            if len(self._chunks) > MAX_ANSWER:
                raise HttpError("the answer is too long")
            del buffer[: line_end + 2 + size + 2]


def _head(raw: bytes) -> tuple[int, str, int | None, bool, bool]:
    """Status, media type, Content-Length, chunked, close: what the answer's head says."""
    lines = raw.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
        raise HttpError("the answer is not HTTP/1.x")
    try:
        status = int(parts[1])
    except ValueError:
        raise HttpError("the answer's status is not a number") from None
    content_type, length, chunked = "", None, False
    close = parts[0] == b"HTTP/1.0"
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        value = value.strip()
        if name == b"content-length":
            try:
                length = int(value)
            except ValueError:
                raise HttpError("the answer's Content-Length is not a number") from None
            if length < 0 or length > MAX_ANSWER:
                raise HttpError("the answer's Content-Length is out of range")
        elif name == b"content-type":
            content_type = value.split(b";", 1)[0].strip().decode("latin-1").lower()
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        elif name == b"connection":
            close = value.lower() == b"close"
    return status, content_type, length, chunked, close


class HttpConnections:
    """Requests to one host over up to CONNECTIONS keep-alive connections."""

    def __init__(self, host: str, port: int, headers: dict[str, str], tls: bool = False) -> None:
        self._host = host
        self._port = port
        self._ssl = ssl.create_default_context() if tls else None
        lines = [f"Host: {host}:{port}", *(f"{name}: {value}" for name, value in headers.items())]
        self._headers = ("\r\n".join(lines) + "\r\n").encode("latin-1")
        self._idle: list[_Connection] = []
        self._all: set[_Connection] = set()
        self._slots = asyncio.Semaphore(CONNECTIONS)

    async def request(
        self, method: str, target: str, body: bytes | None = None, timeout: float = 10.0
    ) -> Answer:
        """Send one request (`target`: the path and query, already quoted); its answer."""
        head = f"{method} {target} HTTP/1.1\r\n".encode("latin-1") + self._headers
        if body is None:
            request = head + b"Content-Length: 0\r\n\r\n"
        else:
            request = (
                head
                + b"Content-Type: application/json\r\nContent-Length: "
                + str(len(body)).encode()
                + b"\r\n\r\n"
                + body
            )
        async with self._slots, asyncio.timeout(timeout):
            return await self._exchange(await self._connection(), request)

    async def _exchange(self, connection: _Connection, request: bytes) -> Answer:
        waiter: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        connection.send(request, waiter)
        try:
            answer = await waiter
        except BaseException:
            self._discard(connection)
            raise
        if connection.keep and not connection.closed:
            connection.idle_since = asyncio.get_running_loop().time()
            self._idle.append(connection)
        else:
            self._discard(connection)
        return answer

    async def _connection(self) -> _Connection:
        """The most recently used idle connection that is still fresh, or a new one."""
        fresh_after = asyncio.get_running_loop().time() - KEEP_IDLE
        while self._idle:
            connection = self._idle.pop()
            if not connection.closed and connection.idle_since >= fresh_after:
                return connection
            self._discard(connection)
        return await self._open()

    async def _open(self) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            _, connection = await loop.create_connection(
                _Connection, self._host, self._port, ssl=self._ssl
            )
        except OSError as exc:
            raise HttpError(f"cannot connect to {self._host}:{self._port}: {exc}") from exc
        self._all.add(connection)
        return connection

    def _discard(self, connection: _Connection) -> None:
        self._all.discard(connection)
        if connection.transport is not None:
            connection.transport.abort()

    def close(self) -> None:
        """Close every connection; requests under way fail."""
        for connection in list(self._all):
            self._discard(connection)
        self._idle.clear()
