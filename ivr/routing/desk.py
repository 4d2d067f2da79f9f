"""The routing desk: the site's one Router, seen from the calls: presence, agents' requests,
and the timer that lets wrap-ups, misses and max-waits run out."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from ivr.calls.call import Call
from ivr.calls.commands import CancelTimer, Command, Note, StartTimer
from ivr.calls.legs import AgentPresence, AgentRequest
from ivr.plan.queues import QueueSpec
from ivr.routing.roster import Roster
from ivr.routing.router import Router

# The desk's timer is not any call's: it travels with an empty call id.
ROUTING_TIMER = ("", "routing")


class Desk:
    """Agents and queues of the site, and what they mean for the calls waiting."""

    def __init__(self, roster: Roster, queues: Iterable[QueueSpec]) -> None:
        self.roster = roster
        self.router_queues = tuple(queues)
        self.router = Router(roster, self.router_queues)
        self._agent_by_endpoint = {a.endpoint.lower(): a.id for a in roster.agents}
        self._timer_due: float | None = None
        self._shift_due: float | None = None  # when a team next goes on or off duty
        self._shifts_known = False

    def idle(self, now: float) -> bool:
        """True when no caller is held and no agent rings or talks: safe to swap the desk."""
        stats = self.router.queue_stats(now).values()
        return not any(q.waiting or q.ringing or q.talking for q in stats)

    def successor(self, roster: Roster, queues: Iterable[QueueSpec], now: float) -> Desk:
        """A desk for a new roster or new queues, agents keeping their sign-in and pause."""
        desk = Desk(roster, queues)
        known = {a.id for a in roster.agents}
        for agent in self.roster.agents:
            if agent.id not in known:
                continue
            view = self.router.agent(agent.id)
            if str(view.state) == "signed_out":
                continue
            desk.router.sign_in(agent.id, now)
            if view.pause_reason is not None:
                desk.router.pause(agent.id, view.pause_reason)
        return desk

    def presence(self, event: AgentPresence) -> bool:
        """A softphone's state from AMI; False for a device that is no agent's."""
        agent = self._agent_by_endpoint.get(event.endpoint.lower())
        if agent is None:
            return False
        return self.router.set_presence(agent, event.reachable, event.busy)

    def request(self, event: AgentRequest, now: float) -> bool:
        """Sign in, sign out, pause or resume; False when it changes nothing."""
        match event.action:
            case "sign-in":
                return self.router.sign_in(event.agent_id, now)
            case "sign-out":
                return self.router.sign_out(event.agent_id)
            case "pause":
                return self.router.pause(event.agent_id, event.reason or "break")
            case "resume":
                return self.router.resume(event.agent_id)

    def shifts(self, now: float) -> list[Command]:
        """Put teams on or off duty as their shifts say, when a shift begins or ends."""
        if self._shifts_known and (self._shift_due is None or now < self._shift_due):
            return []
        self._shifts_known = True
        at = datetime.fromtimestamp(now, UTC)
        commands: list[Command] = []
        for team in self.roster.teams:
            on_duty = self.roster.on_duty(team, at)
            if self.router.set_on_duty(team, on_duty):
                state = "on" if on_duty else "off"
                commands.append(Note("", "shift", {"team": team, "duty": state}))
        change = self.roster.next_shift_change(at)
        self._shift_due = change.timestamp() if change is not None else None
        return commands

    def agent_for(self, endpoint: str) -> str | None:
        """The agent whose softphone is `endpoint` (PJSIP/agent1), if any."""
        return self._agent_by_endpoint.get(endpoint.lower())

    def timer(self, now: float, also: float | None = None) -> list[Command]:
        """Re-arm the desk's timer for the next due moment (router, shifts, or `also`: the
        next callback), when it moved."""
        dues = [d for d in (self.router.next_due(), self._shift_due, also) if d is not None]
        due = min(dues, default=None)
        if due == self._timer_due:
            return []
        self._timer_due = due
        commands: list[Command] = [CancelTimer(*ROUTING_TIMER)]
        if due is not None:
            commands.append(StartTimer(*ROUTING_TIMER, max(0.0, due - now)))
        return commands

    def fired(self) -> None:
        """The desk's timer ran out."""
        self._timer_due = None


def caller_id(call: Call, queue: str) -> str:
    """What the agent's phone shows: the call's topic first, then who is calling."""
    topic = call.tags[-1] if call.tags else queue
    who = call.caller.name or call.caller.number or "unknown"
    name = "".join(ch for ch in f"{topic}: {who}" if ch not in '"<>\\')
    return f'"{name[:60]}" <{call.caller.number}>' if call.caller.number else f'"{name[:60]}"'


def snapshot(desk: Desk, now: float) -> dict[str, Any]:
    """Agents and queues as JSON-ready data, for the API."""
    router = desk.router
    agents = []
    for spec in desk.roster.agents:
        view = router.agent(spec.id)
        agents.append(
            {
                "id": spec.id,
                "name": spec.name,
                "team": spec.team,
                "endpoint": spec.endpoint,
                "state": str(view.state),
                "pause_reason": view.pause_reason,
            }
        )
    queues = [
        {
            "queue": stats.queue,
            "waiting": stats.waiting,
            "ringing": stats.ringing,
            "talking": stats.talking,
            "longest_wait": round(stats.longest_wait, 1),
            "agents_staffed": stats.agents_staffed,
            "agents_available": stats.agents_available,
            "answered": stats.answered,
            "abandoned": stats.abandoned,
            "open": router.queue_open(stats.queue),
        }
        for stats in router.queue_stats(now).values()
    ]
    return {"agents": agents, "queues": queues}
