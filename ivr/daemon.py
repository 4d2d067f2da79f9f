"""The `ivr run` daemon: wiring, lifecycle, signals and hot reload."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp import web

from ivr import __version__
from ivr.callbacks.book import DAY, CallbackBook, CallbackRules, Refusal
from ivr.callbacks.task import CallbackTask
from ivr.calls.events import RecordingControl
from ivr.calls.legs import AgentPresence, AgentRequest
from ivr.clock import SystemClock
from ivr.config import Settings
from ivr.http.app import make_app
from ivr.http.recordings import RecordingAccess
from ivr.journal.fanout import LogSink, NoteFanout
from ivr.journal.metrics import Metrics
from ivr.journal.metrics_sink import MetricsSink, export_desk
from ivr.journal.screen_pop import ScreenPops
from ivr.journal.survey_alert import SurveyAlerts
from ivr.logs import event
from ivr.lookups.http import HttpLookups
from ivr.pbx.ami.link import AmiLink
from ivr.pbx.ami.publish import CallSummaryPublisher
from ivr.pbx.ari.pbx import AriPbx
from ivr.plan.errors import PlanError
from ivr.plan.load import load_book, plan_files
from ivr.plan.plan import PlanBook
from ivr.plan.queues import QueueSpec
from ivr.plan.watch import fingerprint
from ivr.recordings.fetch import fetch_stored
from ivr.recordings.keeper import RecordingKeeper
from ivr.recordings.prune import prune
from ivr.recordings.voicemail import VoicemailKeeper, list_voicemails
from ivr.routing.desk import Desk, snapshot
from ivr.routing.results import RoutingError
from ivr.routing.roster import Roster, RosterError, load_roster
from ivr.store.open import JournalSink, open_callbacks, open_journal
from ivr.switchboard.driver import CallDriver, NoteSink
from ivr.switchboard.switchboard import Switchboard

log = logging.getLogger("ivr.daemon")
prune_log = logging.getLogger("ivr.recordings")
PRUNE_EVERY = 86_400.0  # recordings past their retention go once a day


def load_roster_files(settings: Settings) -> Roster | None:
    """The roster from the agents folder, or None when it holds no roster file."""
    files = plan_files([settings.agents]) if settings.agents.exists() else []
    return load_roster(files) if files else None


def load_desk(settings: Settings, plans: PlanBook) -> Desk | None:
    """The routing desk from the roster folder and the plans' queues; None without a roster."""
    roster = load_roster_files(settings)
    return Desk(roster, plans.queue_specs()) if roster is not None else None


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
        self.callback_store = open_callbacks(settings)
        self.switchboard = Switchboard(plans, self.clock, desk, self._callback_book(desk))
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
        self._http: aiohttp.ClientSession | None = None  # for recordings kept by Asterisk
        recordings = settings.recordings
        self.recordings = RecordingKeeper(recordings.folder, self._fetch_recording,
                                          ZoneInfo(recordings.timezone))  # fmt: skip
        self.voicemails_kept = VoicemailKeeper(
            settings.callbacks.voicemail_folder, self._fetch_recording
        )
        # Spoken survey comments: beside the recordings, for the same supervisors, pruned
        # like them.
        self.comments_kept = VoicemailKeeper(
            recordings.folder, self._fetch_recording, kind="survey_comment", keep_days=90
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
        )
        self._stopping = asyncio.Event()
        self._pending_desk: tuple[Roster, list[QueueSpec]] | None = None
        for interface in ("ari", "ami"):
            self.metrics.pbx_connected.labels(interface=interface).set(0)
        self._init_queues()

    def _callback_book(self, desk: Desk | None) -> CallbackBook:
        """The callback rules of the settings, and the tasks the store kept (a restart)."""
        settings = self.settings.callbacks
        hours = None
        if settings.hours is not None and desk is not None:
            hours = desk.roster.schedules.get(settings.hours)
            if hours is None:
                event(log, "callbacks.unknown_hours", logging.ERROR, hours=settings.hours,
                      fix="name a schedule of the roster's schedules:")  # fmt: skip
        rules = CallbackRules(
            retry_delay=settings.retry_minutes * 60,
            max_attempts=settings.max_attempts,
            per_number_per_day=settings.per_number_per_day,
            hours=hours,
            dial=settings.dial,
            caller_id=settings.caller_id,
            ring_seconds=settings.ring_seconds,
        )
        kept = self.callback_store.load(since=self.clock.now() - DAY)
        tasks = [CallbackTask.from_json(task) for task in kept]
        event(log, "callbacks.loaded", pending=sum(t.status == "pending" for t in tasks))
        return CallbackBook(rules, tasks)

    async def _fetch_recording(self, name: str, dest: Path) -> int:
        """Copy a recording from Asterisk (which may run on another host) and remove it there."""
        if self._http is None:
            timeout = aiohttp.ClientTimeout(total=None, sock_connect=5, sock_read=30)
            self._http = aiohttp.ClientSession(timeout=timeout)
        ari = self.settings.ari
        secret = ari.password.get_secret_value()
        return await fetch_stored(self._http, ari.url, ari.user, secret, name, dest)

    def callbacks(self) -> list[dict[str, Any]]:
        """Callbacks still to make and the recent ones, for the API."""
        tasks = sorted(self.switchboard.callback_book.tasks.values(), key=lambda t: t.requested_at)
        return [task.to_json() for task in tasks]

    def request_callback(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """A callback the shop's website asks for: (HTTP status, the task or the error)."""
        try:
            window = (_moment(body.get("not_before")), _moment(body.get("not_after")))
        except ValueError as exc:
            return 400, {"error": "invalid-window", "message": str(exc)}
        number, queue = body.get("number"), body.get("queue")
        topic = body.get("topic", "")
        if not isinstance(number, str) or not isinstance(queue, str) or not isinstance(topic, str):
            message = 'give "number" and "queue" as text (and "topic" if any)'
            return 400, {"error": "invalid-request", "message": message}
        task, commands = self.switchboard.request_callback(number, queue, topic[:40], window)
        self.driver.run(commands)
        if isinstance(task, Refusal):
            status = 429 if task.reason == "limit" else 400
            return status, {"error": task.reason, "message": task.message}
        return 201, task.to_json()

    def pause_recording(self, call_id: str, pause: bool) -> bool:
        """Pause or resume a call's recording (API); False when no such call is recorded."""
        call = self.switchboard.calls.get(call_id)
        if call is None or getattr(call.step, "recording", None) is None:
            return False
        self.driver.feed(RecordingControl(call_id, pause))
        return True

    def voicemails(self) -> list[dict[str, Any]]:
        """Voicemail messages kept, newest first."""
        return list_voicemails(self.settings.callbacks.voicemail_folder)

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
        self._init_queues()
        if roster is not None:
            self._pending_desk = (roster, plans.queue_specs())
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

    def _init_queues(self) -> None:
        """Every queue's series at zero from the start: rates see its first call."""
        for spec in self.switchboard.plans.queue_specs():
            self.metrics.init_queue(spec.name)

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
        recordings = self.settings.recordings
        access = RecordingAccess(
            recordings.folder,
            {name: token.get_secret_value() for name, token in recordings.supervisors.items()},
            ZoneInfo(recordings.timezone),
        )
        app = make_app(
            self.health, self.metrics, self if self.desk else None, tokens, recordings=access
        )
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        http = self.settings.http
        await web.TCPSite(runner, http.host, http.port).start()
        ari_task = asyncio.create_task(self.ari.run())
        watch_task = asyncio.create_task(self._watch_plans())
        gauges_task = asyncio.create_task(self._export_gauges())
        prune_task = asyncio.create_task(self._prune_recordings())
        await self.ami.start()
        plans = ",".join(f"{p.name}@{p.version}" for p in self.switchboard.plans.plans)
        event(log, "daemon.started", version=__version__, http=http.listen,
              app=self.settings.ari.app, plans=plans)  # fmt: skip
        await self._stopping.wait()
        await self._drain()
        for task in (ari_task, watch_task, gauges_task, prune_task):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
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
        self.callback_store.close()
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

    async def _prune_recordings(self) -> None:
        """Delete recordings past their retention: at start, then once a day."""
        folder = self.settings.recordings.folder
        while True:
            if folder.is_dir():
                try:
                    now = datetime.now(UTC)
                    deleted = await asyncio.to_thread(prune, folder, now, prune_log)
                    event(log, "recordings.pruned", files=len(deleted))
                except OSError as exc:
                    event(log, "recordings.prune_failed", logging.ERROR, error=str(exc))
            await asyncio.sleep(PRUNE_EVERY)

    async def _export_gauges(self) -> None:
        """Agents by state and callers waiting, refreshed for every scrape to see."""
        while True:
            if self.desk is not None:
                export_desk(self.metrics, self.snapshot())
            self.metrics.callbacks_pending.set(len(self.switchboard.callback_book.pending()))
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


def _moment(value: object) -> float | None:
    """A window bound from the API: epoch seconds, or an ISO 8601 time with its offset."""
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError(f"{value!r} has no UTC offset; write e.g. 2026-11-24T10:00:00+03:00")
        return moment.timestamp()
    raise ValueError("a time must be epoch seconds or ISO 8601 text")
