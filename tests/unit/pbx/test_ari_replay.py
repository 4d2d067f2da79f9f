"""AriPbx against ARI traffic recorded from the lab's Asterisk 22 (see record_ari.py).

Each test plays the core's part: it sends the commands the core would send in reaction to the
events it got, and checks the core events AriPbx emits and the REST requests it made. The
replay fails a test on any request the recording does not have, or with another query.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest

from ivr.calls.commands import Answer, HangUp, Play, StopPlayback
from ivr.calls.events import (
    CallArrived,
    Caller,
    CallHungUp,
    CallResumed,
    DigitPressed,
    PromptFinished,
)
from ivr.calls.legs import (
    AgentAnswered,
    AgentLegEnded,
    Bridge,
    DropLeg,
    RingAgent,
    StartMusic,
    StopMusic,
)
from ivr.pbx.ari.pbx import AriPbx
from tests.unit.pbx.ari_replay import AdapterRun, AriReplay, Cassette

USER = "ivr"
PASSWORD = "replay-secret"
# The lab caller's caller ID as SIP carried it: letters in the number, a tab in the name.
LAB_CALLER = Caller("+79001234567", "Ivan Petrov")
# After each connect the adapter asks for the event types it reads, and no others.
FILTER = "PUT /ari/applications/ivr/eventFilter"


@dataclass
class Played:
    """A cassette being played to a running AriPbx."""

    cassette: Cassette
    replay: AriReplay
    run: AdapterRun

    @property
    def pbx(self) -> AriPbx:
        return self.run.pbx

    @property
    def ids(self) -> dict[str, str]:
        return self.cassette.ids

    async def finished(self) -> None:
        """The whole cassette was played, nothing differed, and no core event is left over."""
        await self.replay.played()
        await self.pbx.flush()
        assert self.run.pending() == []


Player = Callable[..., Awaitable[Played]]


@pytest.fixture
async def play() -> AsyncIterator[Player]:
    started: list[Played] = []

    async def start(name: str, cassette: Cassette | None = None) -> Played:
        cassette = cassette or Cassette.load(name)
        replay = await AriReplay(cassette, user=USER, password=PASSWORD).start()
        run = AdapterRun(replay.url, USER, PASSWORD, cassette.app)
        started.append(Played(cassette, replay, run))
        await run.start()
        return started[-1]

    yield start
    for played in reversed(started):
        await played.run.close()
        await played.replay.close()


async def test_a_call_is_answered_hears_a_prompt_barges_in_and_hangs_up(play: Player) -> None:
    played = await play("call_barge_in")
    call, prompt, beep = played.ids["call"], played.ids["prompt"], played.ids["after_key"]
    run, pbx = played.run, played.pbx

    assert await run.next_event() == CallArrived(call, "100", LAB_CALLER)
    pbx.send(Answer(call))
    pbx.send(Play(call, prompt, ("sound:demo-congrats",), "en"))
    assert await run.next_event() == DigitPressed(call, "1")
    pbx.send(StopPlayback(call, prompt))
    assert await run.next_event() == PromptFinished(call, prompt)
    pbx.send(Play(call, beep, ("sound:beep",), "en"))
    assert await run.next_event() == PromptFinished(call, beep)
    assert await run.next_event() == CallHungUp(call)

    await played.finished()
    assert played.replay.calls() == [
        FILTER,
        "GET /ari/channels",
        f"POST /ari/channels/{call}/answer",
        f"POST /ari/channels/{call}/play/{prompt}",
        f"DELETE /ari/playbacks/{prompt}",
        f"POST /ari/channels/{call}/play/{beep}",
    ]
    assert played.replay.requests[3].query == {"media": "sound:demo-congrats", "lang": "en"}
    assert played.replay.connections == 1
    assert run.states == [True]


async def test_an_agent_is_rung_busy_then_answers_and_is_bridged_until_hang_up(
    play: Player,
) -> None:
    played = await play("agent_answers")
    call, busy, leg = played.ids["call"], played.ids["busy_leg"], played.ids["agent_leg"]
    run, pbx = played.run, played.pbx
    shown = '"returns: Ivan" <79001234567>'

    assert await run.next_event() == CallArrived(call, "200", Caller("79001234567", "Ivan"))
    pbx.send(Answer(call))
    pbx.send(StartMusic(call, "default"))
    pbx.send(RingAgent(call, busy, "agent2", "PJSIP/agent2", shown, 15))
    assert await run.next_event() == AgentLegEnded(call, busy, "busy")
    pbx.send(RingAgent(call, leg, "agent1", "PJSIP/agent1", shown, 15.4))
    assert await run.next_event() == AgentAnswered(call, leg)
    pbx.send(StopMusic(call))
    pbx.send(Bridge(call, leg))
    assert await run.next_event() == CallHungUp(call)
    pbx.send(DropLeg(call, leg))
    assert await run.next_event() == AgentLegEnded(call, leg, "hangup")

    await played.finished()
    bridge = f"/ari/bridges/{call}-bridge"
    assert played.replay.calls() == [
        FILTER,
        "GET /ari/channels",
        f"POST /ari/channels/{call}/answer",
        f"POST /ari/channels/{call}/moh",
        f"POST /ari/channels/{busy}",
        f"POST /ari/channels/{leg}",
        f"DELETE /ari/channels/{call}/moh",
        f"POST {bridge}",
        f"POST {bridge}/addChannel",
        # The adapter takes the bridge down itself once the caller has gone.
        f"DELETE {bridge}",
        f"DELETE /ari/channels/{leg}",
    ]
    ring = played.replay.requests[5]
    assert ring.query == {
        "endpoint": "PJSIP/agent1",
        "app": "ivr",
        "appArgs": f"agent,{call}",
        "callerId": shown,
        "timeout": "15",
    }
    assert played.replay.requests[8].query == {"channel": f"{call},{leg}"}


async def test_commands_for_a_channel_already_gone_end_quietly(
    play: Player, caplog: pytest.LogCaptureFixture
) -> None:
    played = await play("gone_channel")
    call, prompt = played.ids["call"], played.ids["prompt"]
    run, pbx = played.run, played.pbx

    assert await run.next_event() == CallArrived(call, "100", Caller("79005556677", "Lab Caller"))
    pbx.send(Answer(call))
    assert await run.next_event() == CallHungUp(call)
    await pbx.flush()  # the answer is long done, as when the recording sent what follows
    # A core that has not taken in the hang-up yet still sends commands: each gets a 404.
    with caplog.at_level(logging.WARNING, logger="ivr.ari"):
        pbx.send(StopMusic(call))
        pbx.send(Play(call, prompt, ("sound:hello-world",), "en"))
        pbx.send(HangUp(call))
        # Nobody waits for a prompt that never played.
        assert await run.next_event() == PromptFinished(call, prompt)
        await played.finished()

    assert played.replay.calls() == [
        FILTER,
        "GET /ari/channels",
        f"POST /ari/channels/{call}/answer",
        f"DELETE /ari/channels/{call}/moh",
        f"POST /ari/channels/{call}/play/{prompt}",
        f"DELETE /ari/channels/{call}",
    ]
    failed = [
        (record.fields["command"], record.fields["error"][:8])  # type: ignore[attr-defined]
        for record in caplog.records
        if record.getMessage() == "ari.command_failed"
    ]
    # Stopping music that is gone anyway is no failure; the prompt and the hang-up are.
    assert failed == [("Play", "HTTP 404"), ("HangUp", "HTTP 404")]


async def test_a_404_for_a_call_whose_stasis_end_was_missed_ends_the_call(play: Player) -> None:
    recorded = Cassette.load("gone_channel")
    # The same traffic, but the event socket lost the hang-up (as in a blip at that moment).
    lost = ("ChannelHangupRequest", "StasisEnd")
    missed = [e for e in recorded.timeline if (e.get("event") or {}).get("type") not in lost]
    cassette = Cassette(recorded.name, recorded.app, recorded.ids, missed)
    played = await play("gone_channel", cassette)
    call, prompt = played.ids["call"], played.ids["prompt"]

    assert isinstance(await played.run.next_event(), CallArrived)
    played.pbx.send(Answer(call))
    played.pbx.send(StopMusic(call))
    played.pbx.send(Play(call, prompt, ("sound:hello-world",), "en"))
    assert await played.run.next_event() == PromptFinished(call, prompt)
    assert await played.run.next_event(timeout=1.0) == CallHungUp(call)


async def test_after_a_reconnect_calls_still_there_resume_and_gone_ones_end(
    play: Player,
) -> None:
    played = await play("reconnect_resync")
    kept, gone, late = played.ids["kept"], played.ids["gone"], played.ids["late"]
    run, pbx = played.run, played.pbx

    assert await run.next_event() == CallArrived(kept, "100", Caller("79001110001", "Lab Caller"))
    pbx.send(Answer(kept))
    pbx.send(StartMusic(kept, "default"))
    assert await run.next_event() == CallArrived(gone, "100", Caller("79002220002", "Lab Caller"))
    pbx.send(Answer(gone))
    pbx.send(StartMusic(gone, "default"))
    # The recording's event socket drops here; the adapter reconnects by itself.
    await run.wait_link(up=True, count=2)
    # The caller who called meanwhile is in Asterisk's dialplan, not in the app: not adopted.
    assert await run.next_events(2) == [CallHungUp(gone, lost=True), CallResumed(kept)]
    # Each resync ends by telling the core which channels the PBX has: the kept caller, and
    # the late one in the dialplan (a daemon may be waiting for it to come back to the app).
    assert kept in run.synced[-1] and gone not in run.synced[-1] and late in run.synced[-1]
    assert len(run.synced) == 2
    pbx.send(StartMusic(kept, "default"))
    assert await run.next_event() == CallHungUp(kept)

    await played.finished()
    assert run.states == [True, False, True]
    assert played.replay.connections == 2
    assert played.replay.calls() == [
        FILTER,
        "GET /ari/channels",
        f"POST /ari/channels/{kept}/answer",
        f"POST /ari/channels/{kept}/moh",
        f"POST /ari/channels/{gone}/answer",
        f"POST /ari/channels/{gone}/moh",
        FILTER,
        "GET /ari/channels",
        f"POST /ari/channels/{kept}/moh",
    ]
    assert late not in str(played.replay.calls())


async def test_after_a_reconnect_an_agents_leg_in_a_bridge_is_no_new_caller(play: Player) -> None:
    played = await play("reconnect_agent_call")
    call, leg = played.ids["call"], played.ids["agent_leg"]
    run, pbx = played.run, played.pbx

    assert await run.next_event() == CallArrived(call, "200", Caller("79001234567", "Ivan"))
    pbx.send(Answer(call))
    pbx.send(RingAgent(call, leg, "agent1", "PJSIP/agent1", "Ivan <79001234567>", 15))
    assert await run.next_event() == AgentAnswered(call, leg)
    pbx.send(Bridge(call, leg))
    # The recording's event socket drops here, while they talk.
    await run.wait_link(up=True, count=2)
    assert await run.next_event() == CallResumed(call)
    assert {call, leg} <= run.synced[-1]
    assert await run.next_event() == CallHungUp(call)
    pbx.send(DropLeg(call, leg))
    assert await run.next_event() == AgentLegEnded(call, leg, "hangup")
    await played.finished()


async def test_a_call_waiting_in_the_app_at_start_is_adopted_and_served(play: Player) -> None:
    played = await play("adopt_on_start")
    call, prompt = played.ids["call"], played.ids["prompt"]
    run, pbx = played.run, played.pbx

    # No StasisStart comes for it: the channel list at connect is all there is.
    assert await run.next_event() == CallArrived(call, "400", LAB_CALLER)
    pbx.send(Answer(call))
    pbx.send(Play(call, prompt, ("sound:beep",), "en"))
    assert await run.next_event() == PromptFinished(call, prompt)
    pbx.send(HangUp(call))
    assert await run.next_event() == CallHungUp(call)

    await played.finished()
    assert played.replay.calls() == [
        FILTER,
        "GET /ari/channels",
        f"POST /ari/channels/{call}/answer",
        f"POST /ari/channels/{call}/play/{prompt}",
        f"DELETE /ari/channels/{call}",
    ]


async def test_with_a_wrong_password_the_link_never_comes_up_and_keeps_trying() -> None:
    async with AriReplay(Cassette.load("call_barge_in"), user=USER, password=PASSWORD) as replay:
        run = AdapterRun(replay.url, USER, "not-the-password")
        task = asyncio.create_task(run.pbx.run())
        try:
            await replay.until(lambda: len(replay.problems) >= 3)
        finally:
            await run.pbx.close()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        assert run.states == []
        assert replay.requests == [] and replay.connections == 0
        assert all(problem.startswith("unauthenticated") for problem in replay.problems)


async def test_the_replay_fails_a_request_the_recording_does_not_have(play: Player) -> None:
    played = await play("call_barge_in")
    call, prompt = played.ids["call"], played.ids["prompt"]

    assert isinstance(await played.run.next_event(), CallArrived)
    played.pbx.send(Answer(call))
    played.pbx.send(Play(call, prompt, ("sound:demo-congrats",), "ru"))
    assert await played.run.next_event() == DigitPressed(call, "1")
    with pytest.raises(AssertionError, match="lang"):
        await played.replay.played(timeout=0.5)
