"""Coverage on the lab: overflow to the partner's agents and trunk, a callback that survives a
restart of the daemon, and voicemail after hours (SIPp callers, agents and customer). The
website's bookings through the callback API: tests/integration/test_callback_api.py."""

from __future__ import annotations

import asyncio
import os
import wave
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from ivr.lab.paths import REPO, LabPaths
from ivr.lab.sipp import CallScript
from ivr.lab.softphones.agent import LabAgent
from ivr.lab.softphones.script import AgentScript
from tests.integration.lab import AriWatch, DaemonProcess, sip_call

PLAN = REPO / "tests" / "dialplans" / "coverage" / "coverage.yaml.in"
ROSTER = REPO / "tests" / "agents" / "coverage"
OPS = "lab-ops-supervisor-" + os.urandom(8).hex()  # lists customers' numbers (callbacks, vm)


def plans(folder: Path) -> Path:
    """The plan with its one open day some weeks ahead, so every call here is after hours."""
    folder.mkdir(exist_ok=True)
    open_day = (date.today() + timedelta(days=40)).isoformat()
    (folder / "coverage.yaml").write_text(PLAN.read_text().replace("OPEN_DAY", open_day))
    return folder


def start(credentials: dict[str, str], workdir: Path) -> DaemonProcess:
    process = DaemonProcess(
        credentials,
        workdir,
        plans(workdir / "plans"),
        ROSTER,
        callbacks="retry_minutes: 0.1",
        recordings=f"supervisors: {{ops: {OPS}}}",
    ).start()
    process.wait_health(200, timeout=20)
    return process


@pytest.fixture
def coverage(credentials: dict[str, str], tmp_path: Path) -> Iterator[DaemonProcess]:
    process = start(credentials, tmp_path)
    yield process
    process.stop()


async def test_a_caller_waiting_past_the_step_is_answered_by_the_partners_agent(
    lab_paths: LabPaths, coverage: DaemonProcess, watch: AriWatch
) -> None:
    with (
        LabAgent.named(lab_paths, "agent1", talk_seconds=15) as anna,
        LabAgent.named(lab_paths, "agent4", talk_seconds=2) as dmitry,
    ):
        for agent_id in ("agent1", "agent4"):
            assert coverage.api("POST", f"/api/agents/{agent_id}/sign-in")[0] == 200
        first = asyncio.create_task(sip_call(lab_paths, CallScript("400", "71000000400")))
        await asyncio.to_thread(anna.wait_for, "answered", 1, 20)
        # Anna is busy; Dmitry (outsourced) may take the second caller only after 4 s.
        second = asyncio.create_task(sip_call(lab_paths, CallScript("400", "71000000401")))
        channel = await watch.channel_of("71000000401")
        line = coverage.wait_log(rf"event=call.overflow call={channel} queue=care step=partner")
        await asyncio.to_thread(dmitry.wait_for, "answered", 1, 20)
        answered = coverage.wait_log(rf"event=call.answered call={channel} queue=care agent=agent4")
        assert "team=callpoint" in answered
        assert float(answered.split(" wait=")[1].split()[0]) >= 4
        assert await second == 0 and await first == 0
        assert "trigger=waited" in line
        assert len(anna.invites()) == 1  # never offered a second call while busy
    metrics = coverage.metrics()
    assert 'ivr_overflow_total{queue="care",step="partner"} 1.0' in metrics


async def test_a_caller_overflowed_to_the_partners_trunk_arrives_with_their_number(
    lab_paths: LabPaths, coverage: DaemonProcess, watch: AriWatch
) -> None:
    partner = AgentScript.of("partner", talk_seconds=1, record_from_to=True)
    with LabAgent(lab_paths, partner) as pbx:
        call = asyncio.create_task(sip_call(lab_paths, CallScript("401", "71000000402", "Olga")))
        channel = await watch.channel_of("71000000402")
        coverage.wait_log(rf"event=call.overflow call={channel} queue=late step=trunk")
        [invite] = pbx.wait_invites(1, 20)
        assert await call == 0
    assert invite["from_number"] == "71000000402" and invite["to_number"] == "200"
    assert invite["from_name"].startswith("late: Olga")  # the topic travels with the call
    coverage.wait_log(rf"event=call.ended call={channel} outcome=overflowed_external")


