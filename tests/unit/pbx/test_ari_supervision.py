"""Supervision sessions in the ARI adapter: the requests each mode makes, in order, and how a
session ends whoever ends it, without a request on the call itself."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr

from ivr.calls.commands import EndSupervision, Supervise
from ivr.calls.events import CallEvent, CallHungUp, SupervisionEnded
from ivr.calls.legs import AgentLegEnded, LegEvent
from ivr.config import AriSettings, ReconnectSettings
from ivr.pbx.ari.client import AriError
from ivr.pbx.ari.pbx import AriPbx

CALL, LEG, SESSION = "1796000000.1", "1796000000.1-a1", "1796000000.1-sv1"
SNOOP = f"{SESSION}-snoop"


class Client:
    """Stands for AriClient: every request it gets, as `name args`; `failing` ones raise."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.failing: dict[str, int] = {}

    def __getattr__(self, name: str) -> Any:
        async def request(*args: object, **options: object) -> None:
            self.sent.append(" ".join([name, *map(str, args)]))
            if name in self.failing:
                raise AriError("POST", "/x", self.failing[name], "refused")

        return request


Wired = tuple[AriPbx, Client, list[CallEvent | LegEvent]]


@pytest.fixture
def wired() -> Wired:
    seen: list[CallEvent | LegEvent] = []
    settings = AriSettings(url="http://127.0.0.1:1", password=SecretStr("x"))
    pbx = AriPbx(settings, ReconnectSettings(), seen.append, lambda up: None)
    client = Client()
    pbx._client = client  # type: ignore[assignment]
    pbx._read_event({"type": "StasisStart", "channel": {"id": CALL}, "args": []})
    pbx._legs[LEG] = CALL  # the agent's leg it rang, answered and bridged
    seen.clear()
    return pbx, client, seen


def event(kind: str, channel: str, **more: object) -> dict[str, Any]:
    return {"type": kind, "channel": {"id": channel}, **more}


async def answered(pbx: AriPbx, mode: str) -> None:
    """The supervisor's phone was rung and answered (and the snoop channel is up)."""
    pbx.send(Supervise(CALL, SESSION, mode, "PJSIP/supervisor1", LEG, '"listen: anna"'))
    await pbx.flush()
    pbx._read_event(event("StasisStart", SESSION, args=["supervisor", CALL]))
    await pbx.flush()
    if mode != "barge":
        pbx._read_event(event("StasisStart", SNOOP, args=["snoop", CALL]))
        await pbx.flush()


async def test_listening_snoops_both_ways_on_the_agents_leg_into_the_sessions_bridge(
    wired: Wired,
) -> None:
    pbx, client, seen = wired
    await answered(pbx, "listen")
    assert client.sent == [
        f'originate {SESSION} PJSIP/supervisor1 ivr supervisor,{CALL} "listen: anna" 30',
        f"snoop {LEG} {SNOOP} both none ivr snoop,{CALL}",
        f"create_bridge {SESSION}-bridge",
        f"add_to_bridge {SESSION}-bridge ['{SESSION}', '{SNOOP}']",
    ]
    # None of the session's channels reached the core as a call.
    assert seen == []
    # The supervisor hangs up: the snoop and the bridge go, the core hears why.
    client.sent.clear()
    pbx._read_event(event("ChannelDestroyed", SESSION, cause=16))
    await pbx.flush()
    assert seen == [SupervisionEnded(CALL, SESSION, "supervisor-hung-up")]
    assert f"hang_up {SNOOP}" in client.sent and f"destroy_bridge {SESSION}-bridge" in client.sent
    assert not any(CALL + " " in f"{line} " and LEG not in line for line in client.sent)


async def test_whispering_speaks_only_towards_the_agent(wired: Wired) -> None:
    pbx, client, _ = wired
    await answered(pbx, "whisper")
    assert f"snoop {LEG} {SNOOP} both out ivr snoop,{CALL}" in client.sent


