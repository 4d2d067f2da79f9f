"""The walking skeleton on the lab: real SIP calls from SIPp with RFC 4733 keys into Asterisk 22."""

from __future__ import annotations

import asyncio

from ivr.lab.paths import LabPaths
from ivr.lab.sipp import CallScript
from tests.integration.lab import AriWatch, DaemonProcess, ari_time, sip_call

MENU = ["hello", "vm-press", "digits/1", "digits/2", "vm-and", "digits/0"]


async def test_pressing_2_plays_the_returns_prompt(
    lab_paths: LabPaths, daemon: DaemonProcess, watch: AriWatch
) -> None:
    call = asyncio.create_task(sip_call(lab_paths, CallScript("100", "71000000001", keys="2")))
    channel = await watch.channel_of("71000000001")
    await watch.played(channel, "pls-hold-while-try")
    await watch.ended(channel)
    assert await call == 0, "SIPp saw the call fail"
    sounds = watch.sounds(channel)
    # The key interrupted the greeting (barge-in), then returns, then goodbye.
    assert sounds[-2:] == ["pls-hold-while-try", "goodbye"]
    assert sounds[0] == "hello" and len(sounds) < len(MENU) + 2
    daemon.wait_log(rf"event=call.menu_choice call={channel} plan=shop node=start option=2")
    daemon.wait_log(rf"event=call.ended call={channel} outcome=completed")
    assert 'ivr_calls_total{outcome="completed",plan="shop"} 1.0' in daemon.metrics()


async def test_no_key_replays_the_menu_then_says_goodbye(
    lab_paths: LabPaths, daemon: DaemonProcess, watch: AriWatch
) -> None:
    call = asyncio.create_task(sip_call(lab_paths, CallScript("100", "71000000002")))
    channel = await watch.channel_of("71000000002")
    await watch.ended(channel, timeout=90)
    assert await call == 0
    again = ["please-try-again", *MENU]
    assert watch.sounds(channel) == [*MENU, *again, *again, "goodbye"]
    daemon.wait_log(rf"event=call.ended call={channel} outcome=no_choice")


async def test_a_wrong_key_is_said_to_be_invalid_and_the_menu_comes_again(
    lab_paths: LabPaths, daemon: DaemonProcess, watch: AriWatch
) -> None:
    script = CallScript("100", "71000000003", keys="7,w7,1", first_key_after=5.5)
    call = asyncio.create_task(sip_call(lab_paths, script))
    channel = await watch.channel_of("71000000003")
    await watch.played(channel, "pbx-invalid")
    await watch.played(channel, "one-moment-please", timeout=30)
    await watch.ended(channel)
    assert await call == 0
    sounds = watch.sounds(channel)
    assert sounds[: len(MENU) + 2] == [*MENU, "pbx-invalid", "hello"]
    assert sounds[-2:] == ["one-moment-please", "goodbye"]
    daemon.wait_log(rf"event=call.menu_invalid call={channel} node=start attempt=1 option=7")


async def test_a_number_without_a_plan_is_told_at_once_not_held(
    lab_paths: LabPaths, daemon: DaemonProcess, watch: AriWatch
) -> None:
    # The daemon refuses the call into the dialplan's `unavailable` label (extensions.conf):
    # the fallback at once, not after the 20 s a call waits for a daemon to come back.
    call = asyncio.create_task(sip_call(lab_paths, CallScript("199", "71000000009")))
    channel = await watch.channel_of("71000000009")
    created = await watch.wait_for(
        lambda e: e.get("type") == "ChannelCreated" and e["channel"]["id"] == channel
    )
    told = await watch.wait_for(
        lambda e: (
            e.get("type") == "ChannelDialplan"
            and e["channel"]["id"] == channel
            and e.get("dialplan_app") == "Playback"
            and e.get("dialplan_app_data") == "ss-noservice"
        ),
        timeout=10,
    )
    assert ari_time(told) - ari_time(created) < 3
    daemon.wait_log(rf'event=call.refused call={channel} number=199 why="no plan for this number"')
    assert await call == 0
    held = [
        e
        for e in watch.events
        if e.get("type") == "ChannelDialplan"
        and e["channel"]["id"] == channel
        and e.get("dialplan_app") == "MusicOnHold"
    ]
    assert held == []
