"""Recording and the post-call survey on the lab: a real call recorded from both sides, a
pause heard as silence, the survey's keys, the low-score alert, and who may listen."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from ivr.lab.paths import REPO, LabPaths
from ivr.lab.sipp import CallScript
from ivr.lab.softphones.agent import LabAgent
from tests.integration.lab import AriWatch, DaemonProcess, free_tcp_port, sip_call

SUPERVISOR = "qa-" + "x" * 20
SILENT = 0.002  # RMS amplitude of a muted stretch (digital silence is 0.0)
SPEECH = 0.02  # RMS amplitude of SIPp's recorded voice


@pytest.fixture
async def alerts() -> AsyncIterator[tuple[str, asyncio.Queue[dict[str, Any]]]]:
    """A local web server standing for the customer-care manager's webhook."""
    received: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def post(request: web.Request) -> web.Response:
        await received.put(await request.json())
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/alert", post)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_tcp_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}/alert", received
    await runner.cleanup()


@pytest.fixture
def desk(
    credentials: dict[str, str], tmp_path: Path, alerts: tuple[str, Any]
) -> Iterator[DaemonProcess]:
    plans, roster = REPO / "tests" / "dialplans" / "recording", REPO / "tests" / "agents"
    settings = f"supervisors: {{qa: {SUPERVISOR}}}, survey_alert_url: '{alerts[0]}'"
    process = DaemonProcess(credentials, tmp_path, plans, roster, recordings=settings).start()
    process.wait_health(200, timeout=20)
    assert process.api("POST", "/api/agents/agent1/sign-in")[0] == 200
    yield process
    process.stop()


def rms(wav: Path, start: float, seconds: float) -> float:
    """sox's RMS amplitude of a stretch of the file."""
    out = subprocess.run(
        ["sox", str(wav), "-n", "trim", f"{start:.2f}", f"{seconds:.2f}", "stat"],
        capture_output=True, text=True, check=True,
    ).stderr  # fmt: skip
    return float(re.search(r"RMS\s+amplitude:\s+([0-9.]+)", out).group(1))  # type: ignore[union-attr]


def duration(wav: Path) -> float:
    out = subprocess.run(["soxi", "-D", str(wav)], capture_output=True, text=True, check=True)
    return float(out.stdout)


