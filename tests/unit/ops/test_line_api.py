"""The line's API: closing and opening behind the token, refusals with a reason, the status."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from ivr.http.app import make_app
from ivr.http.site import Site
from ivr.journal.metrics import Metrics
from ivr.journal.screen_pop import ScreenPops
from tests.unit.conftest import World, book, make_world
from tests.unit.ops.test_line import PLAIN, PLAN, START

TOKEN = "ops-token-0001"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def world() -> World:
    return make_world(book(PLAN, PLAIN), start=START)


@pytest.fixture
async def client(world: World, tmp_path: Path) -> AsyncIterator[TestClient[Any, Any]]:
    site = Site(world.switchboard, world.driver, ScreenPops(None), tmp_path)
    app = make_app(lambda: {"ok": True}, Metrics(), site, [TOKEN])
    async with TestClient(TestServer(app)) as client:
        yield client


async def test_the_line_needs_the_token(client: TestClient[Any, Any]) -> None:
    for method, path in (("GET", "/api/line"), ("POST", "/api/line/close"),
                         ("POST", "/api/line/open"), ("POST", "/api/erase")):  # fmt: skip
        reply = await client.request(method, path)
        assert reply.status == 401, path


async def test_close_then_open_through_the_api(client: TestClient[Any, Any], world: World) -> None:
    body = {"message": "storm", "plans": ["shop"], "reason": "flood", "by": "anna"}
    reply = await client.post("/api/line/close", json=body, headers=AUTH)
    assert reply.status == 200
    status = await reply.json()
    assert status["plans"]["shop"]["closed"] and not status["plans"]["plain"]["closed"]
    assert world.switchboard.line.closed_for("shop") is not None
    reply = await client.get("/api/line", headers=AUTH)
    assert (await reply.json())["plans"]["shop"]["reason"] == "flood"
    reply = await client.post("/api/line/open", json={"by": "anna"}, headers=AUTH)
    assert reply.status == 200 and (await reply.json())["changed"] is True
    reply = await client.post("/api/line/open", headers=AUTH)
    assert (await reply.json())["changed"] is False
    kinds = [n.kind for _, n in world.notes.items if n.call_id == ""]
    assert kinds == ["line_closed", "line_opened"]


async def test_refusals_say_why_and_change_nothing(
    client: TestClient[Any, Any], world: World
) -> None:
    for body, words in (
        ({"message": "storm"}, "not declared by plan plain"),
        ({"plans": ["nosuch"]}, "no plan called nosuch"),
        ({"message": 5}, "message"),
        ({"plans": "shop", "reason": ["x"]}, "reason"),
    ):
        reply = await client.post("/api/line/close", json=body, headers=AUTH)
        assert reply.status == 400, body
        assert words in await reply.text()
    assert world.switchboard.line.closed == {}
    reply = await client.post("/api/line/close", data=b"[1]", headers=AUTH)
    assert reply.status == 400


async def test_free_text_is_one_line_and_capped(client: TestClient[Any, Any], world: World) -> None:
    body = {"reason": "line one\nline two\r\n" + "x" * 500}
    reply = await client.post("/api/line/close", json=body, headers=AUTH)
    assert reply.status == 200
    shut = world.switchboard.line.closed_for("shop")
    assert shut is not None and "\n" not in shut.reason and len(shut.reason) == 200
    assert shut.by == "api"
