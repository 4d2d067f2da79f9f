"""An agent with two lines on the lab: two callers answered at once, a third after one ends.

Issue 13 saw an agent with `max_concurrent` above 1 never offered a call again once their
first call ended while another was up. Here Boris (agent2, two lines, a SIPp softphone that
answers every INVITE, however many are up) takes two sales callers at once; a third caller
waits while both talk, and is offered to Boris and answered once the first caller hangs up
and its wrap-up (2 s) is over, while the second call is still up.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from ivr.lab.paths import REPO, LabPaths
from ivr.lab.sipp import CallScript
from ivr.lab.softphones.agent import LabAgent
from tests.integration.lab import AriWatch, DaemonProcess, log_time, sip_call

BORIS = 'skills: {sales: 9, "lang:en": 10}}'


async def test_two_calls_at_once_then_a_third_when_one_ends(
    lab_paths: LabPaths, credentials: dict[str, str], tmp_path: Path, watch: AriWatch
) -> None:
    roster = tmp_path / "agents"
    roster.mkdir()
    text = (REPO / "tests" / "agents" / "roster.yaml").read_text()
    assert BORIS in text
    (roster / "roster.yaml").write_text(text.replace(BORIS, BORIS[:-1] + ", max_concurrent: 2}"))
    daemon = DaemonProcess(credentials, tmp_path, REPO / "tests" / "dialplans" / "queues", roster)
    daemon.start()
    try:
        await asyncio.to_thread(daemon.wait_health, 200, 20)
        assert daemon.api("POST", "/api/agents/agent2/sign-in")[0] == 200
        # Boris talks until the caller hangs up: the callers decide which call ends first.
        with LabAgent.named(lab_paths, "agent2", wait_for_bye=True) as boris:
            # Sales is key 2; each caller hangs up that many seconds after their key.
            first = asyncio.create_task(
                sip_call(lab_paths, CallScript("200", "71000000301", keys="2", hang_up_after=8))
            )
            second = asyncio.create_task(
                sip_call(lab_paths, CallScript("200", "71000000302", keys="2", hang_up_after=40))
            )
            await asyncio.to_thread(boris.wait_for, "answered", 2, 30)
            calls = {
                number: await watch.channel_of(number) for number in ("71000000301", "71000000302")
            }
            daemon.wait_notes("answered", calls.values())
            assert daemon.agent("agent2")["state"] == "on_call"
            # Both lines are up: the third caller waits in the queue.
            third = asyncio.create_task(
                sip_call(lab_paths, CallScript("200", "71000000303", keys="2", hang_up_after=15))
            )
            waiting = await watch.channel_of("71000000303")
            daemon.wait_notes("queue_join", [waiting])
            assert len(boris.invites()) == 2
            # The first caller hangs up; after the wrap-up Boris rings and answers the third.
            assert await first == 0
            ended = daemon.wait_notes("caller_hung_up", [calls["71000000301"]])
            await asyncio.to_thread(boris.wait_for, "answered", 3, 30)
            answered = daemon.wait_notes("answered", [waiting])[waiting]
            assert answered["agent"] == "agent2" and answered["queue"] == "sales"
            held = log_time(answered) - log_time(ended[calls["71000000301"]])
            assert held >= 2  # the sales queue's wrap-up held the offer
            # The second call was up all along: two at once again.
            hung_up = {note["call"] for note in daemon.notes("caller_hung_up")}
            assert calls["71000000302"] not in hung_up
            assert len(boris.events("bye-received")) == 1
            assert daemon.agent("agent2")["state"] == "on_call"
            assert await third == 0
            assert await second == 0
            daemon.wait_notes("caller_hung_up", [calls["71000000302"], waiting])
        # Every call over and the wrap-up too: Boris is available, no line held.
        await asyncio.to_thread(daemon.wait_log, r"event=call.ended call=" + calls["71000000302"])
        deadline = asyncio.get_running_loop().time() + 10
        while daemon.agent("agent2")["state"] != "available":
            assert asyncio.get_running_loop().time() < deadline, daemon.agent("agent2")
            await asyncio.sleep(0.2)
        assert len(boris.invites()) == 3 and boris.answered_count() == 3
        assert 'ivr_queue_answered_total{queue="sales"} 3.0' in daemon.metrics()
    finally:
        daemon.stop()
