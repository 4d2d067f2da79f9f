"""A PIN typed in a call reaches no sink: not the log, the SQLite file, the screen pop webhook,
the agent's API view or the metrics; the order number typed beside it does reach the agent."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from prometheus_client import CollectorRegistry

from ivr.calls.ports import NoteSink
from ivr.calls.redaction import MASK
from ivr.journal.fanout import LogSink
from ivr.journal.metrics import Metrics
from ivr.journal.metrics_sink import MetricsSink
from ivr.journal.screen_pop import ScreenPops
from ivr.journal.store_sink import JournalSink
from ivr.store.sqlite import SqliteJournal, SqliteLive
from tests.unit.calls.test_sensitive import ORDER, PIN, answered_call, plan


@dataclass
class Hook:
    url: str = ""
    bodies: list[bytes] = field(default_factory=list)


@pytest.fixture
async def hook() -> AsyncIterator[Hook]:
    found = Hook()

    async def receive(request: web.Request) -> web.Response:
        found.bodies.append(await request.read())
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/pop", receive)
    server = TestServer(app)
    await server.start_server()
    found.url = str(server.make_url("/pop"))
    yield found
    await server.close()


@dataclass
class Sinks:
    """The daemon's journal sinks over one call, and what each of them kept."""

    log: str
    store: bytes
    pop_bodies: list[bytes]
    pop_kept: dict[str, Any]
    metrics: bytes


async def run_call(
    text: str, hook: Hook, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> Sinks:
    journal = SqliteJournal(tmp_path / "journal.sqlite3")
    live = SqliteLive.sharing(journal)
    pops = ScreenPops(hook.url)
    metrics = Metrics(CollectorRegistry())
    sinks: list[NoteSink] = [LogSink(), pops, JournalSink(journal), MetricsSink(metrics)]

    def on_disk() -> bytes:
        # The file as a disk holds it, old pages and the write-ahead log included.
        return b"".join(path.read_bytes() for path in sorted(tmp_path.glob("journal.sqlite3*")))

    with caplog.at_level(logging.DEBUG):
        shop, call_id = answered_call(text, live=live, sinks=sinks)
        journal.flush()
        talking = on_disk()  # the call's live record is there now
        shop.wait(5)
        shop.pbx.hang_up(call_id)
        shop.wait(5)
    await pops.close()
    live.close()
    journal.close()
    lines = [f"{r.getMessage()} {getattr(r, 'fields', '')}" for r in caplog.records]
    return Sinks(
        "\n".join(lines),
        talking + on_disk(),
        hook.bodies,
        pops.latest["agent1"],
        metrics.render()[0],
    )


async def test_a_pin_reaches_no_sink_and_the_order_number_reaches_the_agent(
    hook: Hook, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    seen = await run_call(plan(), hook, tmp_path, caplog)
    assert "call.answered" in seen.log and f"'var_order': '{ORDER}'" in seen.log
    assert PIN not in seen.log
    assert ORDER.encode() in seen.store and PIN.encode() not in seen.store
    [body] = seen.pop_bodies
    assert ORDER.encode() in body and PIN.encode() not in body
    assert seen.pop_kept["variables"] == {"order": ORDER, "pin": MASK}
    assert b"ivr_calls_total" in seen.metrics and PIN.encode() not in seen.metrics


async def test_sensitive_false_lets_the_agent_see_the_pin(
    hook: Hook, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    seen = await run_call(plan(sensitive="sensitive: false"), hook, tmp_path, caplog)
    assert seen.pop_kept["variables"] == {"order": ORDER, "pin": PIN}
    [body] = seen.pop_bodies
    assert PIN.encode() in body
    assert PIN in seen.log and PIN.encode() in seen.store
