"""What the router knows, and the moves every side of it shares.

`RouterState` holds the facts: the agents (people and partner trunks) built from the roster,
the queues, the calls held, the pool of offerable agents, the wait list, the timers, what
changed since the last dispatch, and the staffing counts kept as agents change (tallies.py).
Its methods are the steps the caller side, the agent side and the offers all take: letting
time pass, keeping the pool and the counts in step with an agent, ending a call into
wrap-up, forgetting a call, and looking agents, queues and teams up.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable
from heapq import heappop, heappush

from ivr.plan.queues import QueueSpec
from ivr.routing.agents import TRUNK_PREFIX, AgentRecord, AgentState
from ivr.routing.pool import AgentPool
from ivr.routing.queues import CallState, HandleTimes, HeldCall, QueueState
from ivr.routing.results import RoutingError
from ivr.routing.roster import Roster
from ivr.routing.skills import Requirement
from ivr.routing.tallies import MAX_TALLIES, Tally
from ivr.routing.waitlist import NO_SKILL, WaitList


class RouterState:
    """The router's facts, built from the roster and the queues, and the moves shared by all."""

    def __init__(
        self, roster: Roster, queues: Iterable[QueueSpec], *, handle_window: int = 20
    ) -> None:
        self._agents: dict[str, AgentRecord] = {}
        for spec in roster.agents:
            self._agents[spec.id] = AgentRecord(
                id=spec.id,
                name=spec.name,
                endpoint=spec.endpoint,
                team=spec.team,
                skills=dict(spec.skills),
                max_concurrent=spec.max_concurrent,
                ordinal=len(self._agents),
            )
        for name, team in roster.teams.items():
            if team.trunk is not None:
                trunk_id = TRUNK_PREFIX + name
                self._agents[trunk_id] = AgentRecord(
                    id=trunk_id,
                    name=name,
                    endpoint=team.trunk.dial,
                    team=name,
                    skills=dict(team.trunk.skills),
                    max_concurrent=team.trunk.max_concurrent,
                    ordinal=len(self._agents),
                    is_trunk=True,
                    signed_in=True,
                )
        self._teams = frozenset(roster.teams)
        self._team_specs = dict(roster.teams)
        self._in_house = frozenset(roster.in_house_teams())
        self._off_duty: set[str] = set()  # teams whose shift is over
        # Partner trunks that list no skills sort calls themselves: they take any caller.
        self._open_trunks = frozenset(
            name for name, team in roster.teams.items() if team.trunk and not team.trunk.skills
        )
        # Every agent by skill (staffing counts), and how many have each skill (rarity).
        self._skilled: dict[str, list[AgentRecord]] = {}
        self._members: dict[str, list[AgentRecord]] = {team: [] for team in roster.teams}
        for agent in self._agents.values():
            for skill in agent.skills:
                self._skilled.setdefault(skill, []).append(agent)
            self._members[agent.team].append(agent)
        self._rarity = Counter({skill: len(agents) for skill, agents in self._skilled.items()})
        self._pool = AgentPool()
        self._waitlist = WaitList()
        self._calls: dict[str, HeldCall] = {}
        self._seq = itertools.count()
        # (due, seq, call_id, agent_id): wrap-up ends when call_id == "", else a miss expires.
        self._timers: list[tuple[float, int, str, str]] = []
        self._deadlines: list[tuple[float, int, str]] = []  # max-wait: (due, seq, call_id)
        self._dirty_callers: set[str] = set()  # waiting callers that may have new agents
        self._dirty_agents: set[str] = set()  # agents that became offerable
        # Agents whose facts changed since the desk last asked (their state is kept in the store).
        self.changed_agents: set[str] = set()
        # Counts kept as agents change (_refresh notes them, _settle counts them): people by
        # team and state, and the staffing of every requirement asked about (queues', and
        # callers' widened ones).
        self._shown: dict[str, dict[AgentState, int]] = {
            team: dict.fromkeys(AgentState, 0) for team in roster.teams
        }
        self._tallies: dict[Requirement, Tally] = {}
        self._unsettled: set[AgentRecord] = set()  # changed since the counts were asked for
        self._now: float | None = None  # the latest moment an event brought: time in state
        for agent in self._agents.values():
            self._refresh(agent)
        self._queues: dict[str, QueueState] = {}
        in_house = roster.in_house_teams()
        for queue in queues:
            if queue.name in self._queues:
                raise RoutingError(
                    f"queue '{queue.name}' is defined twice; give each queue its own name"
                )
            teams = queue.teams if queue.teams is not None else in_house
            if not teams:
                raise RoutingError(
                    f"queue '{queue.name}' has no teams: the roster has no in-house team; "
                    "list the teams that serve it under teams:"
                )
            requirement = Requirement.of(queue.skills, teams)
            self._check_teams(requirement, f"queue '{queue.name}'")
            for step in queue.overflow:
                if step.add_team is not None and step.add_team not in self._teams:
                    known = ", ".join(sorted(self._teams))
                    raise RoutingError(
                        f"queue '{queue.name}': overflow step '{step.label}' adds team "
                        f"'{step.add_team}', which is not in the roster (teams: {known})"
                    )
            self._queues[queue.name] = QueueState(
                queue,
                requirement,
                HandleTimes(handle_window),
                self._tally(requirement),
                self._meeting(requirement),
            )

    def _at(self, now: float | None) -> None:
        """An event's moment, for the time in state of the agents it changes."""
        if now is not None:
            self._now = now

    def _advance(self, now: float) -> None:
        self._now = now
        timers = self._timers
        while timers and timers[0][0] <= now:
            _, _, call_id, agent_id = heappop(timers)
            if not call_id:
                agent = self._agents[agent_id]
                if agent.wrap_until is not None and agent.wrap_until <= now:
                    agent.wrap_until = None
                    self._refresh(agent)
                continue
            caller = self._calls.get(call_id)
            if caller is not None and agent_id in caller.skip and caller.skip[agent_id] <= now:
                del caller.skip[agent_id]
                if caller.state is CallState.WAITING:
                    self._dirty_callers.add(call_id)

    def _refresh(self, agent: AgentRecord) -> None:
        """Keep the pool in step with the agent's facts (a newcomer to it is looked at next
        dispatch); the counts follow when next asked. Every change of an agent's facts ends
        here."""
        self.changed_agents.add(agent.id)
        self._unsettled.add(agent)
        state = agent.state
        if state is not agent.since_state:
            agent.since_state = state
            agent.state_since = self._now
        offerable = agent.offerable
        if offerable and agent.id not in self._pool:
            self._pool.add(agent)
            self._dirty_agents.add(agent.id)
        elif not offerable and agent.id in self._pool:
            self._pool.remove(agent)

    def _settle(self) -> None:
        """Move the agents changed since the counts were last asked for between counts:
        each change is counted once, and the routing hot path only notes the agent."""
        pool = self._pool
        for agent in self._unsettled:
            offerable = agent.id in pool
            if offerable != agent.counted_offerable:
                agent.counted_offerable = offerable
                available = 1 if offerable else -1
                for tally in agent.tallies:
                    tally.available += available
            staffed = agent.staffed
            if staffed != agent.counted_staffed:
                agent.counted_staffed = staffed
                step = 1 if staffed else -1
                places = step * agent.max_concurrent
                for tally in agent.tallies:
                    tally.staffed += step
                    tally.places += places
            if not agent.is_trunk:
                state = agent.state
                if state is not agent.shown:
                    counts = self._shown[agent.team]
                    if agent.shown is not None:
                        counts[agent.shown] -= 1
                    counts[state] += 1
                    agent.shown = state
        self._unsettled.clear()

    def _tally(self, requirement: Requirement) -> Tally:
        """The counts of the agents meeting `requirement`, followed from now on. The first
        time a requirement is asked about its agents are found once (by its rarest skill)."""
        self._settle()
        tally = self._tallies.get(requirement)
        if tally is not None:
            return tally
        tally = Tally(requirement)
        follow = len(self._tallies) < MAX_TALLIES
        for agent in self._may_meet(requirement):
            if not requirement.met_by(agent.skills, agent.team):
                continue
            if follow:
                agent.tallies.append(tally)
            if agent.counted_staffed:
                tally.staffed += 1
                tally.places += agent.max_concurrent
            tally.available += agent.counted_offerable
        if follow:
            self._tallies[requirement] = tally
        return tally

    def _meeting(self, requirement: Requirement) -> frozenset[str]:
        """The ids of the agents (trunks too) meeting `requirement`: fixed while the router
        lives, as its agents' skills and teams are."""
        return frozenset(
            agent.id
            for agent in self._may_meet(requirement)
            if requirement.met_by(agent.skills, agent.team)
        )

    def _may_meet(self, requirement: Requirement) -> Iterable[AgentRecord]:
        """A superset of the agents (trunks too) meeting `requirement`: those with its rarest
        skill, or everyone when it names no skill or lets a team in whatever its skills."""
        if requirement.skills and not requirement.open_teams:
            return min((self._skilled.get(name, []) for name, _ in requirement.skills), key=len)
        return self._agents.values()

    def _finish(self, caller: HeldCall, agent: AgentRecord, now: float) -> None:
        agent.talking.discard(caller.call_id)
        state = self._queues[caller.queue]
        wrapup = 0.0 if agent.is_trunk else state.spec.wrapup
        state.handle_times.add(now - caller.answered_at + wrapup)
        agent.idle_since = now
        if wrapup > 0:
            until = now + wrapup
            agent.wrap_until = until if agent.wrap_until is None else max(agent.wrap_until, until)
            heappush(self._timers, (until, next(self._seq), "", agent.id))
        self._forget(caller)
        self._refresh(agent)

    def _forget(self, caller: HeldCall) -> None:
        del self._calls[caller.call_id]
        state = self._queues[caller.queue]
        state.release(caller)
        state.talking.discard(caller.call_id)
        self._dirty_callers.discard(caller.call_id)

    def _index_skill(self, requirement: Requirement) -> str:
        if not requirement.skills or requirement.open_teams:
            return NO_SKILL
        if len(requirement.skills) == 1:
            return requirement.skills[0][0]
        return min((name for name, _ in requirement.skills), key=lambda s: (self._rarity[s], s))

    def _sorted(self, agent_ids: Iterable[str]) -> tuple[str, ...]:
        return tuple(sorted(agent_ids, key=lambda a: self._agents[a].ordinal))

    def _agent(self, agent_id: str) -> AgentRecord:
        agent = self._agents.get(agent_id)
        if agent is None:
            raise RoutingError(f"agent '{agent_id}' is not in the roster")
        return agent

    def _queue(self, name: str) -> QueueState:
        state = self._queues.get(name)
        if state is None:
            known = ", ".join(sorted(self._queues)) or "none"
            raise RoutingError(f"queue '{name}' is not defined (queues: {known})")
        return state

    def _check_teams(self, requirement: Requirement, who: str) -> None:
        if not requirement.teams:
            raise RoutingError(f"{who}: the requirement allows no team, so nobody could answer")
        unknown = sorted(requirement.teams - self._teams)
        if unknown:
            known = ", ".join(sorted(self._teams))
            raise RoutingError(f"{who}: team '{unknown[0]}' is not in the roster (teams: {known})")
