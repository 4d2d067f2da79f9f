"""The desk, live, for the web page: `GET /api/events`, server-sent events.

On connect a listener gets the whole view it may see (`snapshot`): supervisors and ops the
desk (agents, queues, calls in progress, callbacks pending, today's CSAT/NPS), an agent their
own state, calls, screen pop and callback tasks. After that, `change` events carry only what
changed, at most one every `coalesce` seconds however many events the core handled.

The core's driver calls `DeskFeed.changed` after each batch of commands, but only while
somebody listens: with nobody on the page the hook is unset and a call costs nothing more.
Times are epoch seconds (`since`, `oldest_since`) with the server's `now` in every message,
so the page counts waits and times in state itself, without asking again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from ivr.calls.queue.wait import QueueWait
from ivr.http.desk_day import DayFigures
from ivr.http.principals import PRINCIPAL
from ivr.http.site import Site
from ivr.logs import event
from ivr.plan.queues import QueueSpec
from ivr.routing.desk import Desk
from ivr.routing.roster import AgentSpec

log = logging.getLogger("ivr.http")

KEYED = ("agents", "queues", "calls", "callbacks")  # sections sent key by key
DESK = "desk"  # a listener's scope: the whole desk; else an agent id
MAX_LISTENERS = 200  # open pages at once; more are refused with 503
BACKLOG = 32  # messages a slow page may fall behind before it is dropped (it reconnects)
DESK_ROLES = frozenset({"supervisor", "ops", "legacy"})
DISPOSITIONS = ("resolved", "follow-up", "order-placed", "complaint")


def mask_number(number: str) -> str:
    """A caller's number as the desk shows it to whoever is not on the call: the last four
    digits (+7******4567)."""
    if len(number) <= 4:
        return "*" * len(number)
    head = 2 if number.startswith("+") else 1
    return number[:head] + "*" * (len(number) - head - 4) + number[-4:]


@dataclass(eq=False)
class Listener:
    """One open page: what it may see (`scope`), what it was last sent, and its backlog."""

    scope: str
    queue: asyncio.Queue[str | None] = field(default_factory=lambda: asyncio.Queue(BACKLOG))
    last: dict[str, Any] = field(default_factory=dict)


class DeskFeed:
    """Builds the views, notices changes through the driver's hook, and pushes them."""

    def __init__(
        self,
        site: Site | None,
        day: DayFigures | None = None,
        *,
        coalesce: float = 0.25,
        heartbeat: float = 15.0,
    ) -> None:
        self.site = site
        self.day = day
        self.coalesce = coalesce
        self.heartbeat = heartbeat
        self.listeners: set[Listener] = set()
        self._pending: asyncio.TimerHandle | None = None
        self._serves: tuple[Desk, dict[str, tuple[str, ...]]] | None = None

    # The hook ---------------------------------------------------------------------------

    def changed(self) -> None:
        """Something may have changed: one look within `coalesce` s, for any number of calls."""
        if self._pending is None and self.listeners:
            loop = asyncio.get_running_loop()
            self._pending = loop.call_later(self.coalesce, self.publish)

    def _hook(self, on: bool) -> None:
        if self.site is None:
            return
        driver = self.site.driver
        hook: Callable[[], None] | None = self.changed if on else None
        driver.on_change = hook
        # A screen pop's earlier calls arrive from the store after the answer.
        self.site.screen_pops.on_change = hook

    # Listeners --------------------------------------------------------------------------

    def listen(self, scope: str) -> tuple[Listener, str]:
        """A new listener and its snapshot message."""
        if not self.listeners:
            self._hook(True)
        listener = Listener(scope)
        self.listeners.add(listener)
        now = self._now()
        view = self._view(scope, now, self._build(now, {scope}))
        listener.last = view
        return listener, _message("snapshot", {"now": now, **view})

    def leave(self, listener: Listener) -> None:
        """The page went away."""
        self.listeners.discard(listener)
        if not self.listeners:
            self._hook(False)
            if self._pending is not None:
                self._pending.cancel()
                self._pending = None

    def close_all(self) -> None:
        """The daemon stops: every stream ends now (the server must not wait for them)."""
        for listener in list(self.listeners):
            with contextlib.suppress(asyncio.QueueFull):
                listener.queue.put_nowait(None)
            self.leave(listener)

    def publish(self) -> None:
        """Send each listener what changed in its view since its last message."""
        self._pending = None
        if not self.listeners:
            return
        now = self._now()
        built = self._build(now, {listener.scope for listener in self.listeners})
        for listener in list(self.listeners):
            view = self._view(listener.scope, now, built)
            change = diff(listener.last, view)
            if not change:
                continue
            listener.last = view
            try:
                listener.queue.put_nowait(_message("change", {"now": now, **change}))
            except asyncio.QueueFull:
                # Too far behind: end its stream; its EventSource reconnects to a snapshot.
                while not listener.queue.empty():
                    listener.queue.get_nowait()
                listener.queue.put_nowait(None)
                self.leave(listener)

    # Views ------------------------------------------------------------------------------

    def _now(self) -> float:
        return self.site.now() if self.site is not None else 0.0

    def _build(self, now: float, scopes: set[str]) -> dict[str, Any]:
        """What every scope's view is made of, computed once for all listeners."""
        site = self.site
        if site is None or not site.desk.staffed:
            return {"staffed": False}
        desk = site.desk
        calls = call_views(site, now)
        agents = self._agent_views(desk, calls, now)
        built: dict[str, Any] = {"staffed": True, "agents": agents, "calls": calls}
        if DESK in scopes:
            built["queues"] = self._queue_views(desk, calls, now)
            built["callbacks_pending"] = site.switchboard.callback_book.pending_count()
            if self.day is not None:
                built["survey"] = self.day.view(now)["survey"]
        if scopes - {DESK}:
            built["tasks"] = self._task_views(site)
        return built

    def _view(self, scope: str, now: float, built: Mapping[str, Any]) -> dict[str, Any]:
        if not built.get("staffed"):
            return {"staffed": False}
        if scope == DESK:
            return {
                "staffed": True,
                "agents": built["agents"],
                "queues": built["queues"],
                "calls": {k: _masked(v) for k, v in built["calls"].items()},
                "callbacks_pending": built["callbacks_pending"],
                "survey": built.get("survey"),
            }
        assert self.site is not None
        desk = self.site.desk
        me = built["agents"].get(scope)
        serves = self._queues_served(desk).get(scope, ())
        tasks = built["tasks"]
        pop = self.site.screen_pops.latest.get(scope)
        if pop is not None:
            pop = dict(pop)  # a copy: the sink changes its pop in place (the disposition)
        mine = {
            k: v for k, v in built["calls"].items() if scope == v["agent"] or scope in v["ringing"]
        }
        my_tasks = {k: v for k, v in tasks.items() if v["queue"] in serves or v["agent"] == scope}
        return {
            "staffed": True,
            "me": me,
            "calls": mine,
            "pop": pop,
            "callbacks": my_tasks,
            "dispositions": list(getattr(desk.roster, "dispositions", DISPOSITIONS)),
            # Where a call may be transferred to (the page offers them as you type).
            "targets": {
                "queue": [spec.name for spec in desk.router_queues],
                "agent": [a.id for a in desk.roster.agents if a.id != scope],
            },
        }

    def _agent_views(
        self, desk: Desk, calls: Mapping[str, dict[str, Any]], now: float
    ) -> dict[str, dict[str, Any]]:
        talking = {c["agent"]: c["since"] for c in calls.values() if c["state"] == "talking"}
        router = desk.router
        views: dict[str, dict[str, Any]] = {}
        for spec in desk.roster.agents:
            view = router.agent(spec.id)
            state = str(view.state)
            # Kept by the router as states change, whether or not a page is open.
            since = view.state_since
            if state == "on_call" and spec.id in talking:
                since = talking[spec.id]
            views[spec.id] = {
                "id": spec.id,
                "name": spec.name,
                "team": spec.team,
                "state": state,
                "since": since,
                "pause_reason": view.pause_reason,
                # Presence from AMI: an unregistered softphone is not rung, whatever the state.
                "reachable": view.reachable,
                "wrap_until": view.wrap_until,
                "calls": list(view.calls),
            }
        return views

    def _queue_views(
        self, desk: Desk, calls: Mapping[str, dict[str, Any]], now: float
    ) -> dict[str, dict[str, Any]]:
        oldest: dict[str, float] = {}
        for call in calls.values():
            if call["state"] in ("waiting", "ringing"):
                queue = call["queue"]
                oldest[queue] = min(oldest.get(queue, call["since"]), call["since"])
        book = self.site.switchboard.callback_book if self.site is not None else None
        day = self.day.view(now)["queues"] if self.day is not None else {}
        specs = {spec.name: spec for spec in desk.router_queues}
        views: dict[str, dict[str, Any]] = {}
        for name, stats in desk.router.queue_stats(now).items():
            today = day.get(name, {})
            spec = specs.get(name)
            views[name] = {
                "queue": name,
                "waiting": stats.waiting,
                "ringing": stats.ringing,
                "talking": stats.talking,
                "oldest_since": oldest.get(name),
                "agents_staffed": stats.agents_staffed,
                "agents_available": stats.agents_available,
                "open": desk.router.queue_open(name),
                "sla_seconds": spec.sla_seconds if spec is not None else None,
                "answered_today": today.get("answered", 0),
                "abandoned_today": today.get("abandoned", 0),
                "service_level_today": today.get("service_level"),
                "callbacks_pending": book.pending_count(name) if book is not None else 0,
            }
        return views

    def _task_views(self, site: Site) -> dict[str, dict[str, Any]]:
        """Open callback tasks and those being dialled, for the agents' views."""
        tasks: dict[str, dict[str, Any]] = {}
        for task in site.switchboard.callback_book.pending():
            tasks[task.id] = {
                "task": task.id,
                "queue": task.queue,
                "topic": task.topic,
                "number": mask_number(task.number),
                "status": task.status,
                "attempts": task.attempts,
                "not_before": task.not_before,
                "not_after": task.not_after,
                "agent": None,
            }
        for dial in site.switchboard.callbacks.dials.values():
            task = dial.task
            agent = dial.agent or next(iter(dial.legs.values()), None)
            tasks[task.id] = {
                "task": task.id,
                "queue": task.queue,
                "topic": task.topic,
                "number": mask_number(task.number),
                "status": "connected" if dial.outcome == "connected" else "dialling",
                "attempts": task.attempts,
                "not_before": task.not_before,
                "not_after": task.not_after,
                "agent": agent,
            }
        return tasks

    def _queues_served(self, desk: Desk) -> dict[str, tuple[str, ...]]:
        """Agent id -> the queues whose skills and teams they meet (kept per desk)."""
        if self._serves is None or self._serves[0] is not desk:
            in_house = desk.roster.in_house_teams()
            served = {
                agent.id: tuple(q.name for q in desk.router_queues if _serves(agent, q, in_house))
                for agent in desk.roster.agents
            }
            self._serves = (desk, served)
        return self._serves[1]


