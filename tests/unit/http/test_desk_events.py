"""The desk page's live feed (GET /api/events): a snapshot on connect, then only what changed,
coalesced and pushed within a second; an agent sees their own desk only, the website nothing;
nothing is computed per call while nobody listens. And the page itself is served."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer

from ivr.calls.commands import Note
from ivr.calls.events import AgentPresence, AgentRequest, Caller
from ivr.calls.legs import AgentAnswered, RingAgent
from ivr.http import access
from ivr.http.app import make_app
from ivr.http.desk_day import DayFigures
from ivr.http.events import FEED, diff, mask_number
from ivr.http.principals import AGENT, SUPERVISOR, WEBSITE, Credential, Directory, Principal
from ivr.http.site import Site
from ivr.journal.fanout import NoteFanout
from ivr.journal.metrics import Metrics
from ivr.journal.screen_pop import ScreenPops
from ivr.routing.desk import Desk
from ivr.routing.roster import parse_roster
from tests.unit.conftest import World, book, make_world

START = datetime(2026, 11, 3, 9, 0, tzinfo=UTC).timestamp()
PLAN = """
name: shop
numbers: ["100"]
timezone: Europe/Moscow
queues:
  returns: {skills: {returns: 5}, wrapup: 30}
  sales: {skills: {sales: 5}}
nodes:
  start: {type: collect, var: order, digits: 3, sensitive: false, prompt: sound:enter, next: topic}
  topic: {type: tag, tag: returns, next: desk}
  desk: {type: queue, queue: returns}
"""
ROSTER = """
teams:
  shop: {kind: in-house}
agents:
  - {id: agent1, name: Anna, endpoint: PJSIP/agent1, team: shop, skills: {returns: 7}}
  - {id: agent2, name: Boris, endpoint: PJSIP/agent2, team: shop, skills: {sales: 7}}