async def test_barging_puts_the_phone_in_the_calls_own_bridge(wired: Wired) -> None:
    pbx, client, seen = wired
    await answered(pbx, "barge")
    assert client.sent[1:] == [f"add_to_bridge {CALL}-bridge ['{SESSION}']"]
    # The agent hangs up: the session ends with the agent's leg.
    pbx._read_event(event("ChannelDestroyed", LEG, cause=16))
    await pbx.flush()
    assert f"hang_up {SESSION}" in client.sent
    pbx._read_event(event("ChannelDestroyed", SESSION, cause=16))
    assert seen == [
        AgentLegEnded(CALL, LEG, "unreachable"),
        SupervisionEnded(CALL, SESSION, "agent-left"),
    ]


async def test_the_callers_hang_up_ends_the_session(wired: Wired) -> None:
    pbx, client, seen = wired
    await answered(pbx, "listen")
    pbx._read_event(event("StasisEnd", CALL))
    await pbx.flush()
    assert f"hang_up {SESSION}" in client.sent
    pbx._read_event(event("ChannelDestroyed", SNOOP, cause=16))
    pbx._read_event(event("ChannelDestroyed", SESSION, cause=16))
    assert seen == [CallHungUp(CALL), SupervisionEnded(CALL, SESSION, "call-ended")]


async def test_the_api_stops_a_session_and_the_call_goes_on(wired: Wired) -> None:
    pbx, client, seen = wired
    await answered(pbx, "listen")
    client.sent.clear()
    pbx.send(EndSupervision(CALL, SESSION))
    await pbx.flush()
    assert sorted(client.sent) == sorted(
        [f"hang_up {SESSION}", f"hang_up {SNOOP}", f"destroy_bridge {SESSION}-bridge"]
    )
    pbx._read_event(event("ChannelDestroyed", SNOOP, cause=16))
    pbx._read_event(event("ChannelDestroyed", SESSION, cause=16))
    assert seen == [SupervisionEnded(CALL, SESSION, "stopped")]


async def test_a_phone_that_never_answers_or_cannot_be_called_ends_the_session(
    wired: Wired,
) -> None:
    pbx, client, seen = wired
    pbx.send(Supervise(CALL, SESSION, "listen", "PJSIP/supervisor1", LEG))
    await pbx.flush()
    pbx._read_event(event("ChannelDestroyed", SESSION, cause=17))
    await pbx.flush()
    assert seen == [SupervisionEnded(CALL, SESSION, "busy")]
    client.failing["originate"] = 400
    pbx.send(Supervise(CALL, "s2", "listen", "PJSIP/nobody", LEG))
    await pbx.flush()
    assert seen[-1] == SupervisionEnded(CALL, "s2", "unreachable")


async def test_a_snoop_refused_because_the_agent_left_takes_the_phone_down(wired: Wired) -> None:
    pbx, client, seen = wired
    client.failing["snoop"] = 404
    pbx.send(Supervise(CALL, SESSION, "whisper", "PJSIP/supervisor1", LEG))
    await pbx.flush()
    pbx._read_event(event("StasisStart", SESSION, args=["supervisor", CALL]))
    await pbx.flush()
    assert f"hang_up {SESSION}" in client.sent
    pbx._read_event(event("ChannelDestroyed", SESSION, cause=16))
    assert seen == [SupervisionEnded(CALL, SESSION, "failed")]


async def test_after_a_reconnect_sessions_gone_end_and_strays_are_hung_up(wired: Wired) -> None:
    pbx, client, seen = wired
    await answered(pbx, "listen")
    stray = {"id": "old-sv", "dialplan": {"app_name": "Stasis", "app_data": "ivr,supervisor,X"}}
    caller = {"id": CALL, "dialplan": {"app_name": "Stasis", "app_data": "ivr"}}
    leg = {"id": LEG, "dialplan": {"app_name": "Stasis", "app_data": f"ivr,agent,{CALL}"}}

    async def channels() -> list[dict[str, Any]]:
        return [stray, caller, leg]

    client.channels = channels  # type: ignore[attr-defined]  # Client makes its methods up
    client.sent.clear()
    await pbx._resync()
    await pbx.flush()
    assert SupervisionEnded(CALL, SESSION, "lost") in seen
    assert "hang_up old-sv" in client.sent
    # The stray was never taken for a caller.
    assert not any(getattr(e, "call_id", "") == "old-sv" for e in seen)