def _serves(agent: AgentSpec, queue: QueueSpec, in_house: tuple[str, ...]) -> bool:
    teams = queue.teams if queue.teams is not None else in_house
    return agent.team in teams and all(
        agent.skills.get(skill, 0) >= level for skill, level in queue.skills.items()
    )


def call_views(site: Site, now: float) -> dict[str, dict[str, Any]]:
    """Calls in progress: where each is (menu, waiting, ringing, talking), since when, with
    whom; the caller's full number is only for the agent on the call (`_masked` for others)."""
    views: dict[str, dict[str, Any]] = {}
    for call in site.switchboard.calls.values():
        step = call.step
        queue = agent = None
        ringing: list[str] = []
        state, since = "menu", call.arrived_at
        if isinstance(step, QueueWait):
            queue = step.queue
            agent = step.agent
            if agent is not None:
                state, since = "talking", step.answered_at or step.joined_at
            else:
                ringing = sorted(set(step.legs.values()))
                state = "ringing" if ringing else "waiting"
                since = step.joined_at
        views[call.id] = {
            "call": call.id,
            "number": call.caller.number,
            "queue": queue,
            "agent": agent,
            "ringing": ringing,
            "state": state,
            "since": since,
            "topic": call.tags[-1] if call.tags else "",
            "language": call.language,
            "variables": call.shown_vars(),
        }
    return views


