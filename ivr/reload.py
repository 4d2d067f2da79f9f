"""Hot reload: plans and roster are read again on SIGHUP or when a file in their folders
changes; anything broken is refused with `ivr check`'s messages and the last good stays live.

Reading and checking run in a worker thread (a big plan takes a while and calls must not
wait for it); only the swap of the result happens on the event loop. Whatever a file holds,
the watcher keeps watching: every refusal is logged (`plan.reload_refused`,
`roster.reload_refused`) and counted as a failed reload.

Calls in progress keep the plan version they started with. A changed roster or changed
queues wait for a moment when no caller is held (the router holds live state); agents keep
their sign-in and pause across the swap.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from ivr.config import Settings
from ivr.journal.metrics import Metrics
from ivr.logs import event
from ivr.plan.plan import PlanBook
from ivr.plan.queues import QueueSpec
from ivr.plan.watch import Fingerprint, fingerprint
from ivr.routing.results import RoutingError
from ivr.routing.roster import Roster
from ivr.site_load import LoadedSite, SiteError, SiteUnreadable, load_site
from ivr.switchboard.switchboard import Switchboard

log = logging.getLogger("ivr.daemon")


def load(settings: Settings) -> LoadedSite:
    """The site's plans and roster as the settings name them, checked (`load_site`)."""
    return load_site([settings.dialplans], settings.agents)


def log_warnings(site: LoadedSite) -> None:
    """Each warning of a loaded site as a `plan.warning` log line."""
    for warning in site.warnings:
        event(log, "plan.warning", logging.WARNING, problem=str(warning))


def init_queue_series(metrics: Metrics, plans: PlanBook) -> None:
    """Every queue's series at zero from the start and on reload: rates see its first call."""
    for spec in plans.queue_specs():
        metrics.init_queue(spec.name)


class Reloader:
    """Reloads the switchboard's plans and desk; swaps a changed desk in once it is idle."""

    def __init__(self, settings: Settings, switchboard: Switchboard, metrics: Metrics) -> None:
        self.settings = settings
        self.switchboard = switchboard
        self.metrics = metrics
        self._pending_desk: tuple[Roster, list[QueueSpec]] | None = None
        self._lock = asyncio.Lock()  # one reload at a time: a SIGHUP during a watcher's reload
        self._requested: set[asyncio.Task[bool]] = set()
        self._folders = (settings.dialplans, settings.agents)
        # What the files looked like when last read: an edit after this is a change.
        self._seen = _fingerprints(self._folders)

    async def reload(self) -> bool:
        """Load plans and roster again; False (and the last good kept) when anything is wrong.

        Never raises: whatever the files hold, the refusal is logged and counted.
        """
        async with self._lock:
            try:
                self._seen = await asyncio.to_thread(_fingerprints, self._folders)
                site = await asyncio.to_thread(load, self.settings)
            except SiteError as exc:
                for problem in exc.problems:
                    if not problem.warning:
                        kind = exc.kind(problem)
                        event(log, f"{kind}.reload_refused", logging.ERROR, problem=str(problem))
                return self._failed()
            except SiteUnreadable as exc:
                event(log, "plan.reload_refused", logging.ERROR, problem=str(exc))
                return self._failed()
            except Exception as exc:
                # A check that crashes is a bug, not a reason to stop watching: the last good
                # plans stay live and the next edit is read again.
                log.debug("reload check failed", exc_info=True)
                why = f"internal error while checking: {type(exc).__name__}: {exc}"
                event(log, "plan.reload_refused", logging.ERROR, problem=why)
                return self._failed()
            self._go_live(site)
            return True

    def request_reload(self) -> asyncio.Task[bool]:
        """Start a reload from a signal handler (SIGHUP); the task is kept until it ends."""
        task = asyncio.get_running_loop().create_task(self.reload())
        self._requested.add(task)
        task.add_done_callback(self._requested.discard)
        return task

    def _failed(self) -> bool:
        self.metrics.plan_reloads.labels(result="failed").inc()
        return False

    def _go_live(self, site: LoadedSite) -> None:
        log_warnings(site)
        self.switchboard.reload(site.plans)
        init_queue_series(self.metrics, site.plans)
        if site.roster is not None:
            self._pending_desk = (site.roster, site.queues)
            self.swap_desk()
        self.metrics.plan_reloads.labels(result="ok").inc()
        versions = ",".join(f"{p.name}@{p.version}" for p in site.plans.plans)
        event(log, "plan.reloaded", plans=versions)

    def swap_desk(self) -> None:
        """Put a changed roster or changed queues live once no caller waits or talks."""
        desk = self.switchboard.desk
        if self._pending_desk is None or not desk.staffed:
            # A roster that appears while the daemon runs without one waits for a restart.
            self._pending_desk = None
            return
        roster, queues = self._pending_desk
        if roster == desk.roster and queues == list(desk.router_queues):
            self._pending_desk = None
            return
        now = self.switchboard.clock.now()
        if not desk.idle(now):
            event(log, "roster.reload_deferred", reason="calls in queues; retried when idle")
            return
        try:
            self.switchboard.desk = desk.successor(roster, queues, now)
        except RoutingError as exc:
            event(log, "roster.reload_refused", logging.ERROR, problem=str(exc))
            self._pending_desk = None
            return
        self._pending_desk = None
        event(log, "roster.reloaded", agents=len(roster.agents), queues=len(queues))

    async def watch(self) -> None:
        """Reload when a plan or roster file changes (an editor's save, a deploy), as SIGHUP
        does; retry a deferred desk swap meanwhile. Runs until cancelled, whatever happens."""
        while True:
            await asyncio.sleep(self.settings.reload_poll_seconds)
            try:
                now = await asyncio.to_thread(_fingerprints, self._folders)
                if now != self._seen:
                    event(log, "plan.changed", folders=",".join(map(str, self._folders)))
                    await self.reload()
                elif self._pending_desk is not None:
                    self.swap_desk()
            except Exception as exc:
                # Nothing may end the watcher: later edits would be ignored until SIGHUP.
                log.debug("reload watcher failed", exc_info=True)
                event(log, "plan.watch_failed", logging.ERROR,
                      problem=f"{type(exc).__name__}: {exc}", fix="still watching")  # fmt: skip


def _fingerprints(folders: tuple[Path, ...]) -> list[Fingerprint]:
    return [fingerprint(folder) for folder in folders]
