"""ARI's REST requests over our own keep-alive connections: answers read whole however they
are framed, connections reused unless Asterisk closed them or they sat idle long, a dropped
or silent answer failing the request (never sent twice, never hanging), and ARI's errors."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from pydantic import SecretStr

from ivr.config import AriSettings
from ivr.pbx.ari.client import AriClient, AriError
from ivr.pbx.ari.http import CONNECTIONS, HttpConnections, HttpError

Reply = Callable[[bytes], bytes | None]  # the request's bytes -> the answer's (None: silence)


class Server:
    """A scripted HTTP server: each request gets `reply(request)`; counts its connections."""

    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.connections = 0
        self.requests: list[bytes] = []
        self.writers: list[asyncio.StreamWriter] = []
        self.port = 0

    async def start(self) -> None:
        server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.server = server
        self.port = server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                request = head + await reader.readexactly(length)
                self.requests.append(request)
                answer = self.reply(request)
                if answer is None:
                    continue  # say nothing
                writer.write(answer)
                await writer.drain()
                if b"Connection: close" in answer or answer.endswith(b"<END>"):
                    writer.close()
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def drop_idle(self) -> None:
        """Close every connection, as Asterisk does after its session_keep_alive."""
        for writer in self.writers:
            writer.close()
        self.writers.clear()
        await asyncio.sleep(0.05)  # let the FIN reach the client before the test goes on

    async def close(self) -> None:
        await self.drop_idle()
        self.server.close()


def ok(body: bytes = b'{"id": "x"}', status: str = "200 OK") -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
    return head.encode() + f"Content-Length: {len(body)}\r\n\r\n".encode() + body


Start = Callable[[Reply], Awaitable[Server]]


@pytest.fixture
async def served() -> AsyncIterator[Start]:
    servers: list[Server] = []

    def start(reply: Reply) -> asyncio.Future[Server]:
        server = Server(reply)
        servers.append(server)

        async def started() -> Server:
            await server.start()
            return server

        return asyncio.ensure_future(started())

    yield start
    for server in servers:
        await server.close()


async def test_answers_come_whole_and_one_connection_carries_them_all(served: Start) -> None:
    server = await served(lambda request: ok(b'{"n": %d}' % len(request)))
    http = HttpConnections("127.0.0.1", server.port, {"Authorization": "Basic eA=="})
    answers = [await http.request("POST", f"/ari/channels/c{i}/answer") for i in range(5)]
    assert [a.status for a in answers] == [200] * 5
    assert all(a.content_type == "application/json" for a in answers)
    assert json.loads(answers[0].body)["n"] > 0
    assert server.connections == 1
    assert b"Authorization: Basic eA==" in server.requests[0]
    http.close()


async def test_a_chunked_answer_and_one_ended_by_the_connection_are_read_whole(
    served: Start,
) -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\n[1, 2\r\n4\r\n, 3]\r\n0\r\n\r\n"
    )
    server = await served(lambda request: chunked)
    http = HttpConnections("127.0.0.1", server.port, {})
    assert (await http.request("GET", "/ari/channels")).body == b"[1, 2, 3]"
    assert (await http.request("GET", "/ari/channels")).body == b"[1, 2, 3]"
    assert server.connections == 1
    until_close = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it<END>"
    other = await served(lambda request: until_close)
    http2 = HttpConnections("127.0.0.1", other.port, {})
    answer = await http2.request("GET", "/x")
    assert answer.body == b"all of it<END>"
    await http2.request("GET", "/x")
    assert other.connections == 2  # an answer ended by closing cannot share its connection
    http.close()
    http2.close()


async def test_a_connection_asterisk_closed_while_idle_is_not_used_again(served: Start) -> None:
    server = await served(lambda request: ok())
    http = HttpConnections("127.0.0.1", server.port, {})
    await http.request("POST", "/ari/bridges/b1")
    await server.drop_idle()
    answer = await http.request("POST", "/ari/bridges/b2")
    assert answer.status == 200
    assert server.connections == 2
    assert len(server.requests) == 2
    http.close()


async def test_an_answer_cut_short_fails_the_request_and_is_not_sent_again(served: Start) -> None:
    server = await served(lambda request: b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nhalf<END>")
    http = HttpConnections("127.0.0.1", server.port, {})
    with pytest.raises(HttpError, match="closed the connection"):
        await http.request("POST", "/ari/channels/c1/answer")
    assert len(server.requests) == 1
    http.close()


async def test_an_asterisk_that_says_nothing_fails_the_request_at_its_time_limit(
    served: Start,
) -> None:
    server = await served(lambda request: None)
    http = HttpConnections("127.0.0.1", server.port, {})
    with pytest.raises(TimeoutError):
        await http.request("POST", "/ari/channels/c1/answer", timeout=0.2)
    http.close()


async def test_an_asterisk_that_is_not_there_fails_the_request_with_why() -> None:
    http = HttpConnections("127.0.0.1", 1, {})
    with pytest.raises(HttpError, match=r"cannot connect to 127\.0\.0\.1:1"):
        await http.request("GET", "/ari/channels")


async def test_many_requests_at_once_share_a_bounded_number_of_connections(served: Start) -> None:
    server = await served(lambda request: ok())
    http = HttpConnections("127.0.0.1", server.port, {})
    answers = await asyncio.gather(*(http.request("GET", f"/r{i}") for i in range(60)))
    assert [a.status for a in answers] == [200] * 60
    assert server.connections <= CONNECTIONS
    http.close()


async def test_the_client_quotes_what_it_sends_and_says_what_ari_refused(served: Start) -> None:
    def reply(request: bytes) -> bytes:
        if b"/missing" in request.split(b"\r\n")[0]:
            return ok(b'{"message": "Channel not found"}', "404 Not Found")
        if request.startswith(b"PUT"):
            return b"HTTP/1.1 204 No Content\r\n\r\n"
        return ok()

    server = await served(reply)
    client = AriClient(
        AriSettings(url=f"http://127.0.0.1:{server.port}", password=SecretStr("s3cret-pw"))
    )
    assert await client.play("a b/c", "p1", ["sound:x", "sound:y"], "ru") == {"id": "x"}
    line = server.requests[-1].split(b"\r\n")[0]
    assert (
        line == b"POST /ari/channels/a%20b%2Fc/play/p1?media=sound%3Ax%2Csound%3Ay&lang=ru HTTP/1.1"
    )
    assert await client.allow_events("ivr", ["StasisStart"]) is None
    sent = server.requests[-1]
    assert b"Content-Type: application/json" in sent
    assert json.loads(sent.split(b"\r\n\r\n", 1)[1]) == {"allowed": [{"type": "StasisStart"}]}
    with pytest.raises(AriError) as refused:
        await client.answer("missing")
    assert refused.value.status == 404
    assert str(refused.value) == "POST /ari/channels/missing/answer: HTTP 404 Channel not found"
    assert b"s3cret" not in b"".join(server.requests)  # only in the Authorization header
    assert b"Authorization: Basic aXZyOnMzY3JldC1wdw==\r\n" in sent  # ivr:s3cret-pw
    await client.close()
