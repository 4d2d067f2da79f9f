"""The agent's transfer API as the agent's page uses it: a note, a warm transfer consulted and
completed, the second agent's screen pop with the context, a disposition in wrap-up; and
what is refused (another agent's id, no call, a bad body or disposition)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient, TestServer

from ivr.calls.events import AgentRequest, Caller
from ivr.calls.legs import AgentAnswered, AgentLegEnded, RingAgent
from ivr.calls.ports import NoteSink
from ivr.http import access
from ivr.http.access import allow
from ivr.http.app import make_app
from ivr.http.principals import AGENT, SUPERVISOR, Credential, Directory, Principal
from ivr.http.site import Site
from ivr.journal.caller_history import JournalHistory
from ivr.journal.fanout import NoteFanout
from ivr.journal.metrics import Metrics
from ivr.journal.metrics_sink import MetricsSink
from ivr.journal.screen_pop import ScreenPops
from ivr.journal.store_sink import JournalSink
from ivr.store.buffered import BufferedJournal
from ivr.store.sqlite_writes import SqliteBackend
from ivr.store.writer import StoreWriter
from tests.unit.calls.test_agent_transfer import world
from tests.unit.conftest import World

TOKENS = {"agent1": "agent1-token-00000001", "agent2": "agent2-token-00000002"}
# The rules these routes need in ivr/http/access.py (the lead adds them to the table).
RULES = {
    "POST /api/agents/{agent}/transfer": allow(SUPERVISOR, own_agent=True),
    "POST /api/agents/{agent}/transfer/{step}": allow(SUPERVISOR, own_agent=True),
    "POST /api/agents/{agent}/leave": allow(SUPERVISOR, own_agent=True),
    "POST /api/agents/{agent}/note": allow(SUPERVISOR, own_agent=True),
    "POST /api/agents/{agent}/disposition": allow(SUPERVISOR, own_agent=True),
}


@dataclass
class Desk:
    client: TestClient[Any, Any]
    world: World
    pops: ScreenPops
    metrics: Metrics
    writer: StoreWriter

    async def landed(self) -> None:
        """Every note written so far is in the store (the pop's history reads it there)."""
        async with asyncio.timeout(5.0):
            while any(self.writer.pending().values()):
                await asyncio.wrap_future(self.writer.submit(lambda store: None))

    async def post(
        self, agent: str, path: str, body: object = None, token: str = ""
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token or TOKENS[agent]}"}
        response = await self.client.post(
            f"/api/agents/{agent}/{path}", headers=headers, json=body if body is not None else {}
        )
        return response.status, await _json(response)

    async def get(self, agent: str, path: str) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {TOKENS[agent]}"}
        response = await self.client.get(f"/api/agents/{agent}/{path}", headers=headers)
        return response.status, await _json(response)

    def rings(self) -> list[RingAgent]:
        return [c for c in self.world.pbx.sent if isinstance(c, RingAgent)]


async def _json(response: Any) -> Any:
    text = await response.text()
    try:
        return json.loads(text)
    except ValueError:
        return text


@pytest.fixture
async def desk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Desk]:
    for route, rule in RULES.items():
        monkeypatch.setitem(access.ACCESS, route, rule)
    core = world(("agent1",))  # agent2 signs in when a test needs them
    # The journal in a store, as the daemon keeps it: the pops read earlier calls there.
    writer = StoreWriter(
        lambda: SqliteBackend(tmp_path / "ivr.sqlite3", tmp_path / "cb.sqlite3", 2.0)
    ).start()
    pops = ScreenPops(history=JournalHistory(writer, ZoneInfo("Europe/Moscow")))
    metrics = Metrics()
    # The screen pops and the metrics hear the journal's notes, as in the daemon.
    sinks: list[NoteSink] = [core.notes, JournalSink(BufferedJournal(writer)), pops,
                             MetricsSink(metrics)]  # fmt: skip
    core.driver.journal = NoteFanout(sinks)
    site = Site(core.switchboard, core.driver, pops, tmp_path / "voicemail")
    principals = Directory(
        Credential(Principal(agent, AGENT, agent), token=token) for agent, token in TOKENS.items()
    )
    app = make_app(lambda: {"ok": True}, metrics, site, principals=principals)
    client: TestClient[Any, Any] = TestClient(TestServer(app))
    await client.start_server()
    yield Desk(client, core, pops, metrics, writer)
    await client.close()
    writer.close(5.0)


def answer(desk: Desk, number: str = "+79991234567") -> str:
    core = desk.world
    call = core.call(caller=Caller(number))
    core.wait(3)
    for digit in "1234":
        core.pbx.press(call.call_id, digit)
    core.wait(1)
    ring = desk.rings()[-1]
    assert ring.agent_id == "agent1"
    core.driver.feed(AgentAnswered(call.call_id, ring.leg_id))
    return call.call_id


