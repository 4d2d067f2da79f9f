"""The `ivr run` daemon: wiring, lifecycle, signals and hot reload."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from ivr import __version__
from ivr.api import make_app
from ivr.backend import HttpLookups
from ivr.call_metrics import MetricsSink, export_desk
from ivr.calls.agents import AgentPresence, AgentRequest
from ivr.calls.desk import Desk, queue_specs, snapshot
from ivr.calls.driver import CallDriver
from ivr.calls.switchboard import Switchboard
from ivr.clock import SystemClock
from ivr.config import Settings
from ivr.journal import Journal, LogSink
from ivr.logs import event
from ivr.metrics import Metrics
from ivr.pbx.ami import AmiLink
from ivr.pbx.ami_publish import CallSummaryPublisher
from ivr.pbx.ari import AriPbx
from ivr.plan.errors import PlanError
from ivr.plan.load import load_book, plan_files
from ivr.plan.plan import PlanBook
from ivr.plan.watch import fingerprint
from ivr.routing.events import RoutingError
from ivr.routing.queues import QueueSpec
from ivr.routing.roster import Roster, RosterError, load_roster
from ivr.screen_pop import ScreenPops
from ivr.store.sink import JournalSink, open_journal

log = logging.getLogger("ivr.daemon")


def load_roster_files(settings: Settings) -> Roster | None:
    """The roster from the agents folder, or None when it holds no roster file."""
    files = plan_files([settings.agents]) if settings.agents.exists() else []
    return load_roster(files) if files else None


def load_desk(settings: Settings, plans: PlanBook) -> Desk | None:
    """The routing desk from the roster folder and the plans' queues; None without a roster."""
    roster = load_roster_files(settings)
    return Desk(roster, queue_specs(plans)) if roster is not None else None


def load_plans(settings: Settings) -> PlanBook:
    """Every plan in the dial-plan folder, checked; PlanError when any is wrong."""
    book, warnings = load_book(plan_files([settings.dialplans]))
    for warning in warnings:
        event(log, "plan.warning", logging.WARNING, problem=str(warning))
    return book


