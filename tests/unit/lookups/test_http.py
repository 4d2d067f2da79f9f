"""The HTTP backend adapter against a real local aiohttp server: one LookupDone per Lookup."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from ivr.calls.commands import Lookup
from ivr.calls.events import LookupDone
from ivr.lookups.http import HttpLookups


async def orders(request: web.Request) -> web.Response:
    body: Any = await request.json() if request.can_read_body else None
    return web.json_response(
        {"path": request.path, "query": dict(request.query), "body": body, "status": "shipped"}
    )


async def slow(request: web.Request) -> web.Response:
    await asyncio.sleep(0.6)
    return web.json_response({})


async def broken(request: web.Request) -> web.Response:
    return web.json_response({"error": "boom"}, status=500)


async def text(request: web.Request) -> web.Response:
    return web.Response(text="shipped")


async def a_list(request: web.Request) -> web.Response:
    return web.json_response(["shipped"])


async def moved(request: web.Request) -> web.Response:
    raise web.HTTPFound("/orders")


@pytest.fixture
async def server() -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_route("*", "/orders", orders)
    for path, handler in (
        ("/slow", slow),
        ("/broken", broken),
        ("/text", text),
        ("/list", a_list),
        ("/moved", moved),
    ):
        app.router.add_get(path, handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def ask(
    url: str, params: dict[str, str] | None = None, method: str = "GET", timeout: float = 1.0
) -> LookupDone:
    answers: list[LookupDone] = []
    lookups = HttpLookups(answers.append)
    lookups.send(Lookup("c1", "r1", method, url, params or {}, timeout))  # type: ignore[arg-type]
    for _ in range(300):
        if answers:
            break
        await asyncio.sleep(0.01)
    await lookups.close()
    assert len(answers) == 1
    assert (answers[0].call_id, answers[0].request_id) == ("c1", "r1")
    return answers[0]


async def test_get_sends_variables_in_the_query_only(server: str) -> None:
    done = await ask(f"{server}/orders", {"order": "../../admin?x=1#", "caller": "+7900"})
    assert done.ok and done.status == 200
    assert done.data["path"] == "/orders"  # the caller's text never became part of the path
    assert done.data["query"] == {"order": "../../admin?x=1#", "caller": "+7900"}


async def test_post_sends_variables_as_a_json_body(server: str) -> None:
    done = await ask(f"{server}/orders", {"order": "12345"}, method="POST")
    assert done.ok
    assert done.data["body"] == {"order": "12345"}
    assert done.data["query"] == {}


@pytest.mark.parametrize(
    ("path", "status"),
    [("/slow", 0), ("/broken", 500), ("/text", 200), ("/list", 200), ("/moved", 302)],
)
async def test_failures_come_back_as_not_ok(server: str, path: str, status: int) -> None:
    done = await ask(f"{server}{path}", timeout=0.3)
    assert not done.ok
    assert done.status == status
    assert done.data == {}


async def test_a_backend_that_is_not_there(unused_tcp_port: int) -> None:
    done = await ask(f"http://127.0.0.1:{unused_tcp_port}/orders")
    assert not done.ok and done.status == 0


async def test_closing_answers_requests_in_flight(server: str) -> None:
    answers: list[LookupDone] = []
    lookups = HttpLookups(answers.append)
    lookups.send(Lookup("c1", "r1", "GET", f"{server}/slow", {}, 5.0))
    await asyncio.sleep(0.1)
    await lookups.close()
    assert [a.ok for a in answers] == [False]


async def test_a_failing_sink_does_not_break_the_adapter(server: str) -> None:
    def boom(done: LookupDone) -> None:
        raise RuntimeError("core failed")

    lookups = HttpLookups(boom)
    lookups.send(Lookup("c1", "r1", "GET", f"{server}/orders", {}, 1.0))
    await asyncio.sleep(0.3)
    await lookups.close()
