"""The supervisors' API on live calls: calls in progress with masked numbers, listen, whisper
and barge sessions journalled with the supervisor's name, moving a waiting caller; every
refusal a 4xx saying why."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from ivr.calls.commands import EndSupervision, Supervise
from ivr.calls.events import AgentRequest, Caller, SupervisionEnded
from ivr.calls.legs import AgentAnswered, RingAgent
from ivr.http.app import make_app
from ivr.http.recordings import RecordingAccess
from ivr.http.site import Site
from ivr.journal.metrics import Metrics
from ivr.journal.screen_pop import ScreenPops
from ivr.routing.desk import Desk
from ivr.routing.roster import parse_roster
from tests.unit.calls.test_supervision import PLAN, ROSTER
from tests.unit.conftest import World, book, make_world

TOKEN = "legacy-api-token-0001"
OLGA = "supervisor-olga-token-0001"


@dataclass
class Api:
    client: TestClient[Any, Any]
    world: World

    async def call(self, method: str, path: str, body: object = None,
                   token: str = OLGA) -> tuple[int, Any]:  # fmt: skip
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        data = None if body is None else json.dumps(body)
        response = await self.client.request(method, path, data=data, headers=headers)
        text = await response.text()
        try:
            return response.status, json.loads(text)
        except ValueError:
            return response.status, text


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    plans = book(PLAN)
    desk = Desk(parse_roster((ROSTER, "roster.yaml")), plans.queue_specs())
    core = make_world(plans, desk=desk)
    site = Site(core.switchboard, core.driver, ScreenPops(), tmp_path / "voicemail")
    recordings = RecordingAccess(tmp_path / "recordings", {"olga": OLGA})
    app = make_app(lambda: {"ok": True}, Metrics(), site, [TOKEN], recordings=recordings)
    client: TestClient[Any, Any] = TestClient(TestServer(app))
    await client.start_server()
    yield Api(client, core)
    await client.close()


def queue_call(shop: World, key: str, number: str = "+79991234567") -> str:
    call_id = shop.call(caller=Caller(number, "Ivan")).call_id
    shop.pbx.press(call_id, key)
    shop.wait(0)
    return call_id


def talking(shop: World) -> str:
    shop.driver.feed(AgentRequest("anna", "sign-in"))
    call_id = queue_call(shop, "1")
    [ring] = [c for c in shop.pbx.sent if isinstance(c, RingAgent)]
    shop.driver.feed(AgentAnswered(call_id, ring.leg_id))
    return call_id


async def test_calls_in_progress_show_where_each_is_with_the_number_masked(api: Api) -> None:
    talk = talking(api.world)
    api.world.wait(10)
    waiting = queue_call(api.world, "2", "+79990001122")
    status, calls = await api.call("GET", "/api/calls")
    assert status == 200
    by_id = {c["call"]: c for c in calls}
    assert (by_id[talk]["state"], by_id[talk]["agent"], by_id[talk]["queue"]) == (
        "talking", "anna", "returns")  # fmt: skip
    assert (by_id[waiting]["state"], by_id[waiting]["queue"]) == ("waiting", "sales")
    assert by_id[waiting]["number"] == "+7******1122"
    assert "79990001122" not in json.dumps(calls) and "variables" not in by_id[waiting]
    assert by_id[waiting]["since"] == api.world.clock.now()
    assert [c["call"] for c in calls] == [talk, waiting]  # oldest first


async def test_a_supervisor_listens_and_stops_and_the_journal_names_them(api: Api) -> None:
    call_id = talking(api.world)
    phone = {"phone": "PJSIP/supervisor1"}
    status, started = await api.call("POST", f"/api/calls/{call_id}/listen", phone)
    assert status == 202 and (started["call"], started["mode"]) == (call_id, "listen")
    session = started["session"]
    [ask] = [c for c in api.world.pbx.sent if isinstance(c, Supervise)]
    assert (ask.session_id, ask.phone, ask.mode) == (session, "PJSIP/supervisor1", "listen")
    [note] = api.world.notes.of(call_id, "supervision")
    assert note.fields["supervisor"] == "olga"
    _, calls = await api.call("GET", "/api/calls")
    assert calls[0]["supervision"] == [{"session": session, "mode": "listen",
                                        "supervisor": "olga"}]  # fmt: skip
    status, _ = await api.call("DELETE", f"/api/calls/{call_id}/supervision/{session}")
    assert status == 202
    assert EndSupervision(call_id, session) in api.world.pbx.sent
    api.world.driver.feed(SupervisionEnded(call_id, session, "stopped"))
    [ended] = api.world.notes.of(call_id, "supervision_ended")
    assert (ended.fields["by"], ended.fields["reason"]) == ("olga", "stopped")
    status, gone = await api.call("DELETE", f"/api/calls/{call_id}/supervision/{session}")
    assert (status, gone["error"]) == (404, "no-session")


async def test_whisper_and_barge_are_sessions_of_their_own(api: Api) -> None:
    call_id = talking(api.world)
    for mode in ("whisper", "barge"):
        status, started = await api.call("POST", f"/api/calls/{call_id}/{mode}",
                                         {"phone": "PJSIP/supervisor1"})  # fmt: skip
        assert (status, started["mode"]) == (202, mode)
    modes = [c.mode for c in api.world.pbx.sent if isinstance(c, Supervise)]
    assert modes == ["whisper", "barge"]


async def test_only_a_talk_is_supervised_from_a_phone_of_ours(api: Api) -> None:
    waiting = queue_call(api.world, "2")
    cases = [
        (f"/api/calls/{waiting}/listen", {"phone": "PJSIP/supervisor1"}, 409, "not-talking"),
        ("/api/calls/nobody/listen", {"phone": "PJSIP/supervisor1"}, 404, "not-talking"),
        (f"/api/calls/{waiting}/listen", {"phone": "Local/1@from-internal"}, 400, "invalid-phone"),
        (f"/api/calls/{waiting}/whisper", {"phone": "PJSIP/a&b"}, 400, "invalid-phone"),
        (f"/api/calls/{waiting}/barge", {}, 400, "invalid-phone"),
        (f"/api/calls/{waiting}/barge", ["PJSIP/x"], 400, "invalid-request"),
    ]
    for path, body, status, error in cases:
        got, answer = await api.call("POST", path, body)
        assert (got, answer["error"]) == (status, error), path
    assert not any(isinstance(c, Supervise) for c in api.world.pbx.sent)


async def test_a_waiting_caller_is_moved_and_a_talking_one_is_not(api: Api) -> None:
    waiting = queue_call(api.world, "1")
    api.world.wait(20)
    status, moved = await api.call("POST", f"/api/calls/{waiting}/move", {"queue": "sales"})
    assert status == 200
    assert (moved["queue"], moved["came_from"], moved["position"]) == ("sales", "returns", 1)
    [note] = api.world.notes.of(waiting, "queue_moved")
    assert (note.fields["by"], note.fields["wait"]) == ("olga", "20.0")
    talk = talking(api.world)
    cases = [
        (talk, {"queue": "sales"}, 409, "not-waiting"),
        (waiting, {"queue": "sales"}, 409, "not-waiting"),  # already there
        (waiting, {"queue": "nowhere"}, 400, "unknown-queue"),
        (waiting, {"queue": ""}, 400, "invalid-request"),
        ("nobody", {"queue": "sales"}, 404, "no-call"),
    ]
    for call_id, body, status, error in cases:
        got, answer = await api.call("POST", f"/api/calls/{call_id}/move", body)
        assert (got, answer["error"]) == (status, error), body


async def test_the_routes_refuse_who_is_not_a_supervisor(api: Api) -> None:
    call_id = talking(api.world)
    for method, path in [
        ("POST", f"/api/calls/{call_id}/listen"),
        ("POST", f"/api/calls/{call_id}/move"),
        ("DELETE", f"/api/calls/{call_id}/supervision/x"),
    ]:
        assert (await api.call(method, path, {"phone": "PJSIP/s"}, token=TOKEN))[0] == 403
        assert (await api.call(method, path, {"phone": "PJSIP/s"}, token="wrong"))[0] == 401
    assert not any(isinstance(c, Supervise) for c in api.world.pbx.sent)
