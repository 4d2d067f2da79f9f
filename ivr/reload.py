"""Hot reload: plans and roster are read again on SIGHUP or when a file in their folders
changes; anything broken is refused with `ivr check`'s messages and the last good stays live.

Calls in progress keep the plan version they started with. A changed roster or changed
queues wait for a moment when no caller is held (the router holds live state); agents keep
their sign-in and pause across the swap.
"""

from __future__ import annotations

import asyncio
import logging

from ivr.config import Settings
from ivr.journal.metrics import Metrics
from ivr.logs import event
from ivr.plan.errors import PlanError
from ivr.plan.load import load_book, plan_files
from ivr.plan.plan import PlanBook
from ivr.plan.queues import QueueSpec
from ivr.plan.watch import fingerprint
from ivr.routing.desk import Desk
from ivr.routing.results import RoutingError
from ivr.routing.roster import Roster, RosterError, load_roster
from ivr.switchboard.switchboard import Switchboard

log = logging.getLogger("ivr.daemon")


def load_plans(settings: Settings) -> PlanBook:
    """Every plan in the dial-plan folder, checked; PlanError when any is wrong."""
    book, warnings = load_book(plan_files([settings.dialplans]))
    for warning in warnings:
        event(log, "plan.warning", logging.WARNING, problem=str(warning))
    return book


def load_roster_files(settings: Settings) -> Roster | None:
    """The roster from the agents folder, or None when it holds no roster file."""
    files = plan_files([settings.agents]) if settings.agents.exists() else []
    return load_roster(files) if files else None


def load_desk(settings: Settings, plans: PlanBook) -> Desk:
    """The routing desk from the roster folder and the plans' queues."""
    roster = load_roster_files(settings)
    if roster is None:
        return Desk.without_roster()
    return Desk(roster, plans.queue_specs())


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

    def reload(self) -> bool:
        """Load plans and roster again; False (and the last good kept) when anything is wrong."""
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
        init_queue_series(self.metrics, plans)
        if roster is not None:
            self._pending_desk = (roster, plans.queue_specs())
            self.swap_desk()
        self.metrics.plan_reloads.labels(result="ok").inc()
        versions = ",".join(f"{p.name}@{p.version}" for p in plans.plans)
        event(log, "plan.reloaded", plans=versions)
        return True

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
        does; retry a deferred desk swap meanwhile."""
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
                self.swap_desk()
