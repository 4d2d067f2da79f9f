"""Skill-based queues on the lab: SIPp callers choose, SIPp agents with skills answer."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web

from ivr.lab.paths import REPO, LabPaths
from ivr.lab.sipp import CallScript
from ivr.lab.softphones.agent import LabAgent
from ivr.lab.softphones.script import AgentScript
from tests.integration.lab import AriWatch, DaemonProcess, free_tcp_port, sip_call


@pytest.fixture
def shop(credentials: dict[str, str], tmp_path: Path) -> Iterator[DaemonProcess]:
    plans, roster = REPO / "tests" / "dialplans" / "queues", REPO / "tests" / "agents"
    process = DaemonProcess(credentials, tmp_path, plans, roster).start()
    process.wait_health(200, timeout=20)
    for agent in ("agent1", "agent2", "agent3", "agent4"):
        status, body = process.api("POST", f"/api/agents/{agent}/sign-in")
        assert status == 200 and body["state"] == "available", body
    yield process
    process.stop()


async def test_the_skilled_agent_answers_a_no_answer_is_skipped_and_paused_then_wrap_up(
    lab_paths: LabPaths, shop: DaemonProcess, watch: AriWatch
) -> None:
    with (
        LabAgent.named(lab_paths, "agent1", behaviour="no-answer") as anna,
        LabAgent.named(lab_paths, "agent2", talk_seconds=2) as boris,
        LabAgent.named(lab_paths, "agent3", talk_seconds=2, record_from_to=True) as clara,
        LabAgent.named(lab_paths, "agent4", talk_seconds=2) as dmitry,
    ):
        # Returns: Anna (returns 9) is tried first, rings out, is paused; Clara (6) answers.
        first = asyncio.create_task(
            sip_call(lab_paths, CallScript("200", "71000000100", "Ivan", keys="1"))
        )
        channel = await watch.channel_of("71000000100")
        await asyncio.to_thread(anna.wait_for, "cancelled", 1, 20)
        await asyncio.to_thread(clara.wait_for, "answered", 1, 20)
        assert await first == 0
        line = shop.wait_log(rf"event=call.answered call={channel} queue=returns agent=agent3")
        assert float(re.search(r"wait=([0-9.]+)", line).group(1)) >= 4  # type: ignore[union-attr]
        assert shop.agent("agent1")["state"] == "paused"
        assert shop.agent("agent1")["pause_reason"] == "no-answer"
        # The agent knew why before saying hello: the topic leads the caller ID name.
        invite = clara.invites()[0]
        assert invite["from_name"].startswith("returns: Ivan")
        assert invite["from_number"] == "71000000100"
        shop.wait_log(rf"event=call.agent_hung_up call={channel} queue=returns agent=agent3")

        # Clara is in wrap-up and Anna paused: the next returns caller waits, hears their
        # position, and Clara rings only when her wrap-up is over.
        second = asyncio.create_task(
            sip_call(lab_paths, CallScript("200", "71000000101", keys="1"))
        )
        other = await watch.channel_of("71000000101")
        assert shop.agent("agent3")["state"] == "wrap_up"
        await watch.played(other, "queue-youarenext", timeout=15)
        await asyncio.to_thread(clara.wait_for, "answered", 2, 30)
        assert await second == 0
        hung_up = shop.wait_log(rf"event=call.agent_hung_up call={channel}")
        answered = shop.wait_log(rf"event=call.answered call={other} queue=returns agent=agent3")
        assert _at(answered) - _at(hung_up) >= 8  # the queue's wrap-up
        assert anna.answered_count() == 0 and len(anna.invites()) == 1

        # Sales: the most skilled sales agent (Boris, 9) answers, not Dmitry (6).
        sale = asyncio.create_task(sip_call(lab_paths, CallScript("200", "71000000102", keys="2")))
        await asyncio.to_thread(boris.wait_for, "answered", 1, 20)
        assert await sale == 0
        assert dmitry.invites() == []
        metrics = shop.metrics()
        assert 'ivr_queue_answered_total{queue="returns"} 2.0' in metrics
        assert 'ivr_calls_by_topic_total{plan="queues",topic="sales"} 1.0' in metrics


async def test_a_caller_who_hangs_up_while_waiting_is_counted_as_abandoned(
    lab_paths: LabPaths, shop: DaemonProcess, watch: AriWatch
) -> None:
    for name in ("agent2", "agent4"):
        status, body = shop.api("POST", f"/api/agents/{name}/pause", {"reason": "lunch"})
        assert status == 200 and body["state"] == "paused" and body["pause_reason"] == "lunch"
    script = CallScript("200", "71000000110", keys="2", hang_up_after=3)
    assert await sip_call(lab_paths, script) == 0
    channel = await watch.channel_of("71000000110")
    line = shop.wait_log(rf"event=call.queue_abandoned call={channel} queue=sales")
    assert float(re.search(r"wait=([0-9.]+)", line).group(1)) >= 2.5  # type: ignore[union-attr]
    shop.wait_log(rf"event=call.ended call={channel} outcome=abandoned")
    assert 'ivr_queue_abandoned_total{queue="sales"} 1.0' in shop.metrics()


async def test_the_agent_api_needs_a_token(shop: DaemonProcess) -> None:
    assert shop.api("GET", "/api/agents", token="")[0] == 401
    assert shop.api("POST", "/api/agents/agent1/sign-out", token="wrong")[0] == 401
    assert shop.agent("agent1")["state"] == "available"
    assert shop.api("POST", "/api/agents/nobody/pause")[0] == 404


def _at(line: str) -> float:
    stamp = re.search(r"ts=\S+T(\d+):(\d+):([0-9.]+)Z", line)
    assert stamp is not None
    hours, minutes, seconds = stamp.groups()
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


async def test_feature_codes_from_the_softphone_change_the_agents_state(
    lab_paths: LabPaths, shop: DaemonProcess, watch: AriWatch
) -> None:
    assert await sip_call(lab_paths, CallScript("*23", "agent2", keys="")) == 0
    assert shop.agent("agent2")["state"] == "paused"
    assert shop.agent("agent2")["pause_reason"] == "feature-code"
    assert await sip_call(lab_paths, CallScript("*24", "agent2", keys="")) == 0
    assert shop.agent("agent2")["state"] == "available"
    assert await sip_call(lab_paths, CallScript("*22", "agent2", keys="")) == 0
    assert shop.agent("agent2")["state"] == "signed_out"
    shop.wait_log(r"event=call.agent_request .*endpoint=PJSIP/agent2 code=\"\*22\" agent=agent2")
    # A code that means nothing is refused with a prompt, and changes nothing.
    assert await sip_call(lab_paths, CallScript("*29", "agent2", keys="")) == 0
    shop.wait_log(r"event=call.feature_refused .*code=\"\*29\"")
    assert shop.agent("agent2")["state"] == "signed_out"
    # A caller on the shop's trunk cannot dial feature codes at all: Asterisk refuses it.
    assert await sip_call(lab_paths, CallScript("*21", "79005550000", keys="")) != 0


async def test_an_agent_busy_on_another_call_is_not_rung(
    lab_paths: LabPaths, shop: DaemonProcess, watch: AriWatch
) -> None:
    with (
        LabAgent.named(lab_paths, "agent2", talk_seconds=30) as boris,
        LabAgent.named(lab_paths, "agent4", talk_seconds=2) as dmitry,
    ):
        # Boris takes a call that is not ours (a colleague dials him directly).
        private = await watch.request(
            "POST", "/channels", endpoint="PJSIP/agent2", app="labwatch", callerId="colleague"
        )
        await asyncio.to_thread(boris.wait_for, "answered", 1, 20)
        shop.wait_log(r"event=ami.connected")
        sale = asyncio.create_task(sip_call(lab_paths, CallScript("200", "71000000120", keys="2")))
        await asyncio.to_thread(dmitry.wait_for, "answered", 1, 20)
        assert await sale == 0
        assert len(boris.invites()) == 1  # only the colleague's call
        await watch.request("DELETE", f"/channels/{private['id']}")


async def test_the_agent_gets_a_screen_pop_with_topic_and_order_number(
    lab_paths: LabPaths, credentials: dict[str, str], tmp_path: Path
) -> None:
    pops: asyncio.Queue[dict[str, object]] = asyncio.Queue()

    async def receive(request: web.Request) -> web.Response:
        await pops.put(await request.json())
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/pop", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_tcp_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    plans, roster = REPO / "tests" / "dialplans" / "queues", REPO / "tests" / "agents"
    daemon = DaemonProcess(credentials, tmp_path, plans, roster)
    daemon.config.write_text(
        daemon.config.read_text() + f"screen_pop: {{url: 'http://127.0.0.1:{port}/pop'}}\n"
    )
    daemon.start()
    try:
        await asyncio.to_thread(daemon.wait_health, 200, 20)
        assert daemon.api("POST", "/api/agents/agent3/sign-in")[0] == 200
        with LabAgent.named(lab_paths, "agent3", talk_seconds=2):
            script = CallScript("200", "71000000130", keys="3,w3,12345#")
            assert await sip_call(lab_paths, script) == 0
            pop = await asyncio.wait_for(pops.get(), 20)
        assert pop["agent"] == "agent3" and pop["queue"] == "returns"
        assert pop["topic"] == "order_status"
        assert pop["variables"] == {"order": "12345"}
        assert pop["caller_number"] == "71000000130" and pop["language"] == "en"
        assert pop["previous_calls_today"] == 0
        status, kept = daemon.api("GET", "/api/agents/agent3/screen-pop")
        assert status == 200 and kept == pop
    finally:
        daemon.stop()
        await runner.cleanup()


async def test_a_roster_edit_goes_live_and_agents_keep_their_state(
    lab_paths: LabPaths, credentials: dict[str, str], tmp_path: Path
) -> None:
    roster = tmp_path / "agents"
    roster.mkdir()
    (roster / "roster.yaml").write_text((REPO / "tests" / "agents" / "roster.yaml").read_text())
    daemon = DaemonProcess(credentials, tmp_path, REPO / "tests" / "dialplans" / "queues", roster)
    daemon.config.write_text(daemon.config.read_text() + "reload_poll_seconds: 0.5\n")
    daemon.start()
    try:
        await asyncio.to_thread(daemon.wait_health, 200, 20)
        for name in ("agent2", "agent4"):
            assert daemon.api("POST", f"/api/agents/{name}/sign-in")[0] == 200
        # A broken roster is refused; the live one stays.
        mark = len(daemon.lines)
        (roster / "roster.yaml").write_text("agents: [{id: agent9}]\n")
        daemon.wait_log(r"event=roster.reload_refused", after=mark)
        # Dmitry learns sales: once saved, he is the most skilled, and Boris is still signed in.
        text = (REPO / "tests" / "agents" / "roster.yaml").read_text()
        mark = len(daemon.lines)
        (roster / "roster.yaml").write_text(text.replace("sales: 6", "sales: 10"))
        daemon.wait_log(r"event=roster.reloaded agents=4", after=mark)
        assert daemon.agent("agent2")["state"] == "available"
        with LabAgent.named(lab_paths, "agent4", talk_seconds=1) as dmitry:
            call = asyncio.create_task(
                sip_call(lab_paths, CallScript("200", "71000000140", keys="2"))
            )
            await asyncio.to_thread(dmitry.wait_for, "answered", 1, 20)
            assert await call == 0
    finally:
        daemon.stop()


async def test_a_waiting_caller_can_choose_a_call_back_and_ringing_stops_on_hang_up(
    lab_paths: LabPaths, shop: DaemonProcess, watch: AriWatch
) -> None:
    for name in ("agent1", "agent3"):
        assert shop.api("POST", f"/api/agents/{name}/pause", {"reason": "meeting"})[0] == 200
    # Nobody for returns: the announcement offers a call back; pressing 1 takes it.
    # A real Russian mobile number: the callback node books only numbers that exist.
    script = CallScript("200", "79000000150", keys="1,w5,1")
    call = asyncio.create_task(sip_call(lab_paths, script))
    channel = await watch.channel_of("79000000150")
    shop.wait_log(rf"event=call.queue_callback call={channel} queue=returns")
    shop.wait_log(rf"event=call.prompt call={channel} node=returns_queue media=.*vm-tocallback")
    # No key at the callback node's question: the number it read back is booked.
    shop.wait_log(rf"event=call.callback_requested call={channel} .*source=caller", timeout=30)
    assert await call == 0
    # A caller who hangs up while an agent's phone rings: the ringing stops at once.
    assert shop.api("POST", "/api/agents/agent3/resume")[0] == 200
    with LabAgent.named(lab_paths, "agent3", behaviour="no-answer") as clara:
        script = CallScript("200", "71000000151", keys="1", hang_up_after=2)
        assert await sip_call(lab_paths, script) == 0
        await asyncio.to_thread(clara.wait_for, "cancelled", 1, 10)
    other = await watch.channel_of("71000000151")
    shop.wait_log(rf"event=call.queue_abandoned call={other} queue=returns")


async def test_the_partners_trunk_answers_with_the_callers_number(
    lab_paths: LabPaths, shop: DaemonProcess
) -> None:
    partner = AgentScript.of("partner", talk_seconds=1, record_from_to=True)
    with LabAgent(lab_paths, partner) as pbx:
        script = CallScript("200", "71000000160", "Olga", keys="4")
        assert await sip_call(lab_paths, script) == 0
        [invite] = pbx.wait_invites(1, 20)
    assert invite["to_number"] == "200"
    assert invite["from_number"] == "71000000160"
    shop.wait_log(r"event=call.answered .*queue=night agent=trunk:nightdesk")


async def test_the_journal_of_real_calls_feeds_ivr_report(
    lab_paths: LabPaths, shop: DaemonProcess, watch: AriWatch
) -> None:
    with LabAgent.named(lab_paths, "agent2", talk_seconds=1):
        answered = CallScript("200", "71000000170", keys="2")
        assert await sip_call(lab_paths, answered) == 0
    assert shop.api("POST", "/api/agents/agent4/pause")[0] == 200
    assert shop.api("POST", "/api/agents/agent2/pause")[0] == 200
    abandoned = CallScript("200", "71000000171", keys="2", hang_up_after=2)
    assert await sip_call(lab_paths, abandoned) == 0
    channel = await watch.channel_of("71000000171")
    shop.wait_log(rf"event=call.ended call={channel} outcome=abandoned")
    assert shop.stop() == 0  # the journal is flushed on the way out
    today = datetime.now(UTC).date()
    report = subprocess.run(
        [sys.executable, "-m", "ivr", "report", "--config", str(shop.config), "--format", "json",
         "--from", str(today), "--to", str(today + timedelta(days=1))],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    sales = next(q for q in json.loads(report.stdout)["queues"] if q["group"] == "sales")
    assert (sales["calls"], sales["answered"], sales["abandoned"]) == (2, 1, 1)
    assert sales["abandon_rate"] == 0.5