class Daemon:
    """One daemon serving one Asterisk: ARI for calls, AMI for the rest, HTTP for ops."""

    def __init__(self, settings: Settings, plans: PlanBook, desk: Desk | None = None) -> None:
        self.settings = settings
        self.metrics = Metrics()
        self.clock = SystemClock()
        self.desk = desk
        self.switchboard = Switchboard(plans, self.clock, desk)
        self.ami = AmiLink(
            settings.ami,
            settings.reconnect,
            self._status("ami"),
            on_presence=lambda device, ok, busy: self.driver.feed(AgentPresence(device, ok, busy)),
        )
        self.ari = AriPbx(
            settings.ari, settings.reconnect, lambda e: self.driver.feed(e), self._status("ari")
        )
        self.lookups = HttpLookups(lambda e: self.driver.feed(e))
        self.screen_pops = ScreenPops(settings.screen_pop.url)
        self.journal_store = JournalSink(open_journal(settings), settings.store.journal_days)
        journal = Journal(
            [
                LogSink(),
                MetricsSink(self.metrics),
                self.journal_store,
                CallSummaryPublisher(self.ami),
                self.screen_pops,
            ]
        )
        self.driver = CallDriver(self.switchboard, self.ari, self.clock, journal, self.lookups)
        self._stopping = asyncio.Event()
        self._pending_desk: tuple[Roster, list[QueueSpec]] | None = None
        for interface in ("ari", "ami"):
            self.metrics.pbx_connected.labels(interface=interface).set(0)

    def snapshot(self) -> dict[str, Any]:
        """Agents and queues now (the API's view)."""
        assert self.desk is not None
        return snapshot(self.desk, self.clock.now())

    def request(self, agent_id: str, action: str, reason: str) -> dict[str, Any] | None:
        """An agent's request from the API; the agent as they stand afterwards."""
        assert self.desk is not None
        if agent_id not in {a.id for a in self.desk.roster.agents}:
            return None
        self.driver.feed(AgentRequest(agent_id, action, reason))  # type: ignore[arg-type]
        agents: list[dict[str, Any]] = self.snapshot()["agents"]
        return next(a for a in agents if a["id"] == agent_id)

    def screen_pop(self, agent_id: str) -> dict[str, Any] | None:
        """The latest screen pop of an agent's calls."""
        return self.screen_pops.latest.get(agent_id)

    def health(self) -> dict[str, bool]:
        """Which PBX links are up."""
        return {"ari": self.ari.connected, "ami": self.ami.connected}

    def reload(self) -> bool:
        """Load plans and roster again; anything broken is refused and the last good stays."""
        try:
            plans = load_plans(self.settings)
            roster = load_roster_files(self.settings)
        except (PlanError, RosterError) as exc:
            kind = "plan" if isinstance(exc, PlanError) else "roster"
            for problem in exc.problems:
                event(log, f"{kind}.reload_refused", logging.ERROR, problem=str(problem))
            self.metrics.plan_reloads.labels(result="failed").inc()
            return False
        self.switchboard.reload(plans)
        if roster is not None:
            self._pending_desk = (roster, queue_specs(plans))
            self._swap_desk()
        self.metrics.plan_reloads.labels(result="ok").inc()
        versions = ",".join(f"{p.name}@{p.version}" for p in plans.plans)
        event(log, "plan.reloaded", plans=versions)
        return True

    def _swap_desk(self) -> None:
        """Put a changed roster or changed queues live once no caller waits or talks."""
        if self._pending_desk is None or self.desk is None:
            self._pending_desk = None
            return
        roster, queues = self._pending_desk
        if roster == self.desk.roster and queues == list(self.desk.router_queues):
            self._pending_desk = None
            return
        now = self.clock.now()
        if not self.desk.idle(now):
            event(log, "roster.reload_deferred", reason="calls in queues; retried when idle")
            return
        try:
            desk = self.desk.successor(roster, queues, now)
        except RoutingError as exc:
            event(log, "roster.reload_refused", logging.ERROR, problem=str(exc))
            self._pending_desk = None
            return
        self.desk = self.switchboard.desk = desk
        self._pending_desk = None
        event(log, "roster.reloaded", agents=len(roster.agents), queues=len(queues))

    def stop(self) -> None:
        """Begin a graceful stop (SIGTERM, SIGINT)."""
        self._stopping.set()

    async def run(self) -> None:
        """Serve until stopped, then let calls finish their step and hand back the rest."""
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.stop)
        loop.add_signal_handler(signal.SIGHUP, self.reload)
        tokens = [t.get_secret_value() for t in self.settings.api.tokens]
        app = make_app(self.health, self.metrics, self if self.desk else None, tokens)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        http = self.settings.http
        await web.TCPSite(runner, http.host, http.port).start()
        ari_task = asyncio.create_task(self.ari.run())
        watch_task = asyncio.create_task(self._watch_plans())
        gauges_task = asyncio.create_task(self._export_gauges())
        await self.ami.start()
        plans = ",".join(f"{p.name}@{p.version}" for p in self.switchboard.plans.plans)
        event(log, "daemon.started", version=__version__, http=http.listen,
              app=self.settings.ari.app, plans=plans)  # fmt: skip
        await self._stopping.wait()
        await self._drain()
        for task in (ari_task, watch_task, gauges_task):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.ari.close()
        await self.ami.close()
        await self.lookups.close()
        await self.screen_pops.close()
        self.journal_store.close()
        await runner.cleanup()
        event(log, "daemon.stopped")

    async def _watch_plans(self) -> None:
        """Reload when a plan file changes (an editor's save, a deploy), as SIGHUP does."""
        folders = (self.settings.dialplans, self.settings.agents)
        seen = [fingerprint(folder) for folder in folders]
        while True:
            await asyncio.sleep(self.settings.reload_poll_seconds)
            now = [fingerprint(folder) for folder in folders]
            if now != seen:
                seen = now
                event(log, "plan.changed", folders=",".join(map(str, folders)))
                self.reload()
            elif self._pending_desk is not None:
                self._swap_desk()

    async def _export_gauges(self) -> None:
        """Agents by state and callers waiting, refreshed for every scrape to see."""
        while self.desk is not None:
            export_desk(self.metrics, self.snapshot())
            await asyncio.sleep(1.0)

    async def _drain(self) -> None:
        self.switchboard.stop_accepting()
        deadline = time.monotonic() + self.settings.drain_seconds
        event(log, "daemon.draining", calls=len(self.switchboard.calls))
        while self.switchboard.calls and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        self.driver.run(self.switchboard.hand_back_all())
        await self.ari.flush(timeout=1.0)

    def _status(self, interface: str) -> Callable[[bool], None]:
        def changed(up: bool) -> None:
            self.metrics.pbx_connected.labels(interface=interface).set(1 if up else 0)

        return changed
