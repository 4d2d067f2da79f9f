"""The `ivr run` daemon: wiring, lifecycle, signals and hot reload."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Callable

from aiohttp import web

from ivr import __version__
from ivr.api import make_app
from ivr.call_metrics import MetricsSink
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

log = logging.getLogger("ivr.daemon")


def load_plans(settings: Settings) -> PlanBook:
    """Every plan in the dial-plan folder, checked; PlanError when any is wrong."""
    book, warnings = load_book(plan_files([settings.dialplans]))
    for warning in warnings:
        event(log, "plan.warning", logging.WARNING, problem=str(warning))
    return book


class Daemon:
    """One daemon serving one Asterisk: ARI for calls, AMI for the rest, HTTP for ops."""

    def __init__(self, settings: Settings, plans: PlanBook) -> None:
        self.settings = settings
        self.metrics = Metrics()
        self.clock = SystemClock()
        self.switchboard = Switchboard(plans, self.clock)
        self.ami = AmiLink(settings.ami, settings.reconnect, self._status("ami"))
        self.ari = AriPbx(
            settings.ari, settings.reconnect, lambda e: self.driver.feed(e), self._status("ari")
        )
        journal = Journal([LogSink(), MetricsSink(self.metrics), CallSummaryPublisher(self.ami)])
        self.driver = CallDriver(self.switchboard, self.ari, self.clock, journal)
        self._stopping = asyncio.Event()
        for interface in ("ari", "ami"):
            self.metrics.pbx_connected.labels(interface=interface).set(0)

    def health(self) -> dict[str, bool]:
        """Which PBX links are up."""
        return {"ari": self.ari.connected, "ami": self.ami.connected}

    def reload(self) -> bool:
        """Load the plans again; a broken plan is refused and the last good ones stay live."""
        try:
            plans = load_plans(self.settings)
        except PlanError as exc:
            for problem in exc.problems:
                event(log, "plan.reload_refused", logging.ERROR, problem=str(problem))
            self.metrics.plan_reloads.labels(result="failed").inc()
            return False
        self.switchboard.reload(plans)
        self.metrics.plan_reloads.labels(result="ok").inc()
        versions = ",".join(f"{p.name}@{p.version}" for p in plans.plans)
        event(log, "plan.reloaded", plans=versions)
        return True

    def stop(self) -> None:
        """Begin a graceful stop (SIGTERM, SIGINT)."""
        self._stopping.set()

    async def run(self) -> None:
        """Serve until stopped, then let calls finish their step and hand back the rest."""
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.stop)
        loop.add_signal_handler(signal.SIGHUP, self.reload)
        runner = web.AppRunner(make_app(self.health, self.metrics), access_log=None)
        await runner.setup()
        http = self.settings.http
        await web.TCPSite(runner, http.host, http.port).start()
        ari_task = asyncio.create_task(self.ari.run())
        watch_task = asyncio.create_task(self._watch_plans())
        await self.ami.start()
        plans = ",".join(f"{p.name}@{p.version}" for p in self.switchboard.plans.plans)
        event(log, "daemon.started", version=__version__, http=http.listen,
              app=self.settings.ari.app, plans=plans)  # fmt: skip
        await self._stopping.wait()
        await self._drain()
        for task in (ari_task, watch_task):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.ari.close()
        await self.ami.close()
        await runner.cleanup()
        event(log, "daemon.stopped")

    async def _watch_plans(self) -> None:
        """Reload when a plan file changes (an editor's save, a deploy), as SIGHUP does."""
        folder = self.settings.dialplans
        seen = fingerprint(folder)
        while True:
            await asyncio.sleep(self.settings.reload_poll_seconds)
            now = fingerprint(folder)
            if now != seen:
                seen = now
                event(log, "plan.changed", folder=str(folder))
                self.reload()

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