def _masked(call: dict[str, Any]) -> dict[str, Any]:
    """A call as the wallboard shows it: the number masked, no variables."""
    return {
        **{k: v for k, v in call.items() if k != "variables"},
        "number": mask_number(call["number"]),
    }


def diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """What a page must apply to `old` to get `new`: keyed sections (agents, queues, calls,
    callbacks) as {"set": {key: item}, "drop": [key]}, the others whole under "replace"."""
    patch: dict[str, Any] = {}
    replace: dict[str, Any] = {}
    for section, value in new.items():
        before = old.get(section)
        if before == value:
            continue
        if section in KEYED and isinstance(value, dict) and isinstance(before, dict):
            patch[section] = {
                "set": {k: v for k, v in value.items() if before.get(k) != v},
                "drop": [k for k in before if k not in value],
            }
        else:
            replace[section] = value
    change: dict[str, Any] = {}
    if patch:
        change["patch"] = patch
    if replace:
        change["replace"] = replace
    return change


def _message(kind: str, data: Mapping[str, Any]) -> str:
    return f"event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def scope_of(principal: object) -> str:
    """What a principal may watch: the desk, or an agent's own view; 403 for the website."""
    if principal is None:
        return DESK  # the API's tokens of before principals: they read the whole desk
    role = getattr(principal, "role", "")
    if role in DESK_ROLES:
        return DESK
    agent = getattr(principal, "agent", None)
    if role == "agent" and agent:
        return str(agent)
    raise web.HTTPForbidden(text="the desk's live view needs the role supervisor, ops or agent")