"""
TOKENS = {"sup": "supervisor-token-0001", "agent1": "agent1-token-0001",
          "agent2": "agent2-token-0001", "web": "website-token-0001"}  # fmt: skip


@dataclass
class Desk_:
    client: TestClient[Any, Any]
    world: World
    day: DayFigures

    async def listen(self, who: str) -> Stream:
        response = await self.client.get(
            "/api/events", headers={"Authorization": f"Bearer {TOKENS[who]}"}
        )
        return Stream(response)

    def feed(self, event: Any) -> None:
        self.world.driver.feed(event)


@dataclass
class Stream:
    response: ClientResponse

    async def next(self, timeout: float = 2.0) -> tuple[str, dict[str, Any]]:
        """The next event (comments skipped): its name and data."""
        kind, data = "", ""
        async with asyncio.timeout(timeout):
            while True:
                raw = await self.response.content.readline()
                if not raw:
                    raise EOFError("the stream ended")
                line = raw.decode().rstrip("\n")
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: "):
                    data = line[6:]
                elif not line and kind:
                    return kind, json.loads(data)

    async def nothing_for(self, seconds: float) -> bool:
        try:
            await self.next(seconds)
        except TimeoutError:
            return True
        return False


def apply(view: dict[str, Any], change: dict[str, Any]) -> None:
    """What the page does with a change (app.js `apply`)."""
    for section, patch in change.get("patch", {}).items():
        items = view.setdefault(section, {})
        items.update(patch["set"])
        for key in patch["drop"]:
            del items[key]
    view.update(change.get("replace", {}))


@pytest.fixture
async def desk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Desk_]:
    # The rule proposed for ivr/http/access.py (until the lead adds it there).
    rule = access.allow(SUPERVISOR, access.OPS, AGENT)
    monkeypatch.setitem(access.ACCESS, "GET /api/events", access.ACCESS.get("GET /api/events",
                        rule))  # fmt: skip
    plans = book(PLAN)
    roster = parse_roster((ROSTER, "roster.yaml"))
    world = make_world(plans, start=START, desk=Desk(roster, plans.queue_specs()))
    pops = ScreenPops()
    day = DayFigures(ZoneInfo("Europe/Moscow"))
    world.driver.journal = NoteFanout([world.notes, pops, day])
    site = Site(world.switchboard, world.driver, pops, tmp_path / "voicemail")
    principals = Directory(
        [
            Credential(Principal("sup", SUPERVISOR), TOKENS["sup"]),
            Credential(Principal("anna", AGENT, "agent1"), TOKENS["agent1"]),
            Credential(Principal("boris", AGENT, "agent2"), TOKENS["agent2"]),
            Credential(Principal("shop.example", WEBSITE), TOKENS["web"]),
        ]
    )
    app = make_app(lambda: {"ok": True}, Metrics(), site, principals=principals, desk_day=day)
    app[FEED].coalesce = 0.05
    client: TestClient[Any, Any] = TestClient(TestServer(app))
    await client.start_server()
    yield Desk_(client, world, day)
    await client.close()


def queue_caller(world: World, number: str = "+79001234567") -> str:
    call = world.call(caller=Caller(number, "Ivan"))
    world.pbx.press(call.call_id, "042")
    world.wait(1)
    return call.call_id


def answer(world: World, call_id: str) -> None:
    ring = [c for c in world.pbx.sent if isinstance(c, RingAgent) and c.call_id == call_id][-1]
    world.driver.feed(AgentAnswered(call_id, ring.leg_id))


async def test_a_waiting_caller_reaches_the_wallboard_within_a_second(desk: Desk_) -> None:
    stream = await desk.listen("sup")
    kind, view = await stream.next()
    assert kind == "snapshot"
    assert view["queues"]["returns"]["waiting"] == 0
    assert {a["id"]: a["state"] for a in view["agents"].values()} == {
        "agent1": "signed_out",
        "agent2": "signed_out",
    }
    started = time.monotonic()
    call_id = queue_caller(desk.world)
    # Nobody signed in: the caller waits, and the board shows it without being asked.
    while view["queues"]["returns"]["waiting"] == 0:
        kind, change = await stream.next()
        assert kind == "change"
        apply(view, change)
    assert time.monotonic() - started < 1.0
    call = view["calls"][call_id]
    joined = next(at for at, n in desk.world.notes.items if n.kind == "queue_join")
    assert (call["state"], call["queue"], call["since"]) == ("waiting", "returns", joined)
    assert call["number"] == "+7******4567"  # masked on the wallboard
    assert "variables" not in call  # the order number is the agent's, not the wall's
    assert view["queues"]["returns"]["oldest_since"] == joined


async def test_a_burst_of_changes_comes_as_one_message(desk: Desk_) -> None:
    stream = await desk.listen("sup")
    _, view = await stream.next()
    for _ in range(10):
        desk.feed(AgentRequest("agent1", "sign-in"))
        desk.feed(AgentRequest("agent1", "pause", "lunch"))
        desk.feed(AgentRequest("agent1", "resume"))
    desk.feed(AgentRequest("agent2", "sign-in"))
    kind, change = await stream.next()
    assert kind == "change"
    apply(view, change)
    # One message, only the agents that changed, and nothing after it.
    assert set(change) == {"now", "patch"}
    assert set(change["patch"]["agents"]["set"]) == {"agent1", "agent2"}
    assert view["agents"]["agent1"]["state"] == "available"
    assert view["agents"]["agent2"]["state"] == "available"
    assert view["agents"]["agent1"]["since"] == pytest.approx(desk.world.clock.now())
    assert await stream.nothing_for(0.5)


async def test_a_softphone_that_unregisters_shows_on_the_wallboard_and_in_the_api(
    desk: Desk_,
) -> None:
    desk.feed(AgentRequest("agent1", "sign-in"))
    stream = await desk.listen("sup")
    _, view = await stream.next()
    assert view["agents"]["agent1"]["reachable"] is True
    desk.feed(AgentPresence("PJSIP/agent1", reachable=False, busy=False))
    _, change = await stream.next()
    apply(view, change)
    # Still signed in (it comes back when the phone registers again), but shown unreachable.
    assert (view["agents"]["agent1"]["state"], view["agents"]["agent1"]["reachable"]) == (
        "available",
        False,
    )
    response = await desk.client.get(
        "/api/agents", headers={"Authorization": f"Bearer {TOKENS['sup']}"}
    )
    listed = {a["id"]: a for a in await response.json()}
    assert listed["agent1"]["reachable"] is False and listed["agent2"]["reachable"] is True


async def test_nothing_is_watched_while_nobody_listens(desk: Desk_) -> None:
    driver = desk.world.driver
    assert driver.on_change is None
    stream = await desk.listen("sup")
    await stream.next()
    assert driver.on_change is not None
    stream.response.close()
    # The server notices at its next write: a change, or the heartbeat.
    desk.feed(AgentRequest("agent1", "sign-in"))
    async with asyncio.timeout(2):
        while driver.on_change is not None:
            await asyncio.sleep(0.02)
            desk.feed(AgentRequest("agent1", "pause", "x"))
            desk.feed(AgentRequest("agent1", "resume"))
    assert not desk.client.app[FEED].listeners


async def test_an_agent_sees_their_own_call_with_its_screen_pop(desk: Desk_) -> None:
    desk.feed(AgentRequest("agent1", "sign-in"))
    desk.feed(AgentRequest("agent2", "sign-in"))
    anna = await desk.listen("agent1")
    boris = await desk.listen("agent2")
    _, mine = await anna.next()
    _, theirs = await boris.next()
    assert set(mine) == {"now", "staffed", "me", "calls", "pop", "callbacks", "dispositions",
                         "targets"}  # fmt: skip
    assert mine["me"]["state"] == "available"
    assert "agents" not in mine and "queues" not in mine  # no one else's desk
    call_id = queue_caller(desk.world)
    answer(desk.world, call_id)
    while mine["me"]["state"] != "on_call" or mine.get("pop") is None:
        _, change = await anna.next()
        apply(mine, change)
    call = mine["calls"][call_id]
    assert call["number"] == "+79001234567"  # the agent on the call sees who it is
    assert call["variables"] == {"order": "042"}
    assert mine["pop"]["variables"] == {"order": "042"}
    assert mine["me"]["since"] == desk.world.clock.now()  # talking since the answer
    # Boris serves another queue: not a word of Anna's call reaches his page.
    while True:
        try:
            _, change = await boris.next(0.5)
        except TimeoutError:
            break
        apply(theirs, change)
    assert theirs["calls"] == {} and theirs["pop"] is None
    assert theirs["targets"]["agent"] == ["agent1"]


async def test_the_website_may_not_watch_the_desk(desk: Desk_) -> None:
    response = await desk.client.get(
        "/api/events", headers={"Authorization": f"Bearer {TOKENS['web']}"}
    )
    assert response.status == 403
    assert "supervisor" in await response.text()
    response = await desk.client.get("/api/events")
    assert response.status == 401


async def test_stopping_the_server_ends_open_streams(desk: Desk_) -> None:
    stream = await desk.listen("sup")
    await stream.next()
    started = time.monotonic()
    await desk.client.app.shutdown()
    with pytest.raises(EOFError):
        await stream.next(2)
    assert time.monotonic() - started < 2


async def test_todays_figures_reach_the_wallboard(desk: Desk_) -> None:
    stream = await desk.listen("sup")
    _, view = await stream.next()
    at = desk.world.clock.now()
    for kind, fields in [
        ("answered", {"queue": "returns", "wait": "5", "sla": "20"}),
        ("answered", {"queue": "returns", "wait": "45", "sla": "20"}),
        ("queue_abandoned", {"queue": "returns", "wait": "30", "sla": "20"}),
        ("survey_answer", {"survey": "s", "kind": "csat", "score": "5"}),
        ("survey_answer", {"survey": "s", "kind": "csat", "score": "2"}),
        ("survey_answer", {"survey": "s", "kind": "nps", "score": "10"}),
        ("survey_answer", {"survey": "s", "kind": "nps", "score": "3"}),
        ("survey_answer", {"survey": "s", "kind": "nps", "score": "9"}),
    ]:
        desk.day.record(Note("c1", kind, fields), at)
    desk.feed(AgentRequest("agent1", "sign-in"))  # any batch: the feed looks again
    while view["survey"]["csat"] is None:
        _, change = await stream.next()
        apply(view, change)
    returns = view["queues"]["returns"]
    assert (returns["answered_today"], returns["abandoned_today"]) == (2, 1)
    assert returns["service_level_today"] == pytest.approx(33.3)
    assert view["survey"] == {"csat": 3.5, "csat_answers": 2, "nps": 33, "nps_answers": 3}


def test_the_day_starts_afresh_at_midnight_in_the_sites_zone() -> None:
    day = DayFigures(ZoneInfo("Europe/Moscow"))
    before_midnight = datetime(2026, 11, 3, 20, 59, tzinfo=UTC).timestamp()  # 23:59 MSK
    day.record(Note("c", "queue_abandoned", {"queue": "q", "wait": "1", "sla": "20"}),
               before_midnight)  # fmt: skip
    assert day.view(before_midnight)["queues"]["q"]["abandoned"] == 1
    assert day.view(before_midnight + 120)["queues"] == {}  # 00:01 MSK: a new day
    assert day.view(before_midnight + 120)["day"] == "2026-11-04"


def test_a_change_applied_to_the_last_view_gives_the_new_one() -> None:
    old = {"agents": {"a": {"s": 1}, "b": {"s": 1}}, "survey": {"csat": None}, "staffed": True}
    new = {"agents": {"a": {"s": 2}, "c": {"s": 1}}, "survey": {"csat": 4.0}, "staffed": True}
    change = diff(old, new)
    assert change["patch"]["agents"] == {"set": {"a": {"s": 2}, "c": {"s": 1}}, "drop": ["b"]}
    view = json.loads(json.dumps(old))
    apply(view, change)
    assert view == new
    assert diff(new, new) == {}


def test_numbers_are_masked_but_their_last_digits() -> None:
    assert mask_number("+79001234567") == "+7******4567"
    assert mask_number("89001234567") == "8******4567"
    assert mask_number("123") == "***"


async def test_the_page_is_served_without_signing_in_and_loads_only_its_own_files(
    desk: Desk_,
) -> None:
    response = await desk.client.get("/desk", allow_redirects=False)
    assert (response.status, response.headers["Location"]) == (302, "/desk/")
    page = await desk.client.get("/desk/")
    assert page.status == 200
    assert page.content_type == "text/html"
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    html = await page.text()
    assert '<script src="/desk/app.js"' in html and "<script>" not in html
    script = await desk.client.get("/desk/app.js")
    assert script.content_type == "text/javascript"
    assert "innerHTML" not in await script.text()  # data goes in as text, never as markup
    assert (await desk.client.get("/desk/style.css")).content_type == "text/css"
