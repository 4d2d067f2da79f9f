"""Redis stopped (SIGSTOP) under a daemon that keeps its journal, live state and callbacks in
it (`store.redis_url`), while calls come in: the calls go on, answered by SIPp agents, /healthz
keeps answering, the metrics show the writes waiting, and once Redis runs again (SIGCONT) every
note of those calls is in the journal, once, in the order the daemon logged them.

Plan: tests/dialplans/failover/failover.yaml (number 700; 1 waits in queue `line`). Agent:
agent4 of tests/agents/roster.yaml, a SIPp softphone answering at once.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ivr.lab.paths import REPO, LabPaths
from ivr.lab.sipp import CallScript
from ivr.lab.softphones.agent import LabAgent
from tests.integration.lab import (
    AriWatch,
    DaemonProcess,
    hang_up_leftovers,
    log_fields,
    sip_call,
)
from tests.integration.pair import HealthWatch, RedisServer, redis_daemon

PLANS = REPO / "tests" / "dialplans" / "failover"
ROSTER = REPO / "tests" / "agents"
PREFIX = "710000013"  # this file's caller numbers: PREFIX and two digits
CALLERS = 4
STALL = 8.0  # seconds Redis stays stopped: the calls are made and served inside it


@pytest.fixture(autouse=True)
def no_leftovers(credentials: dict[str, str]) -> Iterator[None]:
    yield
    hang_up_leftovers(credentials, (PREFIX,))


def metric(daemon: DaemonProcess, name: str) -> float:
    """The sum of a metric's samples on /metrics (every label)."""
    pattern = re.compile(rf"^{re.escape(name)}(\{{[^}}]*\}})? (\S+)$", re.M)
    return sum(float(value) for _labels, value in pattern.findall(daemon.metrics()))


def call_notes(daemon: DaemonProcess, calls: list[str]) -> dict[str, list[str]]:
    """The kinds of each call's notes as the daemon logged them, in order."""
    noted = [log_fields(e) for e in list(daemon.lines) if " event=call." in e]
    return {c: [n["event"][5:] for n in noted if n.get("call") == c] for c in calls}


async def test_calls_go_on_while_redis_is_stopped_and_their_notes_land_after_it_runs_again(
    lab_paths: LabPaths, credentials: dict[str, str], tmp_path: Path, watch: AriWatch
) -> None:
    server = RedisServer(tmp_path / "redis").start()
    daemon = redis_daemon(credentials, tmp_path / "daemon", PLANS, ROSTER, server.url)
    agent = LabAgent.named(lab_paths, "agent4", ring_seconds=0.2, talk_seconds=0.5)
    try:
        daemon.start()
        await asyncio.to_thread(daemon.wait_health, 200, 20, ari=True, ami=True)
        with agent, HealthWatch(daemon) as health:
            status, answer = daemon.api("POST", "/api/agents/agent4/sign-in")
            assert status == 200, answer
            mark = len(daemon.lines)
            server.pause()
            paused_at = time.time()
            try:
                numbers = [f"{PREFIX}{i:02d}" for i in range(CALLERS)]
                tasks: dict[str, asyncio.Task[int]] = {}
                for each in numbers:
                    script = CallScript("700", each, keys="1", first_key_after=1.0,
                                        wait_for_bye=60)  # fmt: skip
                    tasks[each] = asyncio.create_task(sip_call(lab_paths, script, timeout=90))
                    await asyncio.sleep(0.5)
                calls = [await watch.channel_of(each) for each in numbers]
                answered = await asyncio.to_thread(daemon.wait_notes, "answered", calls, 20)
                ended = await asyncio.to_thread(daemon.wait_notes, "ended", calls, 20)
                codes = await asyncio.gather(*tasks.values())
                served_at = time.time()
                # Still stopped: nothing of these calls can be in Redis; the daemon says so.
                pending = metric(daemon, "ivr_store_pending")
                up = metric(daemon, "ivr_store_up")
                slow = log_fields(daemon.wait_log(r" event=store\.slow ", 1, mark))
            finally:
                server.resume()
            resumed_at = time.time()
            assert served_at - paused_at < STALL, "the calls took longer than the stall"
            assert dict(zip(numbers, codes, strict=True)) == dict.fromkeys(numbers, 0)
            assert list(answered) == calls, "not answered in the order they called"
            assert {c: n["outcome"] for c, n in ended.items()} == dict.fromkeys(calls, "answered")
            assert agent.answered_count() == CALLERS
            assert pending >= 4 * CALLERS and up == 0, (pending, up)
            recovered = log_fields(
                await asyncio.to_thread(daemon.wait_log, r" event=store\.recovered ", 10, mark)
            )
            landed_in = time.time() - resumed_at
            assert metric(daemon, "ivr_store_pending") == 0
            assert metric(daemon, "ivr_store_up") == 1
        figures: dict[str, Any] = {
            "calls served while Redis was stopped (s after SIGSTOP)": round(
                served_at - paused_at, 3
            ),
            "writes waiting at most": recovered["pending_max"],
            "SIGCONT -> store.recovered (s)": round(landed_in, 3),
            "failed attempts": recovered["failed_attempts"],
            "/healthz polls": health.polls,
        }
        print(f"\nRedis stopped while {CALLERS} calls ran: {figures}; store.slow: {slow}")
        assert health.polls >= 20 and not health.bad, f"/healthz was not 200: {health.bad}"
        assert metric(daemon, "ivr_store_dropped_total") == 0

        # Every note of the calls, once each, in the order the daemon logged them.
        journal = server.journal()
        kinds = {call: [kind for c, kind, _ in journal if c == call] for call in calls}
        logged = call_notes(daemon, calls)
        assert kinds == logged, f"the Redis journal {kinds} is not what was logged {logged}"
        for call in calls:
            assert {"arrived", "queue_join", "answered", "ended"} <= set(kinds[call]), kinds
        # The calls' live records went when they ended.
        assert not set(server.live("call")) & set(calls)
        trouble = [e for e in daemon.lines if " level=error " in e or "Traceback" in e]
        assert not trouble, "\n".join(trouble)
        assert daemon.process is not None and daemon.process.poll() is None, "the daemon exited"
    finally:
        daemon.stop()
        server.stop()
