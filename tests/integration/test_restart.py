"""Restarts on the lab: a crash (SIGKILL) or a deploy (SIGTERM) loses no caller and no agent.

Every call is checkpointed in the store and every agent's state is kept there; a daemon that
starts rebuilds its calls from the store and ARI's channel list. Calls that come back into the
Stasis app from Asterisk's dialplan (config/asterisk/extensions.conf holds them on music and
retries the app for about 20 s) are taken by whichever daemon is connected.

Plan: tests/dialplans/restart/restart.yaml (number 600): 1 waits in queue `desk` (any in-house
agent, no wrap-up), 2 goes to a second menu (`more`) whose 9 says goodbye. Agents:
tests/agents/roster.yaml with SIPp softphones.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from ivr.lab.paths import REPO, LabPaths
from ivr.lab.sipp import CallScript
from ivr.lab.softphones.agent import LabAgent
from tests.integration.lab import (
    AmiListen,
    AriWatch,
    DaemonProcess,
    Event,
    ari_time,
    hang_up_leftovers,
    log_fields,
    log_time,
    rtp_sent,
    sip_call,
)

PLANS = REPO / "tests" / "dialplans" / "restart"
ROSTER = REPO / "tests" / "agents"
NUMBER = "600"
START = "hello"  # the first sound of the plan's start menu
MORE = "vm-options"  # the first sound of the second menu
# The three talking agents stay on their calls this long: across the kill, the restart and the
# checks, and until the fast agent4 has drained the line (so the line is answered by one agent,
# one caller after another).
TALK = 25.0
CALLERS = ("710000006", "710000007", "710000008")  # this file's caller numbers start so


@pytest.fixture(autouse=True)
def no_leftovers(credentials: dict[str, str]) -> Iterator[None]:
    """A failed test's callers (and their agents' legs) are hung up, not left to the next."""
    yield
    hang_up_leftovers(credentials, CALLERS)


@pytest.fixture
def shop(credentials: dict[str, str], tmp_path: Path) -> Iterator[DaemonProcess]:
    daemon = DaemonProcess(credentials, tmp_path, PLANS, ROSTER).start()
    daemon.wait_health(200, timeout=20)
    yield daemon
    daemon.stop()


def agent_states(daemon: DaemonProcess) -> list[tuple[str, str, str | None]]:
    status, agents = daemon.api("GET", "/api/agents")
    assert status == 200, agents
    return [(a["id"], a["state"], a["pause_reason"]) for a in agents]


def desk(daemon: DaemonProcess) -> dict[str, Any]:
    status, queues = daemon.api("GET", "/api/queues")
    assert status == 200, queues
    return next(q for q in queues if q["queue"] == "desk")


def channel_name(watch: AriWatch, channel: str) -> str:
    """The name (`PJSIP/trunk-0000002a`) ARI gave `channel` when it was created."""
    return next(
        str(e["channel"]["name"])
        for e in watch.events
        if e.get("type") == "ChannelCreated" and e["channel"]["id"] == channel
    )


def started(channel: str, sound: str, after: float) -> Callable[[Event], bool]:
    """Matches ARI's PlaybackStarted of `sound` on `channel` later than `after` (Unix time)."""
    return lambda e: (
        e.get("type") == "PlaybackStarted"
        and e["playback"]["target_uri"] == f"channel:{channel}"
        and e["playback"]["media_uri"] == f"sound:{sound}"
        and ari_time(e) > after
    )


def bridged(channel: str) -> Callable[[Event], bool]:
    """Matches ARI's ChannelEnteredBridge that leaves `channel` in a bridge of two."""
    return lambda e: (
        e.get("type") == "ChannelEnteredBridge"
        and channel in e["bridge"]["channels"]
        and len(e["bridge"]["channels"]) == 2
    )


async def notes(
    daemon: DaemonProcess, kind: str, calls: list[str], timeout: float = 20.0, after: int = 0
) -> dict[str, dict[str, str]]:
    """The first `call.KIND` note of each of `calls`, in log order (waits in a thread)."""
    return await asyncio.to_thread(daemon.wait_notes, kind, calls, timeout, after)