async def test_a_warm_transfer_through_the_api_brings_the_context_to_the_second_agent(
    desk: Desk,
) -> None:
    core = desk.world
    earlier = answer(desk)  # an earlier call from the same number, closed with a disposition
    core.driver.feed(AgentLegEnded(earlier, desk.rings()[-1].leg_id, "hangup"))
    core.pbx.hang_up(earlier)
    core.wait(1)
    assert await desk.post("agent1", "disposition", {"disposition": "follow-up"}) == (
        200,
        {"call": earlier, "disposition": "follow-up"},
    )
    core.wait(40)  # wrap-up over
    await desk.landed()
    call_id = answer(desk)
    core.driver.feed(AgentRequest("agent2", "sign-in"))
    status, _ = await desk.post("agent1", "note", {"note": "wants the courier on Friday"})
    assert status == 202
    status, ringing = await desk.post(
        "agent1", "transfer", {"mode": "warm", "to": {"agent": "agent2"}}
    )
    assert status == 202
    assert ringing == {
        "call": call_id,
        "action": "warm",
        "mode": "warm",
        "to": {"agent": "agent2"},
        "transfer": "ringing",
    }
    target = desk.rings()[-1]
    assert target.agent_id == "agent2"
    core.driver.feed(AgentAnswered(call_id, target.leg_id))
    await desk.pops.settled()  # the earlier calls, read from the journal
    status, pop = await desk.get("agent2", "screen-pop")
    assert status == 200
    assert (pop["call"], pop["variables"], pop["topic"]) == (call_id, {"order": "1234"}, "delivery")
    assert (pop["transferred_by"], pop["note"]) == ("agent1", "wants the courier on Friday")
    [before] = pop["previous"]
    assert (before["call"], before["topic"], before["disposition"]) == (
        earlier,
        "delivery",
        "follow-up",
    )
    assert before["outcome"]
    assert (await desk.post("agent1", "transfer/complete"))[1]["transfer"] == "done"
    core.driver.feed(AgentLegEnded(call_id, target.leg_id, "hangup"))
    status, given = await desk.post("agent2", "disposition", {"disposition": "resolved"})
    assert (status, given) == (200, {"call": call_id, "disposition": "resolved"})
    kept = core.notes.of(call_id, "disposition")[0].fields
    assert kept == {"agent": "agent2", "queue": "orders", "disposition": "resolved"}
    exported = desk.metrics.render()[0].decode()
    assert 'ivr_dispositions_total{disposition="resolved",queue="orders"} 1.0' in exported
    assert 'ivr_dispositions_total{disposition="follow-up",queue="orders"} 1.0' in exported


async def test_what_the_api_refuses_and_why(desk: Desk) -> None:
    status, refused = await desk.post(
        "agent1", "transfer", {"mode": "blind", "to": {"queue": "returns"}}
    )
    assert (status, refused["message"]) == (409, "the agent is on no answered call")
    answer(desk)
    # agent2 may not act for agent1.
    status, refused = await desk.post("agent1", "transfer/cancel", token=TOKENS["agent2"])
    assert status == 403
    for body in (
        {"mode": "sideways", "to": {"queue": "returns"}},
        {"mode": "blind"},
        {"mode": "blind", "to": {"queue": "returns", "agent": "agent2"}},
        {"mode": "blind", "to": {"number": "not a number"}},
    ):
        status, refused = await desk.post("agent1", "transfer", body)
        assert status == 400, body
        assert refused["message"]
    status, refused = await desk.post("agent1", "transfer/sideways")
    assert status == 404
    status, refused = await desk.post("agent1", "disposition", {"disposition": "resolved"})
    assert (status, refused["error"]) == (409, "not-in-wrap-up")
    status, refused = await desk.post("agent1", "disposition", {"disposition": "sold"})
    assert status == 400 and "resolved, follow-up, order-placed, complaint" in refused["message"]
    status, refused = await desk.post("agent1", "transfer/complete")
    assert (status, refused["message"]) == (409, "no transfer is under way on this call")


async def test_a_number_is_dialled_through_the_callbacks_trunk(desk: Desk) -> None:
    call_id = answer(desk)
    status, ringing = await desk.post(
        "agent1", "transfer", {"mode": "warm", "to": {"number": "8 900 123-45-67"}}
    )
    assert status == 202 and ringing["to"] == {"number": "+79001234567"}
    target = desk.rings()[-1]
    assert target.endpoint == "PJSIP/+79001234567@trunk"
    desk.world.driver.feed(AgentAnswered(call_id, target.leg_id))
    assert (await desk.post("agent1", "transfer/complete"))[0] == 202
    assert str(desk.world.switchboard.desk.router.agent("agent1").state) == "wrap_up"
    # The outside party hangs up: the caller's line is closed too, never left in silence.
    desk.world.driver.feed(AgentLegEnded(call_id, target.leg_id, "hangup"))
    desk.world.wait(1)
    assert desk.world.pbx.calls[call_id].ended_by == "ivr"
