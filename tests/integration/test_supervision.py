"""Supervisors on the lab: listen, whisper and barge heard by whom they should be, and a
waiting caller moved to another queue.

The caller, the agent and the supervisor each say their own tone (SIPp playing an A-law
capture made by tests/integration/rtp_audio.py), and the test listens to the RTP Asterisk
sends each phone: listen -> the supervisor hears caller and agent, nobody hears the
supervisor; whisper -> the agent hears the supervisor, the caller does not; barge -> all
three hear each other. Each session is journalled with the supervisor's name.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ivr.lab import sipp
from ivr.lab.paths import LabPaths
from ivr.lab.sipp import PCAPS, WORK, CallScript, free_udp_port
from ivr.lab.softphones.agent import LabAgent
from ivr.lab.softphones.script import AgentScript
from tests.integration.lab import (
    AriWatch,
    DaemonProcess,
    hang_up_leftovers,
    log_fields,
    sip_call,
)
from tests.integration.rtp_audio import RtpSniffer, tone_pcap

SUPERVISOR = "qa-supervisor-" + "x" * 16
PHONE = {"phone": "PJSIP/supervisor1"}
SUPERVISOR_PORT = 6010  # pjsip.conf's supervisor1
CALLER_HZ, AGENT_HZ, SUPERVISOR_HZ = 500.0, 1100.0, 1900.0
HEARD = 0.05  # a tone sent at 0.25 of full scale arrives at least this loud
SILENT = 0.01  # a tone that is not sent to a phone stays under this (A-law noise: ~0.0003)
MEASURE = 3.0  # seconds of audio judged per session
PLAN = """
name: supervision
numbers: ["570"]
language: en
queues:
  desk: {skills: {returns: 5}, ring_timeout: 10}
  sales: {skills: {sales: 5}, ring_timeout: 10, wrapup: 0}
nodes:
  start: {type: queue, queue: desk}
"""
ROSTER = """
teams: {shop: {kind: in-house}}
agents:
  - {id: agent1, name: Anna, endpoint: PJSIP/agent1, team: shop, skills: {returns: 9}}
  - {id: agent2, name: Boris, endpoint: PJSIP/agent2, team: shop, skills: {sales: 9}}
"""


@pytest.fixture
def desk(credentials: dict[str, str], tmp_path: Path) -> Iterator[DaemonProcess]:
    (tmp_path / "plans").mkdir()
    (tmp_path / "plans" / "supervision.yaml").write_text(PLAN)
    (tmp_path / "roster").mkdir()
    (tmp_path / "roster" / "roster.yaml").write_text(ROSTER)
    process = DaemonProcess(credentials, tmp_path, tmp_path / "plans", tmp_path / "roster",
                            recordings=f"supervisors: {{qa: {SUPERVISOR}}}").start()  # fmt: skip
    process.wait_health(200, timeout=20)
    yield process
    process.stop()
    hang_up_leftovers(credentials, ("7900570",))


class TonePhone(LabAgent):
    """A lab softphone that says a tone (a capture in the chroot) instead of SIPp's speech,
    and knows the media port Asterisk sends its audio to."""

    def __init__(self, paths: LabPaths, script: AgentScript, tone: str) -> None:
        super().__init__(paths, script)
        self.tone = tone
        self.media_port = 0

    def argv(self) -> list[str]:
        argv = super().argv()
        self.media_port = int(argv[argv.index("-mp") + 1])
        # start() has written the script's scenario, which plays SIPp's speech: the tone.
        scenario = self.host_path(self.scenario_file)
        scenario.write_text(scenario.read_text().replace(f"{PCAPS}/g711a.pcap", self.tone))
        return argv


def tone(paths: LabPaths, frequency: float, seconds: float) -> str:
    """A tone capture in the chroot's SIPp folder; its path as SIPp sees it."""
    name = f"tone-{frequency:g}-{seconds:g}.pcap"
    folder = paths.inside(WORK)
    folder.mkdir(parents=True, exist_ok=True)
    tone_pcap(folder / name, frequency, seconds)
    return f"{WORK}/{name}"