async def test_a_callback_survives_a_restart_and_rings_the_agent_then_the_customer(
    lab_paths: LabPaths, credentials: dict[str, str], tmp_path: Path, watch: AriWatch
) -> None:
    daemon = start(credentials, tmp_path)
    try:
        # In the queue the caller presses 1 (call me back), then 1 (yes, this number).
        script = CallScript("402", "79001234567", "Ivan", keys="1,w3,1", first_key_after=3)
        assert await sip_call(lab_paths, script) == 0
        channel = await watch.channel_of("79001234567")
        daemon.wait_log(rf"event=call.callback_requested call={channel} .*source=caller")
        status, [task] = daemon.api("GET", "/api/callbacks", token=OPS)
        assert status == 200 and task["status"] == "pending"
        assert task["number"] == "+79001234567" and task["queue"] == "back"
    finally:
        assert daemon.stop() == 0
    # A new daemon on the same store: the task is there, made once.
    daemon = start(credentials, tmp_path)
    try:
        daemon.wait_log(r"event=callbacks.loaded pending=1")
        with (
            LabAgent.named(lab_paths, "agent1", talk_seconds=4) as anna,
            LabAgent.named(lab_paths, "customer", talk_seconds=8, record_from_to=True) as customer,
        ):
            assert daemon.api("POST", "/api/agents/agent1/sign-in")[0] == 200
            await asyncio.to_thread(anna.wait_for, "answered", 1, 20)
            [invite] = customer.wait_invites(1, 20)
            await asyncio.to_thread(customer.wait_for, "answered", 1, 20)
            assert invite["to_number"] == "+79001234567"
            daemon.wait_log(rf"event=call.callback_connected .*task={task['id']}")
            daemon.wait_log(rf"event=call.callback_ended .*task={task['id']}", timeout=30)
        status, [done] = daemon.api("GET", "/api/callbacks", token=OPS)
        assert (done["id"], done["status"], done["attempts"]) == (task["id"], "done", 1)
        assert 'ivr_callbacks_total{outcome="completed"} 1.0' in daemon.metrics()
    finally:
        daemon.stop()


async def test_after_hours_the_caller_hears_the_next_opening_and_leaves_a_voicemail(
    lab_paths: LabPaths, coverage: DaemonProcess, watch: AriWatch, tmp_path: Path
) -> None:
    # Maria speaks from the beep (about 12 s in) for 8 s, then presses #.
    script = CallScript("403", "79005550403", "Maria", keys="#", first_key_after=10, speak_after=12)
    call = asyncio.create_task(sip_call(lab_paths, script))
    channel = await watch.channel_of("79005550403")
    # The shop opens at 10:00 on its one open day: the day, "at", "10", "o'clock".
    coverage.wait_log(
        rf"event=call.prompt call={channel} node=closed .*sound:vm-nobodyavail "
        r"sound:digits/day-[0-6] sound:digits/at number:10 sound:digits/oclock"
    )
    assert await call == 0
    coverage.wait_log(rf"event=call.voicemail call={channel} mailbox=shop")
    line = coverage.wait_log(r"event=voicemail.kept ", timeout=20)
    wav = Path(line.split(" path=")[1].split()[0])
    with wave.open(str(wav)) as audio:
        seconds = audio.getnframes() / audio.getframerate()
    assert seconds >= 5  # the caller's message: from the beep to their #
    assert wav.stat().st_mode & 0o077 == 0  # not world-readable
    status, [message] = coverage.api("GET", "/api/voicemails", token=OPS)
    assert status == 200 and message["caller_number"] == "79005550403" and message["task"]
    status, [task] = coverage.api("GET", "/api/callbacks", token=OPS)
    assert task["source"] == "voicemail" and task["voicemail"] == f"vm-{channel}"
    coverage.wait_log(rf"event=call.ended call={channel} outcome=voicemail")
