"""The backend gets the PIN it asks for; the daemon's log never does, whatever the answer."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any, Literal

import pytest
from aiohttp import web

from ivr.calls.commands import Lookup
from ivr.calls.events import LookupDone
from ivr.lookups.http import HttpLookups

PIN = "9731"


@pytest.fixture
async def backend() -> AsyncIterator[tuple[str, list[Any]]]:
    received: list[Any] = []

    async def verify(request: web.Request) -> web.Response:
        body = await request.json() if request.can_read_body else None
        received.append({"query": dict(request.query), "body": body})
        if request.path == "/slow":
            await asyncio.sleep(0.6)
        status = 500 if request.path == "/broken" else 200
        return web.Response(status=status, text="not json" if request.path == "/text" else "{}")

    app = web.Application()
    app.router.add_route("*", "/{kind}", verify)
    # The backend's own access log would show a GET's query: that is the shop's, not ours.
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}", received
    await runner.cleanup()


def logged_text(record: logging.LogRecord) -> str:
    """A log record's message and every attribute but its numbers (times, thread and process
    ids: their digits hold any 4-digit PIN now and then, and a PIN is never logged as one)."""
    attributes = {k: v for k, v in record.__dict__.items() if not isinstance(v, int | float)}
    return f"{record.getMessage()} {attributes}"


async def answered(answers: list[LookupDone]) -> None:
    async with asyncio.timeout(5):
        while not answers:
            await asyncio.sleep(0.01)


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("path", ["/broken", "/slow", "/text", "/ok"])
async def test_a_pin_sent_to_the_backend_is_never_logged(
    backend: tuple[str, list[Any]],
    caplog: pytest.LogCaptureFixture,
    method: Literal["GET", "POST"],
    path: str,
) -> None:
    url, received = backend
    answers: list[LookupDone] = []
    lookups = HttpLookups(answers.append)
    with caplog.at_level(logging.DEBUG):
        lookups.send(Lookup("c1", "r1", method, url + path, {"pin": PIN}, 0.3))
        await answered(answers)
        await lookups.close()
    [request] = received
    assert (request["query"] if method == "GET" else request["body"]) == {"pin": PIN}
    assert answers[0].ok == (path == "/ok")
    logged = [logged_text(r) for r in caplog.records]
    assert path == "/ok" or any("backend.lookup_failed" in line for line in logged)
    assert not any(PIN in line for line in logged)


async def test_a_pin_is_not_logged_when_the_backend_is_down(
    caplog: pytest.LogCaptureFixture,
) -> None:
    answers: list[LookupDone] = []
    lookups = HttpLookups(answers.append)
    with caplog.at_level(logging.DEBUG):
        lookups.send(Lookup("c1", "r1", "GET", "http://127.0.0.1:9/verify", {"pin": PIN}, 1.0))
        await answered(answers)
        await lookups.close()
    assert not answers[0].ok
    logged = [logged_text(r) for r in caplog.records]
    assert any("backend.lookup_failed" in line for line in logged)
    assert not any(PIN in line for line in logged)
