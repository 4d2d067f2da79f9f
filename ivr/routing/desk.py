"""The routing desk: the site's roster and its one Router: presence, agents' requests, team
shifts, and when the router next needs a look (wrap-ups, misses, max-waits run out).

A site without a roster still has a desk (`Desk.without_roster()`): it has no agents, and
queue nodes hand their callers off instead of holding them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from ivr.clock import sooner
from ivr.plan.queues import QueueSpec
from ivr.routing.agents import TRUNK_PREFIX, AgentState
from ivr.routing.results import QueueStats
from ivr.routing.roster import Roster
from ivr.routing.router import Router

AgentAction = Literal["sign-in", "sign-out", "pause", "resume"]


class Desk:
    """Agents and queues of the site, and what they mean for the calls waiting."""

    def __init__(
        self, roster: Roster, queues: Iterable[QueueSpec], *, staffed: bool = True
    ) -> None:
        self.roster = roster
        self.staffed = staffed
        self.router_queues = tuple(queues)
        self.router = Router(roster, self.router_queues)
        self._agent_by_endpoint = {a.endpoint.lower(): a.id for a in roster.agents}
        self.teams_with_people = tuple(sorted({a.team for a in roster.agents}))
        self._kept: dict[str, dict[str, Any]] = {}  # agent id -> the record last given to keep
        self._shift_due: float | None = None  # when a team next goes on or off duty
        self._shifts_known = False

    @classmethod
    def without_roster(cls) -> Desk:
        """The desk of a site whose agents folder holds no roster."""
        return cls(Roster({}, ()), (), staffed=False)

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
            if view.state_since is not None and desk.router.agent(agent.id).state == view.state:
                desk.router.state_began(agent.id, view.state_since)
        desk.router.states_known(now)
        return desk

    def presence(
        self, endpoint: str, reachable: bool, busy: bool, now: float | None = None
    ) -> bool:
        """A softphone's state from AMI; False for a device that is no agent's."""
        agent = self._agent_by_endpoint.get(endpoint.lower())
        if agent is None:
            return False
        return self.router.set_presence(agent, reachable, busy, now)

    def request(self, agent_id: str, action: AgentAction, reason: str, now: float) -> bool:
        """Sign in, sign out, pause or resume; False when it changes nothing."""
        match action:
            case "sign-in":
                return self.router.sign_in(agent_id, now)
            case "sign-out":
                return self.router.sign_out(agent_id, now)
            case "pause":
                return self.router.pause(agent_id, reason or "break", now)
            case "resume":
                return self.router.resume(agent_id, now)

    def shifts(self, now: float) -> list[tuple[str, bool]]:
        """Put teams on or off duty as their shifts say, when a shift begins or ends; the
        teams whose duty changed, and whether they are on duty now."""
        if self._shifts_known and (self._shift_due is None or now < self._shift_due):
            return []
        self._shifts_known = True
        at = datetime.fromtimestamp(now, UTC)
        changed = []
        for team in self.roster.teams:
            on_duty = self.roster.on_duty(team, at)
            if self.router.set_on_duty(team, on_duty, now):
                changed.append((team, on_duty))
        change = self.roster.next_shift_change(at)
        self._shift_due = change.timestamp() if change is not None else None
        return changed

    def changed_agents(self) -> dict[str, dict[str, Any]]:
        """What a restart must keep of the agents whose facts changed since last asked
        (sign-in, pause and its reason, wrap-up, offers missed in a row); an agent whose
        record is the same as the last one given is left out. The record also says since
        when the agent shows the state it shows then, but a new time alone writes nothing
        (ringing and talking are no record's business: calls have their own)."""
        records: dict[str, dict[str, Any]] = {}
        for agent_id in self.router.changed_agents:
            if agent_id.startswith(TRUNK_PREFIX):
                continue
            view = self.router.agent(agent_id)
            record: dict[str, Any] = {
                "signed_in": view.signed_in,
                "pause_reason": view.pause_reason,
                "wrap_until": view.wrap_until,
                "misses": view.misses,
            }
            if self._kept.get(agent_id) != record:
                self._kept[agent_id] = record
                records[agent_id] = {**record, "state": str(view.state),
                                     "state_since": view.state_since}  # fmt: skip
        self.router.changed_agents.clear()
        return records

    def restore_agents(self, records: dict[str, dict[str, Any]], now: float) -> list[str]:
        """Agents come back as a restart found them, each in their state since when the
        record says, if it is the state they come back in (else since `now`, as everyone
        the records do not name); the ids restored."""
        restored = []
        for agent_id, record in sorted(records.items()):
            signed_in = bool(record.get("signed_in"))
            reason = record.get("pause_reason")
            wrap_until = record.get("wrap_until")
            misses = record.get("misses", 0)
            if self.router.restore(
                agent_id,
                signed_in,
                reason if isinstance(reason, str) and reason else None,
                float(wrap_until) if isinstance(wrap_until, int | float) else None,
                now,
                misses if isinstance(misses, int) else 0,
            ):
                self._kept[agent_id] = {
                    "signed_in": signed_in,
                    "pause_reason": reason,
                    "wrap_until": wrap_until,
                    "misses": misses,
                }
                restored.append(agent_id)
                since = record.get("state_since")
                state = self.router.agent(agent_id).state
                if isinstance(since, int | float) and since <= now and record.get("state") == state:
                    self.router.state_began(agent_id, float(since))
        self.router.states_known(now)
        return restored

    def agent_for(self, endpoint: str) -> str | None:
        """The agent whose softphone is `endpoint` (PJSIP/agent1), if any."""
        return self._agent_by_endpoint.get(endpoint.lower())

    def next_due(self) -> float | None:
        """When the router or a team's shift next needs a look, if ever."""
        return sooner(self.router.next_due(), self._shift_due)


@dataclass(frozen=True, slots=True)
class DeskFigures:
    """What the metrics show of the desk every second; counted as agents and callers change,
    so getting them costs the same at 50 agents or 5,000."""

    teams: tuple[str, ...]  # the teams people belong to (trunks left out)
    agents: Mapping[tuple[str, AgentState], int]  # people by (team, state); missing: 0
    queues: tuple[QueueStats, ...]
    open: Mapping[str, bool]  # queue -> a team that serves it is on shift


def figures(desk: Desk, now: float) -> DeskFigures:
    """The desk's figures for the metrics (`snapshot` is the API's, agent by agent)."""
    router = desk.router
    stats = tuple(router.queue_stats(now).values())
    return DeskFigures(
        teams=desk.teams_with_people,
        agents=router.agents_counted(),
        queues=stats,
        open={q.queue: router.queue_open(q.queue) for q in stats},
    )


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
                # Presence (AMI): an unregistered softphone is not rung, whatever `state` says.
                "reachable": view.reachable,
                # Since when (epoch seconds) the agent shows `state`; the daemon's start at
                # the latest, unless the agent's live record kept it.
                "state_since": view.state_since,
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