def tone_caller(
    paths: LabPaths, number: str, caller: str, tone_file: str, hang_up_after: float
) -> tuple[subprocess.Popen[str], int]:
    """A SIPp caller saying `tone_file` from its answer and hanging up `hang_up_after` s later;
    the process and its media port."""
    script = CallScript(number, caller, "Lab Caller", speak_after=0.2, hang_up_after=hang_up_after)
    name = f"call-tone-{caller}.xml"
    text = sipp.scenario(script, []).replace(f"{PCAPS}/g711a.pcap", tone_file)
    (paths.inside(WORK) / name).write_text(text)
    media = free_udp_port(even=True)
    argv = [
        "chroot", str(paths.chroot), "sipp", "-sf", f"{WORK}/{name}", "-s", number,
        "-i", "127.0.0.1", "-p", str(free_udp_port()), "-mi", "127.0.0.1", "-mp", str(media),
        "-m", "1", "-l", "1", "-nostdin", "-timeout_error", "-timeout",
        f"{int(hang_up_after + 60)}s", "127.0.0.1:5060",
    ]  # fmt: skip
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)  # fmt: skip
    return process, media


async def entered_bridge(watch: AriWatch, channel: str, bridge: str | None = None) -> None:
    await watch.wait_for(
        lambda e: (
            e.get("type") == "ChannelEnteredBridge"
            and e["channel"]["id"] == channel
            and (bridge is None or e["bridge"]["id"] == bridge)
        )
    )


async def log(desk: DaemonProcess, pattern: str, timeout: float = 20.0) -> dict[str, str]:
    return log_fields(await asyncio.to_thread(desk.wait_log, pattern, timeout))


async def test_listen_whisper_and_barge_are_heard_by_whom_they_should(
    lab_paths: LabPaths, desk: DaemonProcess, watch: AriWatch
) -> None:
    assert desk.api("POST", "/api/agents/agent1/sign-in")[0] == 200
    agent_script = AgentScript.of("agent1", ring_seconds=0.5, wait_for_bye=True)
    phone_script = AgentScript("supervisor1", SUPERVISOR_PORT, ring_seconds=0.5,
                               wait_for_bye=True)  # fmt: skip
    agent = TonePhone(lab_paths, agent_script, tone(lab_paths, AGENT_HZ, 60))
    supervisor = TonePhone(lab_paths, phone_script, tone(lab_paths, SUPERVISOR_HZ, 20))
    windows: dict[str, tuple[float, float]] = {}
    with agent, supervisor:
        says = tone(lab_paths, CALLER_HZ, 60)
        caller, caller_port = tone_caller(lab_paths, "570", "79005700001", says, 40)
        ports = {"caller": caller_port, "agent": agent.media_port,
                 "supervisor": supervisor.media_port}  # fmt: skip
        try:
            with RtpSniffer(ports.values()) as sniffer:
                channel = await watch.channel_of("79005700001")
                await log(desk, rf"event=call.answered call={channel} ")
                await entered_bridge(watch, channel, f"{channel}-bridge")
                for mode in ("listen", "whisper", "barge"):
                    status, started = desk.api("POST", f"/api/calls/{channel}/{mode}", PHONE,
                                               token=SUPERVISOR)  # fmt: skip
                    assert status == 202, started
                    session = started["session"]
                    if mode == "barge":
                        await entered_bridge(watch, session, f"{channel}-bridge")
                    else:
                        await entered_bridge(watch, f"{session}-snoop", f"{session}-bridge")
                        await entered_bridge(watch, session, f"{session}-bridge")
                    windows[mode] = await measure()
                    path = f"/api/calls/{channel}/supervision/{session}"
                    assert desk.api("DELETE", path, token=SUPERVISOR)[0] == 202
                    ended = await log(desk, rf"event=call.supervision_ended call={channel} "
                                      rf".*session={re.escape(session)}")  # fmt: skip
                    assert (ended["reason"], ended["by"], ended["mode"]) == ("stopped", "qa", mode)
                # The call went on undisturbed by the sessions.
                windows["after"] = await measure()
                # A session lasts no longer than its call: the caller hangs up while listened.
                status, started = desk.api("POST", f"/api/calls/{channel}/listen", PHONE,
                                           token=SUPERVISOR)  # fmt: skip
                assert status == 202
                session = started["session"]
                ended = await log(desk, rf"event=call.supervision_ended call={channel} "
                                  rf".*session={re.escape(session)}", timeout=40)  # fmt: skip
                assert ended["reason"] == "call-ended"
                await asyncio.to_thread(supervisor.wait_for, "bye-received", 4)
            assert await asyncio.to_thread(caller.wait, 30) == 0
        finally:
            if caller.poll() is None:
                caller.kill()
    await log(desk, rf"event=call.ended call={channel} outcome=answered")
    notes = [n for n in desk.notes("supervision") if n.get("call") == channel]
    assert [(n["mode"], n["supervisor"], n["agent"]) for n in notes] == [
        ("listen", "qa", "agent1"), ("whisper", "qa", "agent1"), ("barge", "qa", "agent1"),
        ("listen", "qa", "agent1"),
    ]  # fmt: skip

    def level(phone: str, frequency: float, window: str) -> float:
        return sniffer.heard[ports[phone]].level(frequency, *windows[window])

    heard = {
        (phone, hz, window): round(level(phone, hz, window), 4)
        for phone in ("caller", "agent", "supervisor")
        for hz in (CALLER_HZ, AGENT_HZ, SUPERVISOR_HZ)
        for window in windows
    }
    expected = {
        # The talk itself, all along: each hears the other, nobody hears themself.
        **{("caller", AGENT_HZ, w): True for w in windows},
        **{("agent", CALLER_HZ, w): True for w in windows},
        # listen: the supervisor hears both; neither hears the supervisor.
        ("supervisor", CALLER_HZ, "listen"): True,
        ("supervisor", AGENT_HZ, "listen"): True,
        ("caller", SUPERVISOR_HZ, "listen"): False,
        ("agent", SUPERVISOR_HZ, "listen"): False,
        # whisper: only the agent hears the supervisor.
        ("supervisor", CALLER_HZ, "whisper"): True,
        ("supervisor", AGENT_HZ, "whisper"): True,
        ("agent", SUPERVISOR_HZ, "whisper"): True,
        ("caller", SUPERVISOR_HZ, "whisper"): False,
        # barge: all three hear each other.
        ("supervisor", CALLER_HZ, "barge"): True,
        ("supervisor", AGENT_HZ, "barge"): True,
        ("agent", SUPERVISOR_HZ, "barge"): True,
        ("caller", SUPERVISOR_HZ, "barge"): True,
        # After the sessions: nobody hears the supervisor any more.
        ("caller", SUPERVISOR_HZ, "after"): False,
        ("agent", SUPERVISOR_HZ, "after"): False,
    }
    wrong = {
        key: heard[key]
        for key, audible in expected.items()
        if (heard[key] >= HEARD) != audible or (not audible and heard[key] >= SILENT)
    }
    assert wrong == {}, f"levels heard (phone, Hz, window): {heard}"


