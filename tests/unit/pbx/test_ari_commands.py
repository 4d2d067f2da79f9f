"""AriPbx sends no request that is bound to fail: none on a caller whose hang-up Asterisk has
announced, and no second destroy of a bridge the core already closed."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from pydantic import SecretStr

from ivr.calls.commands import Play
from ivr.calls.events import CallEvent, CallHungUp, PromptFinished
from ivr.calls.legs import Bridge, CloseBridge, LegEvent, StartMusic, StopMusic
from ivr.config import AriSettings, ReconnectSettings
from ivr.pbx.ari.pbx import AriPbx

CALL, LEG = "1796000000.1", "1796000000.1-a1"


class Client:
    """Stands for AriClient: every request it gets, as `name args`; all succeed."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def __getattr__(self, name: str) -> Any:
        async def request(*args: object, **options: object) -> None:
            self.sent.append(" ".join([name, *map(str, args)]))

        return request


@pytest.fixture
def wired() -> tuple[AriPbx, Client, list[CallEvent | LegEvent]]:
    seen: list[CallEvent | LegEvent] = []
    settings = AriSettings(url="http://127.0.0.1:1", password=SecretStr("x"))
    pbx = AriPbx(settings, ReconnectSettings(), seen.append, lambda up: None)
    client = Client()
    pbx._client = client  # type: ignore[assignment]
    pbx._read_event({"type": "StasisStart", "channel": {"id": CALL}, "args": []})
    return pbx, client, seen


async def test_music_after_a_prompt_cut_by_the_callers_hang_up_is_not_asked_for(
    wired: tuple[AriPbx, Client, list[CallEvent | LegEvent]], caplog: pytest.LogCaptureFixture
) -> None:
    pbx, client, seen = wired
    # As Asterisk sends them when a caller hangs up during an announcement; the core answers
    # the prompt's end with music before it learns of the hang-up.
    pbx._read_event({"type": "ChannelHangupRequest", "channel": {"id": CALL}})
    pbx.send(StopMusic(CALL))
    pbx._read_event(
        {"type": "PlaybackFinished", "playback": {"id": "p1", "target_uri": f"channel:{CALL}"}}
    )
    pbx.send(StartMusic(CALL))
    pbx.send(Play(CALL, "p2", ("sound:beep",), "en"))
    pbx._read_event({"type": "StasisEnd", "channel": {"id": CALL}})
    with caplog.at_level(logging.WARNING, logger="ivr.ari"):
        await pbx.flush()

    assert client.sent == []
    assert [r.getMessage() for r in caplog.records] == []
    # Nobody waits for the prompt that was never played (as when Asterisk refused it).
    assert seen[-3:] == [PromptFinished(CALL, "p1"), CallHungUp(CALL), PromptFinished(CALL, "p2")]
    # Nothing is kept of the call once its commands have drained.
    assert pbx._leaving == set() and pbx._tails == {}


async def test_a_bridge_the_core_closed_is_not_destroyed_again_when_the_caller_leaves(
    wired: tuple[AriPbx, Client, list[CallEvent | LegEvent]],
) -> None:
    pbx, client, _ = wired
    pbx.send(Bridge(CALL, LEG))
    pbx.send(CloseBridge(CALL))  # the agent hung up; the caller stays for a survey
    await pbx.flush()
    pbx._read_event({"type": "StasisEnd", "channel": {"id": CALL}})
    await pbx.flush()

    bridge = f"{CALL}-bridge"
    assert client.sent == [
        f"create_bridge {bridge}",
        f"add_to_bridge {bridge} {[CALL, LEG]}",
        f"destroy_bridge {bridge}",
    ]


async def test_a_bridge_still_up_when_the_caller_leaves_is_destroyed_once(
    wired: tuple[AriPbx, Client, list[CallEvent | LegEvent]],
) -> None:
    pbx, client, _ = wired
    pbx.send(Bridge(CALL, LEG))
    await pbx.flush()
    pbx._read_event({"type": "StasisEnd", "channel": {"id": CALL}})
    await pbx.flush()

    assert client.sent[-1] == f"destroy_bridge {CALL}-bridge"
    assert sum(1 for sent in client.sent if sent.startswith("destroy_bridge")) == 1