FEED = web.AppKey("desk_feed", DeskFeed)


def add_event_routes(app: web.Application, feed: DeskFeed) -> None:
    """GET /api/events: the server-sent stream of the caller's view of the desk."""

    async def events(request: web.Request) -> web.StreamResponse:
        scope = scope_of(request.get(PRINCIPAL))
        if len(feed.listeners) >= MAX_LISTENERS:
            raise web.HTTPServiceUnavailable(text="too many open desk pages; close some")
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-store",
                "X-Accel-Buffering": "no",  # a proxy in front must not hold the stream
            }
        )
        await response.prepare(request)
        listener, snapshot = feed.listen(scope)
        event(log, "desk.listening", scope=scope, listeners=len(feed.listeners))
        try:
            await response.write(b"retry: 2000\n" + snapshot.encode())
            while True:
                try:
                    message = await asyncio.wait_for(listener.queue.get(), feed.heartbeat)
                except TimeoutError:
                    message = ": still here\n\n"  # a comment: keeps proxies from closing it
                if message is None:
                    break
                await response.write(message.encode())
        except (ConnectionResetError, ConnectionError):
            pass  # the page went away
        finally:
            feed.leave(listener)
        return response

    async def closing(app: web.Application) -> None:
        feed.close_all()

    app[FEED] = feed
    app.on_shutdown.append(closing)
    # No HEAD: a stream has no end to answer a HEAD with.
    app.router.add_get("/api/events", events, allow_head=False)