async def measure() -> tuple[float, float]:
    """A stretch of the audio as it is now: from half a second on (the mix settles), MEASURE s."""
    start = time.time() + 0.5
    await asyncio.sleep(0.5 + MEASURE)
    return start, time.time()


async def test_a_supervisor_moves_a_waiting_caller_and_signs_an_agent_out(
    lab_paths: LabPaths, desk: DaemonProcess, watch: AriWatch
) -> None:
    # Nobody serves `desk`; Boris (sales) is free. The caller waits, then is moved to sales.
    assert desk.api("POST", "/api/agents/agent2/sign-in")[0] == 200
    with LabAgent.named(lab_paths, "agent2", ring_seconds=0.5, talk_seconds=3) as boris:
        script = CallScript("570", "79005700002", hang_up_after=None, wait_for_bye=30)
        call = asyncio.create_task(sip_call(lab_paths, script))
        channel = await watch.channel_of("79005700002")
        await log(desk, rf"event=call.queue_join call={channel} queue=desk")
        await asyncio.sleep(2)  # a wait worth keeping
        status, calls = desk.api("GET", "/api/calls", token=SUPERVISOR)
        assert status == 200
        [listed] = [c for c in calls if c["call"] == channel]
        assert (listed["state"], listed["queue"], listed["number"]) == (
            "waiting", "desk", "7******0002")  # fmt: skip
        status, moved = desk.api("POST", f"/api/calls/{channel}/move", {"queue": "sales"},
                                 token=SUPERVISOR)  # fmt: skip
        assert (status, moved["came_from"], moved["queue"]) == (200, "desk", "sales"), moved
        note = await log(desk, rf"event=call.queue_moved call={channel} ")
        assert (note["by"], float(note["wait"]) >= 2) == ("qa", True)
        answered = await log(desk, rf"event=call.answered call={channel} ")
        assert (answered["queue"], answered["agent"]) == ("sales", "agent2")
        assert float(answered["wait"]) >= 2  # the wait counted from the first join
        status, refused = desk.api("POST", f"/api/calls/{channel}/move", {"queue": "desk"},
                                   token=SUPERVISOR)  # fmt: skip
        assert status == 409, refused
        boris.wait_for("answered")
        assert await call == 0
    # The supervisor signs Boris out.
    status, agent = desk.api("POST", "/api/agents/agent2/sign-out", token=SUPERVISOR)
    assert (status, agent["state"]) == (200, "signed_out")
