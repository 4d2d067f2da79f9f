"""Questions the router answers without changing anything: places, waits, staffing, states
and queue stats."""

from __future__ import annotations

from ivr.plan.queues import QueueSpec
from ivr.routing.agents import AgentState, AgentView
from ivr.routing.queues import CallState
from ivr.routing.results import QueueStats, RoutingError
from ivr.routing.roster import TeamSpec
from ivr.routing.skills import Requirement
from ivr.routing.state import RouterState


class Questions(RouterState):
    """What callers, adapters, the API and metrics ask the router."""

    def next_due(self) -> float | None:
        """When tick/dispatch should run next (a wrap-up, a miss or a max-wait ends), if ever.
        It may be early (a timer that no longer matters), never late."""
        timers, deadlines = self._timers, self._deadlines
        if timers and deadlines:
            return min(timers[0][0], deadlines[0][0])
        if timers:
            return timers[0][0]
        return deadlines[0][0] if deadlines else None

    def position(self, call_id: str) -> int | None:
        """1-based place among the waiting callers of the caller's queue; 0 while an offer
        rings or after the answer; None if the call is not held."""
        caller = self._calls.get(call_id)
        if caller is None:
            return None
        return self._waitlist.position(caller) if caller.state is CallState.WAITING else 0

    def estimated_wait(self, call_id: str, now: float) -> float | None:
        """Seconds the caller may still wait: position x recent mean handle time (talk +
        wrap-up, last calls of the queue) / agents staffed for their requirement. 0 when an
        offer rings; None when unknown (no call ended yet, nobody staffed, or not held)."""
        self._advance(now)
        caller = self._calls.get(call_id)
        if caller is None:
            return None
        if caller.state is not CallState.WAITING:
            return 0.0
        mean = self._queues[caller.queue].handle_times.mean()
        staffed = self._staffed(caller.requirement)
        if mean is None or staffed == 0:
            return None
        return self._waitlist.position(caller) * mean / staffed

    def staffed_for(self, call_id: str) -> int:
        """Agent places (signed in, on duty, not paused, reachable) that could serve the held
        caller as their requirement stands now; 0 for a call not held."""
        caller = self._calls.get(call_id)
        return self._staffed(caller.requirement) if caller is not None else 0

    def in_house_on_duty(self, queue: str) -> bool:
        """True when an in-house team that serves `queue` is on shift now."""
        teams = self._queue(queue).requirement.teams & self._in_house
        return any(team not in self._off_duty for team in teams)

    def queue_open(self, queue: str) -> bool:
        """True while a team that serves `queue` is on shift (its opening hours)."""
        return any(team not in self._off_duty for team in self._queue(queue).requirement.teams)

    def team_spec(self, team: str) -> TeamSpec:
        """A team of the roster (RoutingError when there is none)."""
        spec = self._team_specs.get(team)
        if spec is None:
            raise RoutingError(f"team '{team}' is not in the roster")
        return spec

    def call_state(self, call_id: str) -> CallState | None:
        """Where a call stands, or None when the router does not hold it."""
        caller = self._calls.get(call_id)
        return caller.state if caller is not None else None

    def queue_spec(self, queue: str) -> QueueSpec:
        """The spec of `queue` (RoutingError when there is no such queue)."""
        return self._queue(queue).spec

    def agent(self, agent_id: str) -> AgentView:
        """A snapshot of one agent (trunks are `trunk:TEAM`)."""
        return self._agent(agent_id).view()

    def team_of(self, agent_id: str) -> str:
        """The team of one agent (a trunk's is its partner's), without a whole snapshot."""
        return self._agent(agent_id).team

    def agents_by_state(self) -> dict[AgentState, list[str]]:
        """Agent ids by state (every state present), in roster order."""
        result: dict[AgentState, list[str]] = {state: [] for state in AgentState}
        for agent in self._agents.values():
            result[agent.state].append(agent.id)
        return result

    def agents_counted(self) -> dict[tuple[str, AgentState], int]:
        """How many people (trunks left out) of each team show each state; pairs with no one
        are left out. Kept as agents change: it costs the same whatever their number."""
        self._settle()
        return {
            (team, state): people
            for team, counts in self._shown.items()
            for state, people in counts.items()
            if people
        }

    def queue_stats(self, now: float) -> dict[str, QueueStats]:
        """Every queue at a glance; the figures are kept as callers and agents change, so this
        costs the same whatever the number of agents and callers."""
        self._advance(now)
        self._settle()
        stats: dict[str, QueueStats] = {}
        for name, state in self._queues.items():
            waiting = len(self._waitlist.queue_keys(name))
            tally = state.tally
            stats[name] = QueueStats(
                queue=name,
                waiting=waiting,
                ringing=len(state.callers) - waiting,  # held, not answered, not waiting
                talking=len(state.talking),
                longest_wait=state.longest_wait(now),
                agents_staffed=tally.staffed,
                agents_available=tally.available,
                answered=state.answered,
                answered_in_sla=state.answered_in_sla,
                abandoned=state.abandoned,
                exited=state.exited,
                handle_time=state.handle_times.mean(),
            )
        return stats

    def _staffed(self, requirement: Requirement) -> int:
        return self._tally(requirement).places
