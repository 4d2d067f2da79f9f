"""The `ivr run` daemon: wiring and lifecycle (start, signals, drain, stop).

Hot reload lives in ivr/reload.py, the HTTP API in ivr/http/."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp import web

from ivr import __version__
from ivr.callbacks.book import DAY, CallbackBook
from ivr.calls.events import AgentPresence
from ivr.calls.notes import NoteKind
from ivr.calls.ports import NoteSink
from ivr.clock import SystemClock
from ivr.config import Settings
from ivr.failover.lease import Lease
from ivr.http.app import make_app
from ivr.http.desk_day import DayFigures, counted
from ivr.http.principals import Directory, directory_from
from ivr.http.recordings import RecordingAccess
from ivr.http.session import KIND as WEB_SESSION
from ivr.http.session import SessionPolicy, Sessions
from ivr.http.site import Site
from ivr.journal.caller_history import JournalHistory
from ivr.journal.fanout import LogSink, NoteFanout
from ivr.journal.metrics import ROLES, Metrics
from ivr.journal.metrics_sink import DeskGauges, MetricsSink
from ivr.journal.screen_pop import ScreenPops
from ivr.journal.store_sink import JournalSink, StoreMetrics
from ivr.journal.survey_alert import SurveyAlerts
from ivr.logs import event
from ivr.lookups.http import HttpLookups
from ivr.ops.retention import Masked, forget_numbers
from ivr.pbx.ami.link import AmiLink
from ivr.pbx.ami.publish import CallSummaryPublisher
from ivr.pbx.ari.pbx import AriPbx
from ivr.plan.plan import PlanBook
from ivr.recordings.fetch import fetch_stored
from ivr.recordings.keeper import RecordingKeeper
from ivr.recordings.prune import prune
from ivr.recordings.voicemail import VoicemailKeeper
from ivr.reload import Reloader, init_queue_series
from ivr.routing.desk import Desk, figures
from ivr.service.heap import trim_heap_forever
from ivr.service.state import ServiceState
from ivr.store.open import open_callbacks, open_journal, open_stores
from ivr.switchboard import checkpoints, closure
from ivr.switchboard.driver import CallDriver
from ivr.switchboard.switchboard import Switchboard

log = logging.getLogger("ivr.daemon")
prune_log = logging.getLogger("ivr.recordings")
PRUNE_EVERY = 86_400.0  # recordings past their retention go once a day
STORE_FLUSH_SECONDS = 5.0  # on stop, writes still waiting get this long to land


class Daemon:
    """One daemon serving one Asterisk: ARI for calls, AMI for the rest, HTTP for ops."""

    def __init__(self, settings: Settings, plans: PlanBook, desk: Desk) -> None:
        self.settings = settings
        self.metrics = Metrics()
        self.clock = SystemClock()
        # Writes go through a thread of their own: a slow or unreachable store never holds
        # the event loop (ivr/store/writer.py).
        self.stores = open_stores(settings, StoreMetrics(self.metrics))
        self.callback_store = self.stores.callbacks
        self.live_store = self.stores.live
        # Web sign-ins are kept in the store: a restart or a takeover signs nobody out. The
        # principals they belong to are known once run() has read them.
        self.web_sessions = Sessions(settings.sessions.hours * 3600, keep=self.live_store)
        self._principals: Directory | None = None
        self.switchboard = Switchboard(plans, self.clock, desk, self._callback_book(desk))
        self.ami = AmiLink(
            settings.ami,
            settings.reconnect,
            self._status("ami"),
            on_presence=lambda endpoint, ok, busy: self.driver.feed(
                AgentPresence(endpoint, ok, busy)
            ),
            on_event=lambda name: self.metrics.ami_events.labels(event=name).inc(),
        )
        self.ari = AriPbx(
            settings.ari, settings.reconnect, lambda e: self.driver.feed(e), self._status("ari")
        )
        self.lookups = HttpLookups(lambda e: self.driver.feed(e))
        # The pop's earlier calls come from the journal, read by the store's writer thread.
        history = JournalHistory(
            self.stores.writer,
            ZoneInfo(settings.recordings.timezone),
            calls=settings.screen_pop.previous_calls,
            days=settings.screen_pop.previous_days,
            timeout=settings.store.timeout_seconds,
            country=settings.callbacks.country,
        )
        self.screen_pops = ScreenPops(settings.screen_pop.url, history=history)
        # Today's answered, abandoned and survey scores, for the web page's wallboard.
        self.desk_day = DayFigures(ZoneInfo(settings.recordings.timezone))
        self.journal_store = JournalSink(self.stores.journal, settings.store.journal_days)
        self._http: aiohttp.ClientSession | None = None  # for recordings kept by Asterisk
        recordings = settings.recordings
        self.recordings = RecordingKeeper(recordings.folder, self._fetch_recording,
                                          ZoneInfo(recordings.timezone))  # fmt: skip
        self.voicemails_kept = VoicemailKeeper(
            settings.callbacks.voicemail_folder,
            self._fetch_recording,
            keep_days=settings.callbacks.voicemail_days,
        )
        # Spoken survey comments: beside the recordings, for the same supervisors, pruned
        # like them.
        self.comments_kept = VoicemailKeeper(
            recordings.folder, self._fetch_recording, kind=NoteKind.SURVEY_COMMENT, keep_days=90
        )
        sinks: list[NoteSink] = [
            LogSink(),
            MetricsSink(self.metrics),
            self.journal_store,
            CallSummaryPublisher(self.ami),
            self.screen_pops,
            self.recordings,
            self.voicemails_kept,
            self.comments_kept,
            self.desk_day,
        ]
        self.survey_alerts: SurveyAlerts | None = None
        if recordings.survey_alert_url:
            self.survey_alerts = SurveyAlerts(recordings.survey_alert_url, recordings.alert_at)
            sinks.append(self.survey_alerts)
        self.driver = CallDriver(
            self.switchboard,
            self.ari,
            self.clock,
            NoteFanout(sinks),
            self.lookups,
            self.callback_store,
            self.live_store,
        )
        self.reloader = Reloader(settings, self.switchboard, self.metrics)
        self._stopping = asyncio.Event()
        self.lease: Lease | None = None
        self.role = "single"
        self._prepared: asyncio.Task[None] | None = None  # _prepare_desk, at a take-over
        if settings.failover.enabled and settings.store.redis_url:
            holder = f"{socket.gethostname()}:{os.getpid()}"
            self.lease = Lease.from_url(settings.store.redis_url, settings.ari.app, holder,
                                        settings.failover.lease_seconds)  # fmt: skip
            self.ari.may_drive = lambda: self.lease is not None and self.lease.held
            self.live_store.fence = (self.lease.fence, self._lease_token)
            self.role = "standby"
        self.lease_lost = False
        # systemd's Type=notify: readiness, status, watchdog (no-ops outside systemd).
        self.service = ServiceState.from_environ(self.health, lambda: len(self.switchboard.calls))
        for interface in ("ari", "ami"):
            self.metrics.pbx_connected.labels(interface=interface).set(0)
        init_queue_series(self.metrics, plans)

    def _callback_book(self, desk: Desk) -> CallbackBook:
        """The callback rules of the settings, and the tasks the store kept (a restart)."""
        settings = self.settings.callbacks
        schedules = desk.roster.schedules if desk.staffed else None
        if settings.hours is not None and schedules is not None and settings.hours not in schedules:
            event(log, "callbacks.unknown_hours", logging.ERROR, hours=settings.hours,
                  fix="name a schedule of the roster's schedules:")  # fmt: skip
        rules = settings.rules(schedules)
        kept = self.callback_store.load(since=self.clock.now() - DAY)
        book = CallbackBook.from_store(rules, kept)
        for aside in book.refused:
            # Kept by an older version or edited by hand: marked failed and saved, so that it
            # is neither dialled nor loaded again.
            event(log, "callbacks.set_aside", logging.ERROR, task=aside.task_id, why=aside.why,
                  fix="book it again through the API if it is still wanted")  # fmt: skip
            if aside.task is not None:
                self.callback_store.save(aside.task.to_json())
        pending = sum(t.status == "pending" for t in book.tasks.values())
        event(log, "callbacks.loaded", pending=pending)
        return book

    def _recover(self, desk: Desk) -> None:
        """Agents and calls as the store kept them (a restart, a crash, a takeover): agents
        come back signed in and paused as they were; calls wait for ARI to report them."""
        agents: dict[str, dict[str, Any]] = {}
        for agent_id, record in self.live_store.load(checkpoints.AGENT).items():
            problem = checkpoints.unreadable(record)
            if problem is None:
                agents[agent_id] = record
            else:
                event(log, "state.refused", logging.ERROR, agent=agent_id, why=problem)
        restored = desk.restore_agents(agents, self.clock.now())
        calls = self.live_store.load(checkpoints.CALL)
        self.switchboard.recover(calls)
        # A line ops closed stays closed across a restart or a takeover.
        line = self.switchboard.line
        for key in line.restore(self.live_store.load(closure.LINE)):
            event(log, "state.refused", logging.ERROR, line=key, why="unknown record layout")
        for key, shut in line.closed.items():
            event(log, "line.still_closed", plan=key, message=shut.message, by=shut.by)
        refused = []
        if self._principals is not None:
            kept = self.live_store.load(WEB_SESSION)
            refused = self.web_sessions.restore(kept, self._principals)
        for key in refused:
            event(log, "state.refused", web_session=key[:12],
                  why="expired, unreadable, or its principal has no password any more")  # fmt: skip
        web = len(self.web_sessions)
        event(log, "state.loaded", agents=len(restored), calls=len(calls), web_sessions=web)

    async def _fetch_recording(self, name: str, dest: Path) -> int:
        """Copy a recording from Asterisk (which may run on another host) and remove it there."""
        if self._http is None:
            timeout = aiohttp.ClientTimeout(total=None, sock_connect=5, sock_read=30)
            self._http = aiohttp.ClientSession(timeout=timeout)
        ari = self.settings.ari
        secret = ari.password.get_secret_value()
        return await fetch_stored(self._http, ari.url, ari.user, secret, name, dest)

    def health(self) -> dict[str, Any]:
        """Which PBX links are up, and this daemon's role; a standby is healthy as such."""
        links = {"ari": self.ari.connected, "ami": self.ami.connected}
        ok = self.role == "standby" or all(links.values())
        # Ops closed the line (an emergency): healthy still, but monitoring should see it.
        closed = sorted(self.switchboard.line.closed)
        return {"ok": ok, "role": self.role, **links, "line": "closed" if closed else "open",
                "closed": closed}  # fmt: skip

    def _lease_token(self) -> int | None:
        return self.lease.token if self.lease is not None else None

    def _set_role(self, role: str) -> None:
        self.role = role
        for each in ROLES:
            self.metrics.role.labels(role=each).set(1 if each == role else 0)

    def stop(self) -> None:
        """Begin a graceful stop (SIGTERM, SIGINT)."""
        self.service.stop()
        self._stopping.set()

    async def run(self) -> int:
        """Serve until stopped, then let calls finish their step and hand back the rest; 0, or
        3 when the lease was lost (another daemon drives the calls now)."""
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.stop)
        loop.add_signal_handler(signal.SIGHUP, self.service.reloading(self.reloader.request_reload))
        self.service.start()
        # Who may use the API: principals, and the older api.tokens and supervisors' tokens.
        principals, deprecated = directory_from(self.settings)
        for warning in deprecated:
            event(log, "config.deprecated", logging.WARNING, message=warning)
        sessions = self.settings.sessions
        policy = SessionPolicy(sessions.hours * 3600, sessions.secure_cookie == "always",
                               sessions.failed_sign_ins)  # fmt: skip
        recordings = self.settings.recordings
        access = RecordingAccess(recordings.folder, tz=ZoneInfo(recordings.timezone))
        site = Site(
            self.switchboard,
            self.driver,
            self.screen_pops,
            self.settings.callbacks.voicemail_folder,
        )
        self._principals = principals
        app = make_app(self.health, self.metrics, site, recordings=access,
                       country=self.settings.callbacks.country, principals=principals,
                       sessions=policy, desk_day=self.desk_day,
                       open_sessions=self.web_sessions)  # fmt: skip
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        http = self.settings.http
        await web.TCPSite(runner, http.host, http.port).start()
        self._set_role(self.role)
        if not await self._take_lease():
            await self._close(runner)
            return 0
        self._take_over()
        ari_task = asyncio.create_task(self.ari.run())
        watch_task = asyncio.create_task(self.reloader.watch())
        gauges_task = asyncio.create_task(self._export_gauges())
        prune_task = asyncio.create_task(self._prune_recordings())
        retention_task = asyncio.create_task(self._forget_numbers())
        heap_task = asyncio.create_task(trim_heap_forever())
        await self.ami.start()
        plans = ",".join(f"{p.name}@{p.version}" for p in self.switchboard.plans.plans)
        event(log, "daemon.started", version=__version__, http=http.listen,
              app=self.settings.ari.app, plans=plans)  # fmt: skip
        tasks = [ari_task, watch_task, gauges_task, prune_task, retention_task, heap_task]
        if self.lease is not None:
            tasks.append(asyncio.create_task(self._hold_lease()))
        if self._prepared is not None:
            tasks.append(self._prepared)
        await self._stopping.wait()
        if not self.lease_lost:
            await self._drain()
        # The link closes itself before its task goes: a cancel in the middle of closing
        # would leave the HTTP session open.
        await self.ari.close()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(asyncio.shield(ari_task), 2.0)
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.lease is not None:
            # Handed back calls go to the standby at once, not after the lease runs out.
            await self.lease.release()
        await self._close(runner)
        return 3 if self.lease_lost else 0

    async def _take_lease(self) -> bool:
        """A standby waits for the lease; False when stopped first. Alone: True at once."""
        lease = self.lease
        if lease is None:
            return True
        event(log, "failover.standby", app=self.settings.ari.app, holder=lease.holder)
        every = self.settings.failover.renew_seconds
        while not await lease.acquire():
            self.service.standby()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), every)
            if self._stopping.is_set():
                return False
        self._set_role("active")
        event(log, "failover.active", app=self.settings.ari.app, token=lease.token)
        return True

    def _take_over(self) -> None:
        """Agents, calls and callbacks as the store has them now, then drive."""
        desk = self.switchboard.desk
        if self.lease is not None:
            self.switchboard.use_callback_book(self._callback_book(desk))
        self._recover(desk)
        # Notes from now on are counted as they go by; the journal tells the day before.
        self._prepared = asyncio.get_running_loop().create_task(
            self._prepare_desk(self.clock.now())
        )

    async def _prepare_desk(self, until: float) -> None:
        """The journal's part of the desk, in the store's thread: the screen pop history's
        indexes (built once on a journal of before them), then today's figures so far."""
        writer = self.stores.writer
        try:
            started = time.monotonic()
            if await asyncio.wrap_future(writer.submit(lambda store: store.index_history())):
                event(log, "store.indexed", index="caller history",
                      seconds=round(time.monotonic() - started, 3))  # fmt: skip
            start = self.desk_day.day_start(until)
            notes = await asyncio.wrap_future(
                writer.submit(lambda store: counted(store.read_journal(start, until)))
            )
            event(log, "desk.day_seeded", notes=self.desk_day.seed(notes, until))
        except Exception as exc:  # a store error: the wallboard counts from now on
            event(log, "desk.seed_failed", logging.ERROR, error=str(exc)[:200],
                  why="today's figures count from this start only")  # fmt: skip

    async def _hold_lease(self) -> None:
        """Renew the lease; once it is lost, stop at once, handing nothing back."""
        assert self.lease is not None
        every = self.settings.failover.renew_seconds
        while True:
            await asyncio.sleep(every)
            if not await self.lease.renew():
                self.lease_lost = True
                why = "another daemon took the lease; this one drives no call from now on"
                event(log, "failover.lease_lost", logging.ERROR, app=self.settings.ari.app,
                      why=why)  # fmt: skip
                self._stopping.set()
                return

    async def _close(self, runner: web.AppRunner) -> None:
        await self.service.close()
        await self.ari.close()
        await self.ami.close()
        await self.lookups.close()
        await self.screen_pops.close()
        await self.recordings.close(timeout=5)
        await self.voicemails_kept.close(timeout=5)
        await self.comments_kept.close(timeout=5)
        if self.survey_alerts is not None:
            await self.survey_alerts.close()
        if self._http is not None:
            await self._http.close()
        # What waits for the store lands now, within a bound (a store that is down loses it).
        await asyncio.to_thread(self.stores.writer.close, STORE_FLUSH_SECONDS)
        if self.lease is not None:
            await self.lease.close()
        await runner.cleanup()
        event(log, "daemon.stopped", role=self.role, lease_lost=self.lease_lost)

    async def _prune_recordings(self) -> None:
        """Delete recordings and voicemail past their retention: at start, then once a day."""
        folders = [
            (self.settings.recordings.folder, None),
            (self.settings.callbacks.voicemail_folder, self.settings.callbacks.voicemail_days),
        ]
        while True:
            for folder, default_days in folders:
                if not folder.is_dir():
                    continue
                try:
                    now = datetime.now(UTC)
                    deleted = await asyncio.to_thread(
                        prune, folder, now, prune_log, False, default_days
                    )
                    event(log, "recordings.pruned", folder=str(folder), files=len(deleted))
                except OSError as exc:
                    event(log, "recordings.prune_failed", logging.ERROR, error=str(exc))
            await asyncio.sleep(PRUNE_EVERY)

    async def _forget_numbers(self) -> None:
        """Callers' numbers past `store.caller_number_days`: masked at start, then daily, in a
        thread with connections of its own (docs/privacy.md)."""
        days = self.settings.store.caller_number_days
        while True:
            try:
                masked = await asyncio.to_thread(self._forget_numbers_now, days)
                event(log, "retention.numbers_masked", days=days,
                      journal_entries=masked.journal_entries,
                      callback_tasks=masked.callback_tasks)  # fmt: skip
            except Exception as exc:  # a store error must not end the daily task
                event(log, "retention.failed", logging.ERROR, error=str(exc)[:200])
            await asyncio.sleep(PRUNE_EVERY)

    def _forget_numbers_now(self, days: int) -> Masked:
        journal, callbacks = open_journal(self.settings), open_callbacks(self.settings)
        try:
            return forget_numbers(journal, callbacks, time.time() - days * 86_400)
        finally:
            journal.close()
            callbacks.close()

    async def _export_gauges(self) -> None:
        """Agents by state and callers waiting, refreshed for every scrape to see: from counts
        the desk and the book keep, so a tick costs the same at 50 agents or 5,000."""
        gauges = DeskGauges(self.metrics)
        while True:
            desk = self.switchboard.desk
            if desk.staffed:
                gauges.export(figures(desk, self.clock.now()))
            self.metrics.callbacks_pending.set(self.switchboard.callback_book.pending_count())
            for plan in self.switchboard.plans.plans:
                shut = self.switchboard.line.closed_for(plan.name) is not None
                self.metrics.line_closed.labels(plan=plan.name).set(1 if shut else 0)
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
            if up and interface == "ari":
                # Calls can be placed again: callbacks that fell due meanwhile go out now.
                self.driver.run(self.switchboard.review_callbacks())

        return changed