def at(line: str) -> float:
    stamp = line.split("ts=")[1].split()[0].rstrip("Z")
    return time.mktime(time.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S")) + float("0." + stamp[20:])


async def test_a_recorded_call_has_both_sides_a_silent_pause_and_the_survey_scores(
    lab_paths: LabPaths,
    desk: DaemonProcess,
    watch: AriWatch,
    alerts: tuple[str, asyncio.Queue[dict[str, Any]]],
) -> None:
    # Timeline: the agent speaks from its answer (~8 s, heard in the first seconds of the
    # recording); the caller speaks from 12 s after the IVR answered; the agent hangs up
    # after 20 s; the caller then scores 4 (CSAT) and 9 (NPS).
    with LabAgent.named(lab_paths, "agent1", talk_seconds=20):
        script = CallScript("500", "79001110500", "Ivan", keys="4,9", first_key_after=12,
                            speak_after=12)  # fmt: skip
        call = asyncio.create_task(sip_call(lab_paths, script))
        channel = await watch.channel_of("79001110500")
        started = desk.wait_log(rf"event=call.recording_started call={channel} ")
        await asyncio.sleep(max(0.0, at(started) + 9 - time.time()))  # pause at 9 s in
        assert desk.api("POST", f"/api/calls/{channel}/recording/pause")[0] == 200
        await asyncio.sleep(3)  # the agent's "card number" read out while paused
        assert desk.api("POST", f"/api/calls/{channel}/recording/resume")[0] == 200
        hung_up = desk.wait_log(rf"event=call.agent_hung_up call={channel} ", timeout=30)
        assert await call == 0
    desk.wait_log(rf"event=call.ended call={channel} outcome=answered")
    kept = desk.wait_log(rf"event=recording.kept call={channel} ", timeout=20)
    wav = Path(kept.split(" path=")[1].split()[0])
    meta = json.loads(wav.with_suffix(".json").read_text())

    # Where it is expected, private, and as long as the two talked.
    assert wav.relative_to(desk.config.parent / "recordings").parts[3] == f"{channel}.wav"
    assert wav.stat().st_mode & 0o077 == 0 and wav.parent.stat().st_mode & 0o077 == 0
    assert abs(duration(wav) - (at(hung_up) - at(started))) <= 1.0
    # Both sides: the agent at the start, the caller later; the pause is silence.
    [pause] = meta["pauses"]
    assert 2.5 <= pause["seconds"] <= 3.5
    assert rms(wav, 0.5, 2.0) > SPEECH  # the agent
    assert rms(wav, pause["start"] + 0.3, pause["seconds"] - 0.6) < SILENT
    assert rms(wav, pause["end"] + 0.3, 1.5) > SPEECH  # the caller, after the resume
    # The survey: in the sidecar, in the metrics; 4 and 9 post no alert.
    assert meta["survey"] == {"csat": 4, "nps": 9}
    assert (meta["agent"], meta["queue"], meta["team"]) == ("agent1", "qa", "shop")
    metrics = desk.metrics()
    assert 'ivr_survey_score_count{kind="csat"} 1.0' in metrics
    assert 'ivr_survey_score_sum{kind="nps"} 9.0' in metrics
    assert alerts[1].empty()

    # QA access: a supervisor lists and streams it; nobody else may, nothing leaves the folder.
    assert desk.api("GET", "/api/recordings")[0] == 403  # an agent's token is not enough
    assert desk.api("GET", "/api/recordings", token="")[0] == 401
    status, listed = desk.api("GET", "/api/recordings?agent=agent1", token=SUPERVISOR)
    assert status == 200 and [r["call_id"] for r in listed] == [channel]
    for path in ("/api/recordings/..%2F..%2Fjournal.sqlite3", "/api/recordings/%2Fetc%2Fpasswd"):
        assert desk.api("GET", path, token=SUPERVISOR)[0] in (400, 404)
    request = urllib.request.Request(
        f"http://127.0.0.1:{desk.port}/api/recordings/{channel}",
        headers={"Authorization": f"Bearer {SUPERVISOR}"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.read() == wav.read_bytes()
    desk.wait_log(rf"event=recording.listened supervisor=qa call={channel}")


async def test_a_low_score_alerts_the_manager_and_unrecorded_queues_leave_no_file(
    lab_paths: LabPaths,
    desk: DaemonProcess,
    watch: AriWatch,
    alerts: tuple[str, asyncio.Queue[dict[str, Any]]],
) -> None:
    with LabAgent.named(lab_paths, "agent1", talk_seconds=3) as anna:
        # Anna hangs up 3 s after answering; the survey asks at once: 1 (CSAT), * (NPS 10).
        low = CallScript("500", "79001110501", keys="1,*", first_key_after=7)
        assert await sip_call(lab_paths, low) == 0
        alert = await asyncio.wait_for(alerts[1].get(), timeout=10)
        channel = await watch.channel_of("79001110501")
        assert (alert["call_id"], alert["kind"], alert["score"]) == (channel, "csat", 1)
        assert alert["caller_number"] == "79001110501" and alert["agent"] == "agent1"
        for number, caller in (("501", "79001110502"), ("502", "79001110503")):
            script = CallScript(number, caller)
            assert await sip_call(lab_paths, script) == 0
            other = await watch.channel_of(caller)
            desk.wait_log(rf"event=call.ended call={other} outcome=answered")
            assert f"recording_started call={other}" not in "\n".join(desk.lines)
        assert anna.answered_count() == 3
    folder = desk.config.parent / "recordings"
    desk.wait_log(rf"event=recording.kept call={channel} ", timeout=20)
    assert [p.name for p in folder.rglob("*.wav")] == [f"{channel}.wav"]
