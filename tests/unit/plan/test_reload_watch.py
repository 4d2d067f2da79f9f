"""The reload watcher: whatever a file holds it keeps watching and says why it refused; the
check runs off the event loop, so calls go on while a big plan is read."""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path

import pytest

import ivr.reload
from ivr.clock import VirtualClock
from ivr.config import Settings
from ivr.journal.metrics import Metrics
from ivr.plan.load import load_book
from ivr.reload import Reloader
from ivr.site_load import LoadedSite
from ivr.switchboard.switchboard import Switchboard

PLAN = """\
name: shop
numbers: ["100"]
nodes:
  start: {type: play, prompt: sound:WORD, next: bye}
  bye: {type: hangup}
"""
# Once crashed the checker (PyYAML raised ValueError, no mark): now a located refusal.
IMPOSSIBLE_DATE = PLAN + "schedules:\n  hours: {timezone: UTC, closed: [2026-02-30]}\n"


class Watched:
    """A Reloader over a plans folder, with an asyncio.Event for each reload's end."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        (folder / "shop.yaml").write_text(PLAN.replace("WORD", "hello"))
        self.settings = Settings(
            dialplans=folder, agents=folder / "no-roster", reload_poll_seconds=0.02
        )
        book, _ = load_book([folder / "shop.yaml"])
        self.switchboard = Switchboard(book, VirtualClock())
        self.metrics = Metrics()
        self.reloader = Reloader(self.settings, self.switchboard, self.metrics)
        self.results: asyncio.Queue[bool] = asyncio.Queue()
        reload = self.reloader.reload

        async def reported() -> bool:
            result = await reload()
            await self.results.put(result)
            return result

        self.reloader.reload = reported  # type: ignore[method-assign]

    def write(self, text: str) -> None:
        (self.folder / "shop.yaml").write_text(text)

    async def next_result(self) -> bool:
        return await asyncio.wait_for(self.results.get(), timeout=10)

    def first_sound(self) -> str:
        plan = self.switchboard.plans.plans[0]
        return plan.spec.nodes["start"].prompt[0]  # type: ignore[union-attr]

    def reloads(self, result: str) -> float:
        value = self.metrics.registry.get_sample_value("ivr_plan_reloads_total", {"result": result})
        return value or 0.0


def refusals(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The problems of the `plan.reload_refused` log lines so far."""
    return [
        str(getattr(r, "fields", {}).get("problem"))
        for r in caplog.records
        if r.getMessage() == "plan.reload_refused"
    ]


async def test_the_watcher_outlives_a_file_that_crashes_the_checker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    watched = Watched(tmp_path)
    real_load = ivr.reload.load

    def load(settings: Settings) -> LoadedSite:
        # A checker bug for one kind of content (what a new crash class would look like).
        if "CRASH" in (tmp_path / "shop.yaml").read_text():
            raise ZeroDivisionError("a checker bug")
        return real_load(settings)

    monkeypatch.setattr(ivr.reload, "load", load)
    caplog.set_level(logging.INFO, logger="ivr.daemon")
    task = asyncio.create_task(watched.reloader.watch())
    try:
        watched.write(PLAN.replace("WORD", "CRASHES"))
        assert await watched.next_result() is False
        assert "ZeroDivisionError: a checker bug" in refusals(caplog)[0]
        assert watched.first_sound() == "sound:hello"  # the last good plan stays live

        watched.write(IMPOSSIBLE_DATE.replace("WORD", "beep"))
        assert await watched.next_result() is False
        refused = refusals(caplog)[-1]
        assert "shop.yaml:7:" in refused and "'2026-02-30' is not a date" in refused

        watched.write(PLAN.replace("WORD", "goodbye"))
        assert await watched.next_result() is True
        assert watched.first_sound() == "sound:goodbye"
        assert not task.done()
        assert watched.reloads("failed") == 2 and watched.reloads("ok") == 1
    finally:
        task.cancel()


async def test_a_reload_does_not_stop_the_event_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    watched = Watched(tmp_path)
    real_load = ivr.reload.load
    ticked = threading.Event()

    def slow_load(settings: Settings) -> LoadedSite:
        # The check cannot finish before the loop has ticked: were it run on the loop, the
        # loop could never tick and this would give up.
        if not ticked.wait(timeout=10):
            raise TimeoutError("the event loop did not tick while the plans were checked")
        return real_load(settings)

    monkeypatch.setattr(ivr.reload, "load", slow_load)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1
            if ticks == 5:
                ticked.set()

    ticking = asyncio.create_task(ticker())
    try:
        watched.write(PLAN.replace("WORD", "goodbye"))
        assert await asyncio.wait_for(watched.reloader.reload(), timeout=15) is True
        assert ticks >= 5
        assert watched.first_sound() == "sound:goodbye"
    finally:
        ticking.cancel()


async def test_a_sighup_during_a_reload_waits_for_it(tmp_path: Path) -> None:
    watched = Watched(tmp_path)
    watched.write(PLAN.replace("WORD", "goodbye"))
    first = watched.reloader.request_reload()
    second = watched.reloader.request_reload()
    assert await asyncio.wait_for(first, 10) and await asyncio.wait_for(second, 10)
    assert watched.reloads("ok") == 2 and watched.first_sound() == "sound:goodbye"
