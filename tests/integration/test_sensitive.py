"""A PIN typed on the lab never lands anywhere: a SIPp caller types an order number and a PIN
(RFC 4733), the shop's backend verifies the PIN, a SIPp agent answers with a screen pop; then
the daemon's whole log (at debug), every file it wrote (the journal's SQLite file and its
write-ahead log, live state, callbacks), the screen pop (webhook body and API), the metrics,
the agent's INVITE and Asterisk's logs are searched for the PIN. The order number does reach
the agent; the backend does get the PIN."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from ivr.lab.paths import REPO, LabPaths
from ivr.lab.sipp import CallScript
from ivr.lab.softphones.agent import LabAgent
from tests.integration.lab import AriWatch, DaemonProcess, free_tcp_port, sip_call

# Six digits: no port (five digits at most) can hold them, and no id or time by accident.
PIN = "973168"
ORDER = "48213"
CALLER = "71000000900"
PLAN = """
name: pinlab
numbers: ["900"]
language: en
queues:
  verified: {{skills: {{returns: 5}}, ring_timeout: 10}}
nodes:
  start:
    type: collect
    prompt: sound:vm-enter-num-to-call
    var: order
    pattern: '^[0-9]{{5}}$'
    no_input: sound:please-try-again
    next: secret
  secret:
    type: collect
    prompt: sound:vm-password
    var: pin
    digits: 6
    terminator: null
    no_input: sound:please-try-again
    next: check
  check:
    type: lookup
    url: {url}
    method: POST
    params: {{order: order, pin: pin}}
    route: {{field: ok, cases: {{"true": tagged}}, default: wrong}}
    fallback: wrong
  tagged: {{type: tag, tag: order_status, next: agent}}
  agent: {{type: queue, queue: verified}}
  wrong: {{type: hangup, prompt: sound:vm-invalid-password}}
"""


@dataclass
class Shop:
    """The shop's side of the test: its backend's requests and the screen pops it received."""

    port: int = field(default_factory=free_tcp_port)
    verified: list[dict[str, Any]] = field(default_factory=list)
    pops: asyncio.Queue[bytes] = field(default_factory=asyncio.Queue)

    async def verify(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.verified.append(body)
        return web.json_response({"ok": body.get("pin") == PIN})

    async def pop(self, request: web.Request) -> web.Response:
        await self.pops.put(await request.read())
        return web.Response(text="ok")


@pytest.fixture
async def shop() -> AsyncIterator[Shop]:
    found = Shop()
    app = web.Application()
    app.router.add_post("/verify", found.verify)
    app.router.add_post("/pop", found.pop)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", found.port).start()
    yield found
    await runner.cleanup()


def files_holding(folder: Path, text: str) -> list[str]:
    """Every file under `folder` whose bytes hold `text`."""
    return [
        str(path)
        for path in sorted(folder.rglob("*"))
        if path.is_file() and text.encode() in path.read_bytes()
    ]


async def test_a_pin_is_never_in_any_log_journal_or_webhook_body(
    lab_paths: LabPaths,
    credentials: dict[str, str],
    tmp_path: Path,
    shop: Shop,
    watch: AriWatch,
) -> None:
    plans = tmp_path / "plans"
    plans.mkdir()
    url = f"http://127.0.0.1:{shop.port}"
    (plans / "pinlab.yaml").write_text(PLAN.format(url=f"{url}/verify"), encoding="utf-8")
    state = tmp_path / "state"
    state.mkdir()
    daemon = DaemonProcess(credentials, state, plans, REPO / "tests" / "agents")
    daemon.env["IVR_LOG_LEVEL"] = "debug"
    daemon.config.write_text(
        daemon.config.read_text() + f"screen_pop: {{url: '{url}/pop'}}\n", encoding="utf-8"
    )
    daemon.start()
    try:
        await asyncio.to_thread(daemon.wait_health, 200, 20)
        assert daemon.api("POST", "/api/agents/agent3/sign-in")[0] == 200
        agent = LabAgent.named(lab_paths, "agent3", talk_seconds=2, record_from_to=True)
        with agent:
            script = CallScript("900", CALLER, keys=f"{ORDER}#,w2,{PIN}")
            caller = asyncio.create_task(sip_call(lab_paths, script, timeout=90))
            channel = await watch.channel_of(CALLER)
            pop = await asyncio.wait_for(shop.pops.get(), 45)
            # While the agent talks, the call's live record is in the store (the journal's
            # SQLite file and its write-ahead log): without the PIN.
            talking = files_holding(state, PIN)
            assert await caller == 0, "SIPp saw the call fail"
            await asyncio.to_thread(daemon.wait_log, rf"event=call.ended call={channel} ", 20)
            invites = json.dumps(agent.invites()) + agent.messages()
            assert "INVITE sip:" in invites and "order_status" in invites
        status, kept = daemon.api("GET", "/api/agents/agent3/screen-pop")
        metrics = daemon.metrics()
    finally:
        daemon.stop()

    # The backend verified the PIN, and the call went on to the agent because of it.
    assert shop.verified == [{"order": ORDER, "pin": PIN}]
    answered = daemon.notes("answered")
    assert [note["call"] for note in answered] == [channel]
    assert answered[0]["var_order"] == ORDER and answered[0]["var_pin"] == "***"
    # The agent sees the order number; the PIN only as masked.
    body = json.loads(pop)
    assert body["variables"] == {"order": ORDER, "pin": "***"} and body["agent"] == "agent3"
    assert status == 200 and kept == body
    # The PIN is nowhere: not in the webhook body, the API, the metrics or the agent's phone...
    assert PIN.encode() not in pop
    assert PIN not in json.dumps(kept) and PIN not in metrics and PIN not in invites
    # ...nor in any line the daemon logged (at debug) or any file it wrote (the journal's
    # SQLite file with its write-ahead log, live state, callbacks)...
    assert any("event=call.collected" in line and "var=pin" in line for line in daemon.lines)
    assert [line for line in daemon.lines if PIN in line] == []
    assert files_holding(state, ORDER) != [], "the journal should hold the order number"
    assert talking == [] and files_holding(state, PIN) == []
    assert [kind for _, kind, fields in daemon.journal() if PIN in json.dumps(fields)] == []
    # ...nor in Asterisk's logs (its messages, CDRs, whatever it writes there).
    assert files_holding(lab_paths.inside("/var/log/asterisk"), PIN) == []
