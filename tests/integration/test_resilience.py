"""The skeleton under stress on the lab: Asterisk restarts, hostile caller ID, SIGTERM mid-call."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp

from ivr.lab import asterisk
from ivr.lab.paths import REPO, LabPaths
from ivr.lab.sipp import CallScript
from tests.integration.lab import (
    ARI,
    AmiListen,
    AriWatch,
    DaemonProcess,
    Event,
    ari_time,
    sip_call,
)

HOSTILE = "Evil\r\nVariable: GLOBAL(PWNED)=1\r\nInjected: yes\r\n" + "A" * 4096


async def test_healthz_follows_an_asterisk_restart_and_the_next_call_works(
    lab_paths: LabPaths, credentials: dict[str, str], daemon: DaemonProcess
) -> None:
    assert daemon.health() == (
        200,
        {"ok": True, "role": "single", "ari": True, "ami": True, "line": "open", "closed": []},
    )
    await asyncio.to_thread(asterisk.stop, lab_paths)
    await asyncio.to_thread(lambda: daemon.wait_health(503, 10, ari=False, ami=False))
    await asyncio.to_thread(asterisk.start, lab_paths, credentials)
    # Within 10 s of Asterisk answering again, both links are back.
    await asyncio.to_thread(daemon.wait_health, 200, 10)
    assert 'ivr_pbx_connected{interface="ari"} 1.0' in daemon.metrics()
    async with AriWatch(credentials) as watch:
        script = CallScript("100", "71000000010", keys="1")
        call = asyncio.create_task(sip_call(lab_paths, script))
        channel = await watch.channel_of("71000000010")
        await watch.played(channel, "one-moment-please")
        await watch.ended(channel)
        assert await call == 0


async def test_calls_asterisk_drops_in_a_restart_end_as_lost_and_the_daemon_is_back_at_once(
    lab_paths: LabPaths, credentials: dict[str, str], daemon: DaemonProcess
) -> None:
    mark = len(daemon.lines)
    # A caller who presses nothing stays in the menu (3 tries of 5 s) while Asterisk restarts.
    script = CallScript("100", "71000000011", wait_for_bye=40)
    caller = asyncio.create_task(sip_call(lab_paths, script))
    deadline = time.monotonic() + 10
    while not daemon.notes("arrived", mark):
        assert time.monotonic() < deadline, "the call never arrived"
        await asyncio.sleep(0.1)
    call = daemon.notes("arrived", mark)[0]["call"]
    await asyncio.to_thread(asterisk.stop, lab_paths)
    await asyncio.to_thread(asterisk.start, lab_paths, credentials)
    seconds = await asyncio.to_thread(daemon.wait_health, 200, 10)
    ended = await asyncio.to_thread(daemon.wait_notes, "ended", [call], 10, mark)
    # Asterisk dropped the call: nobody can say the caller gave up, nor that anyone answered.
    assert ended[call]["outcome"] == "lost"
    assert daemon.notes("queue_abandoned", mark) == []
    assert seconds <= 5, f"healthy again {seconds:.1f} s after Asterisk answered"
    caller.cancel()


async def test_hostile_caller_id_reaches_nothing_unescaped(
    lab_paths: LabPaths, credentials: dict[str, str], daemon: DaemonProcess, watch: AriWatch
) -> None:
    async with AmiListen(credentials) as ami:
        # A caller ID with CR/LF and 4 KB of text, as an upstream PBX could send it.
        async with aiohttp.ClientSession() as http:
            key = f"{credentials['IVR_ARI_USER']}:{credentials['IVR_ARI_PASSWORD']}"
            async with http.post(
                f"{ARI}/ari/channels",
                params={"api_key": key},
                json={
                    "endpoint": "Local/100@from-shop",
                    "app": "labwatch",
                    "callerId": f'"{HOSTILE}" <71000000020>',
                },
            ) as response:
                assert response.status == 200, await response.text()
                outer = (await response.json())["id"]
        inner = await watch.wait_for(
            lambda e: (
                e.get("type") == "ChannelCreated"
                and e["channel"]["name"].startswith("Local/100@from-shop")
                and e["channel"]["name"].endswith(";2")
            )
        )
        channel = inner["channel"]["id"]
        await watch.played(channel, "hello")
        await watch.request("DELETE", f"/channels/{outer}")
        summary = await ami.wait_for(
            lambda m: ("UserEvent", "IvrCallEnded") in m and ("Uniqueid", channel) in m
        )
    headers = dict(summary)
    assert "Injected" not in headers and "Variable" not in headers
    assert headers["CallerIDName"].startswith("Evil Variable: GLOBAL(PWNED)=1 Injected: yes AAA")
    assert len(headers["CallerIDName"]) <= 64
    assert headers["CallerIDNum"] == "71000000020"
    # The log kept one line per event: nothing the caller sent started a line of its own.
    line = daemon.wait_log(rf"event=call.arrived call={channel}")
    assert "\r" not in line and "\\x" not in line.split("caller_name=")[0]
    assert all(entry.startswith("ts=") for entry in daemon.lines)
    # And the daemon serves the next caller, whose SIP display name is 4 KB long.
    script = CallScript("100", "71000000021", caller_name="B" * 4096, keys="2")
    call = asyncio.create_task(sip_call(lab_paths, script))
    second = await watch.channel_of("71000000021")
    await watch.played(second, "pls-hold-while-try")
    assert await call == 0
    assert daemon.health()[0] == 200


async def test_sigterm_lets_calls_finish_their_step_and_hands_back_the_rest(
    lab_paths: LabPaths, credentials: dict[str, str], watch: AriWatch, tmp_path: Path
) -> None:
    daemon = DaemonProcess(credentials, tmp_path, REPO / "tests" / "dialplans").start()
    await asyncio.to_thread(daemon.wait_health, 200, 20)
    waiting = asyncio.create_task(sip_call(lab_paths, CallScript("100", "71000000030")))
    channel = await watch.channel_of("71000000030")
    await watch.played(channel, "hello")
    started = time.monotonic()
    code = await asyncio.to_thread(daemon.stop, 10)
    assert code == 0
    assert time.monotonic() - started < 10
    daemon.wait_log(rf"event=call.handed_back call={channel}")
    daemon.wait_log(r"event=daemon.stopped")
    # The caller in the menu was not left in silence: Asterisk's dialplan holds them on music
    # and tries the app again every second, 20 times (extensions.conf), for a daemon that
    # comes back. None does here: after the retry window the caller is told the service is
    # unavailable.
    told = await watch.wait_for(dialplan_app(channel, "Playback", "ss-noservice"), timeout=40)
    held = [e for e in watch.events if dialplan_app(channel, "MusicOnHold")(e)]
    assert len(held) == 20
    assert 19 <= ari_time(told) - ari_time(held[0]) <= 25
    assert await waiting == 0

    # With the daemon gone, a new caller is held the same way; a daemon that starts within
    # the retry window (here after 3 s) takes the call and serves it from the top of the plan.
    late = asyncio.create_task(
        sip_call(lab_paths, CallScript("100", "71000000031", keys="2", first_key_after=8))
    )
    other = await watch.channel_of("71000000031")
    await watch.wait_for(
        lambda e: (
            e.get("type") == "ChannelVarset"
            and e["channel"]["id"] == other
            and e.get("variable") == "IVR_TRIES"
            and e.get("value") == "3"
        ),
        timeout=10,
    )
    assert len([e for e in watch.events if dialplan_app(other, "MusicOnHold")(e)]) >= 2
    daemon = DaemonProcess(credentials, tmp_path, REPO / "tests" / "dialplans").start()
    try:
        await asyncio.to_thread(daemon.wait_health, 200, 20)
        await asyncio.to_thread(daemon.wait_log, rf"event=call.arrived call={other}", 5)
        await watch.played(other, "hello")
        await watch.played(other, "pls-hold-while-try", timeout=20)
        assert await late == 0
        await asyncio.to_thread(
            daemon.wait_log, rf"event=call.ended call={other} outcome=completed", 10
        )
        assert not [e for e in watch.events if dialplan_app(other, "Playback")(e)]
    finally:
        daemon.stop()


def dialplan_app(channel: str, app: str, data: str | None = None) -> Callable[[Event], bool]:
    """Matches ARI's ChannelDialplan of `channel` entering dialplan application `app`."""
    return lambda e: (
        e.get("type") == "ChannelDialplan"
        and e["channel"]["id"] == channel
        and e.get("dialplan_app") == app
        and (data is None or e.get("dialplan_app_data") == data)
    )