def post(daemon: DaemonProcess, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    status, agent = daemon.api("POST", path, body)
    assert status == 200, agent
    return dict(agent)


async def test_a_crash_loses_no_caller_no_place_in_line_and_no_agent(
    lab_paths: LabPaths, credentials: dict[str, str], shop: DaemonProcess
) -> None:
    """SIGKILL with 10 callers waiting, 3 talking, 2 in a menu (and one who hangs up while no
    daemon runs); the daemon is back within 2 s with the same config and store."""
    queue_numbers = [f"710000006{i:02d}" for i in range(14)]
    menu_numbers = ["71000000700", "71000000701"]
    gone_number = queue_numbers[5]  # hangs up while no daemon runs
    post(shop, "/api/agents/agent4/sign-in")
    assert post(shop, "/api/agents/agent4/pause", {"reason": "lunch"})["state"] == "paused"
    async with AriWatch(credentials) as watch, AmiListen(credentials, "call,user") as ami:
        with ExitStack() as phones:
            talkers = [
                phones.enter_context(LabAgent.named(lab_paths, name, talk_seconds=TALK))
                for name in ("agent1", "agent2", "agent3")
            ]
            fast = phones.enter_context(
                LabAgent.named(lab_paths, "agent4", ring_seconds=0.2, talk_seconds=0.5)
            )
            # The line forms while no agent is free: 14 callers press 1, two press 2 and,
            # well after the restart, 9 in the second menu.
            calls: dict[str, asyncio.Task[int]] = {}
            for number in queue_numbers:
                script = CallScript(NUMBER, number, keys="1", first_key_after=1.0,
                                    wait_for_bye=150)  # fmt: skip
                calls[number] = asyncio.create_task(sip_call(lab_paths, script, timeout=200))
                await asyncio.sleep(0.3)
            for number in menu_numbers:
                script = CallScript(NUMBER, number, keys="2,w20,9", first_key_after=1.0)
                calls[number] = asyncio.create_task(sip_call(lab_paths, script, timeout=200))
            channel = {n: await watch.channel_of(n) for n in [*queue_numbers, *menu_numbers]}
            line = await notes(shop, "queue_join", [channel[n] for n in queue_numbers])
            in_line = list(line)  # channel ids in the order they joined
            menus = [channel[n] for n in menu_numbers]
            for menu_call in menus:
                await watch.played(menu_call, MORE)
            # Three agents come in and take the three callers at the head of the line.
            for name in ("agent1", "agent2", "agent3"):
                post(shop, f"/api/agents/{name}/sign-in")
            answered = await notes(shop, "answered", in_line[:3])
            talking, waiting = in_line[:3], [c for c in in_line[3:] if c != channel[gone_number]]
            for call in talking:  # talking: the caller and the agent's leg share a bridge
                await watch.wait_for(bridged(call), timeout=5)
            assert len(waiting) == 10
            before = agent_states(shop)
            assert before == [
                ("agent1", "on_call", None),
                ("agent2", "on_call", None),
                ("agent3", "on_call", None),
                ("agent4", "paused", "lunch"),
            ]
            assert desk(shop)["waiting"] == 11

            # The crash. A caller hangs up while no daemon runs; the daemon is back in 2 s.
            shop.kill()
            killed_at = time.time()
            gone = channel[gone_number]
            await watch.request("DELETE", f"/channels/{gone}")
            await watch.ended(gone, timeout=5)
            mark = len(shop.lines)
            shop.start()
            assert time.time() - killed_at < 2
            await asyncio.to_thread(shop.wait_health, 200, 10)
            restored = [*talking, *waiting, *menus]
            recovered = await notes(shop, "recovered", restored, 20, mark)
            lost = await notes(shop, "ended", [gone], 20, mark)
            assert lost[gone]["outcome"].startswith("lost"), lost[gone]
            for call in waiting:
                note = recovered[call]
                assert (note["node"], note.get("queue")) == ("desk", "desk"), note
                assert float(note["waited"]) >= killed_at - log_time(line[call]) - 0.5, note
            for call in menus:
                assert recovered[call]["node"] == "more", recovered[call]

            # Agents are as they were; the line kept its length; waiting callers hear music
            # again; the callers in the second menu hear its prompt again.
            after = agent_states(shop)
            assert after == before, "\n".join(shop.lines[mark:])
            assert desk(shop)["waiting"] == 10
            await ami.wait_music(waiting, timeout=10)
            # ... and the music flows: Asterisk keeps sending each of them RTP.
            names = {c: channel_name(watch, c) for c in waiting}
            sent = await asyncio.to_thread(rtp_sent, lab_paths)
            await asyncio.sleep(1.0)  # a second of music is 50 packets
            more = await asyncio.to_thread(rtp_sent, lab_paths)
            silent = [c for c in waiting if more.get(names[c], 0) - sent.get(names[c], 0) < 25]
            assert silent == [], "no music for these waiting callers"
            # The talks go on: each talking caller is still bridged with their agent.
            bridges = await watch.request("GET", "/bridges")
            talks = {c: [b["channels"] for b in bridges if c in b["channels"]] for c in talking}
            assert all(len(t) == 1 and len(t[0]) == 2 for t in talks.values()), (
                talks,
                "\n".join(shop.lines[mark:]),
            )
            for menu_call in menus:
                await watch.wait_for(started(menu_call, MORE, killed_at), timeout=10)

            # Lunch is over: agent4 answers the line, one caller after another, in order.
            assert post(shop, "/api/agents/agent4/resume")["state"] in ("available", "ringing")
            served = await notes(shop, "answered", waiting, 60, mark)
            assert list(served) == waiting, "the line was not answered in its order"
            for call, note in served.items():
                # The wait counts from joining the line, before the crash.
                assert float(note["wait"]) >= log_time(note) - log_time(line[call]) - 1.0, note
                assert float(note["wait"]) > log_time(note) - killed_at, note

            # The talking callers stayed bridged until their agents hung up.
            ended = await notes(shop, "agent_hung_up", talking, 30, mark)
            for call in talking:
                talk = float(ended[call]["talk"])
                assert TALK - 1.5 <= talk <= TALK + 3, ended[call]
                assert log_time(ended[call]) - log_time(answered[call]) >= TALK - 1.5
            for phone in talkers:
                first = phone.invites()[0]["call_id"]
                await asyncio.to_thread(phone.wait_for, "bye-sent", 1, 10, first)
                assert phone.events("bye-received", first) == [], phone.script.name
            assert fast.answered_count() == 10

            # Every caller's SIPp ended well: callers in line got their BYE from the agent's
            # side (agent4 hung up each call), the menu callers from the plan's goodbye.
            codes = await asyncio.gather(*calls.values())
            assert dict(zip(calls, codes, strict=True)) == dict.fromkeys(calls, 0)
            assert len(fast.events("bye-sent")) == 10 and fast.events("bye-received") == []
            outcomes = await notes(shop, "ended", restored, 20, mark)
            assert {c: outcomes[c]["outcome"] for c in [*talking, *waiting]} == dict.fromkeys(
                [*talking, *waiting], "answered"
            )
            assert {c: outcomes[c]["outcome"] for c in menus} == dict.fromkeys(menus, "completed")
            choices = [n for n in shop.notes("menu_choice", mark) if n["call"] in menus]
            assert sorted((n["call"], n["node"], n["option"]) for n in choices) == sorted(
                (c, "more", "9") for c in menus
            )
            # Nobody heard the plan's start again.
            heard = {c: watch.sounds(c).count(START) for c in channel.values()}
            assert heard == dict.fromkeys(channel.values(), 1)

    # The store kept the whole story of every call, the part before the crash too (what
    # `ivr report` reads): a crash must not take the last notes with it.
    assert shop.stop() == 0
    journal = shop.journal()
    for call in channel.values():
        kinds = [kind for c, kind, _ in journal if c == call]
        once = ["arrived", "ended"]
        if call not in menus:
            once.append("queue_join")
        if call in talking or call in waiting:
            once.append("answered")
        assert {k: kinds.count(k) for k in once} == dict.fromkeys(once, 1), (call, kinds)
        if call in menus:
            assert kinds.count("menu_choice") == 2, (call, kinds)
    assert sum(kind == "recovered" for _, kind, _ in journal) == len(restored)


async def test_a_deploy_keeps_agents_as_they_were_and_hands_calls_to_the_next_daemon(
    lab_paths: LabPaths, shop: DaemonProcess, watch: AriWatch
) -> None:
    """SIGTERM (systemctl restart) and start again: nobody is signed out or un-paused, and a
    caller in a menu, handed back to the dialplan, comes back to that menu, not the start."""
    post(shop, "/api/agents/agent1/sign-in")
    post(shop, "/api/agents/agent2/sign-in")
    assert post(shop, "/api/agents/agent2/pause", {"reason": "lunch"})["state"] == "paused"
    before = agent_states(shop)
    assert before == [
        ("agent1", "available", None),
        ("agent2", "paused", "lunch"),
        ("agent3", "signed_out", None),
        ("agent4", "signed_out", None),
    ]
    since = states_since(shop)
    script = CallScript(NUMBER, "71000000750", keys="2,w12,9", first_key_after=1.0)
    call = asyncio.create_task(sip_call(lab_paths, script))
    channel = await watch.channel_of("71000000750")
    await watch.played(channel, MORE)
    assert await asyncio.to_thread(shop.stop) == 0
    stopped_at = time.time()
    await asyncio.to_thread(shop.wait_log, rf"event=call.handed_back call={channel}", 1)
    mark = len(shop.lines)
    shop.start()
    await asyncio.to_thread(shop.wait_health, 200, 20)
    assert agent_states(shop) == before
    # The wallboard's time in state goes on: the agents' records kept since when.
    assert states_since(shop) == since
    assert all(moment < stopped_at for moment in since.values())
    # Asterisk held the caller on music and brought them back into the app: the new daemon
    # serves them from their record, in the second menu, whose 9 they press.
    recovered = await notes(shop, "recovered", [channel], 10, mark)
    assert recovered[channel]["node"] == "more", recovered[channel]
    await watch.wait_for(started(channel, MORE, stopped_at), timeout=10)
    assert await call == 0
    await asyncio.to_thread(
        shop.wait_log, rf"event=call.menu_choice call={channel} plan=restart node=more option=9",
        5, mark,
    )  # fmt: skip
    await asyncio.to_thread(
        shop.wait_log, rf"event=call.ended call={channel} outcome=completed", 5, mark
    )
    assert watch.sounds(channel).count(START) == 1
    assert any(
        e.get("type") == "ChannelDialplan"
        and e["channel"]["id"] == channel
        and e.get("dialplan_app") == "MusicOnHold"
        for e in watch.events
    )


def states_since(daemon: DaemonProcess) -> dict[str, float]:
    """Since when each agent shows their state, as GET /api/agents says."""
    status, agents = daemon.api("GET", "/api/agents")
    assert status == 200, agents
    return {a["id"]: a["state_since"] for a in agents}


async def test_after_a_restart_the_screen_pop_shows_the_callers_earlier_call(
    lab_paths: LabPaths, shop: DaemonProcess, watch: AriWatch
) -> None:
    """The pop's earlier calls come from the journal in the store, not from the daemon's
    memory: a caller's second call, after a restart, shows the first."""
    number = "71000000760"
    script = CallScript(NUMBER, number, keys="1", first_key_after=1.0, wait_for_bye=30)
    post(shop, "/api/agents/agent1/sign-in")
    with LabAgent.named(lab_paths, "agent1", talk_seconds=1.0):
        first_call = asyncio.create_task(sip_call(lab_paths, script))
        first = await watch.channel_of(number)
        await notes(shop, "answered", [first])
        assert (await pop_of(shop, first))["previous"] == []
        assert await first_call == 0
        ended = await notes(shop, "ended", [first])
        assert await asyncio.to_thread(shop.stop) == 0
        mark = len(shop.lines)
        shop.start()
        await asyncio.to_thread(shop.wait_health, 200, 20)
        # The wallboard's day so far, from the journal: the first call's answer.
        await asyncio.to_thread(shop.wait_log, r"event=desk.day_seeded notes=1\b", 5, mark)

        second_call = asyncio.create_task(sip_call(lab_paths, script))
        created = await watch.wait_for(
            lambda e: (
                e.get("type") == "ChannelCreated"
                and e["channel"]["caller"]["number"] == number
                and e["channel"]["id"] != first
            ),
            20,
        )
        second = str(created["channel"]["id"])
        await notes(shop, "answered", [second])
        pop = await pop_of(shop, second, previous=1)
        assert await second_call == 0
    [earlier] = pop["previous"]
    assert (earlier["call"], earlier["outcome"]) == (first, ended[first]["outcome"])
    assert pop["previous_calls_today"] == 1


async def pop_of(
    daemon: DaemonProcess, call: str, previous: int = 0, timeout: float = 5.0
) -> dict[str, Any]:
    """agent1's screen pop for `call`, once it shows `previous` earlier calls (read from the
    journal just after the answer)."""
    deadline = time.monotonic() + timeout
    while True:
        status, pop = await asyncio.to_thread(daemon.api, "GET", "/api/agents/agent1/screen-pop")
        if status == 200 and pop["call"] == call and len(pop["previous"]) >= previous:
            return dict(pop)
        assert time.monotonic() < deadline, (status, pop)
        await asyncio.sleep(0.1)


async def test_a_call_arriving_while_no_daemon_runs_is_held_then_served(
    lab_paths: LabPaths, credentials: dict[str, str], tmp_path: Path, watch: AriWatch
) -> None:
    """Asterisk holds the caller (answered, music) and retries the app; a daemon started 5 s
    later takes the call from the top of the plan."""
    daemon = DaemonProcess(credentials, tmp_path, PLANS, ROSTER)
    # The caller presses 2 and then 9 once a daemon serves them; held, they hear music.
    script = CallScript(NUMBER, "71000000800", keys="2,w2,9", first_key_after=12)
    call = asyncio.create_task(sip_call(lab_paths, script))
    channel = await watch.channel_of("71000000800")
    created = await watch.wait_for(
        lambda e: e.get("type") == "ChannelCreated" and e["channel"]["id"] == channel
    )
    name = channel_name(watch, channel)
    await watch.wait_for(
        lambda e: (
            e.get("type") == "ChannelVarset"
            and e["channel"]["id"] == channel
            and e.get("variable") == "STASISSTATUS"
            and e.get("value") == "FAILED"
        ),
        timeout=5,
    )
    await watch.wait_for(
        lambda e: (
            e.get("type") == "ChannelDialplan"
            and e["channel"]["id"] == channel
            and e.get("dialplan_app") == "MusicOnHold"
        ),
        timeout=5,
    )
    # Held for 5 s: answered (the SIP caller got its 200 OK), music flowing, Asterisk lists it.
    tries = await watch.wait_for(
        lambda e: (
            e.get("type") == "ChannelVarset"
            and e["channel"]["id"] == channel
            and e.get("variable") == "IVR_TRIES"
            and e.get("value") == "5"
        ),
        timeout=10,
    )
    assert ari_time(tries) - ari_time(created) >= 4
    listed = await watch.request("GET", f"/channels/{channel}")
    assert listed["state"] == "Up" and listed["dialplan"]["context"] == "from-shop"
    assert (await asyncio.to_thread(rtp_sent, lab_paths)).get(name, 0) > 100
    daemon.start()
    try:
        await asyncio.to_thread(daemon.wait_health, 200, 20)
        # The next try brings the call into the app (StasisStart): the daemon takes it as new.
        pattern = rf"event=call.arrived call={channel} number={NUMBER}"
        taken = await asyncio.to_thread(daemon.wait_log, pattern, 5)
        assert log_time(log_fields(taken)) - ari_time(tries) < 5
        await watch.played(channel, START)
        await watch.ended(channel, timeout=30)
        assert await call == 0
        daemon.wait_log(rf"event=call.menu_choice call={channel} plan=restart node=more option=9")
        daemon.wait_log(rf"event=call.ended call={channel} outcome=completed")
        # Never the fallback: the caller was served, not told the service is unavailable.
        assert not [
            e
            for e in watch.events
            if e.get("type") == "ChannelDialplan"
            and e["channel"]["id"] == channel
            and e.get("dialplan_app") == "Playback"
        ]
    finally:
        daemon.stop()
