"""The agent side of the router: signing in and out, pauses, team shifts and device presence."""

from __future__ import annotations

from heapq import heappush

from ivr.routing.results import RoutingError
from ivr.routing.state import RouterState


class AgentSide(RouterState):
    """Events about agents; each takes effect for new offers at once, never for a ring or call
    already in progress."""

    def sign_in(self, agent_id: str, now: float) -> bool:
        """The agent starts work (available, misses forgotten). False if already signed in."""
        self._advance(now)
        agent = self._agent(agent_id)
        if agent.signed_in:
            return False
        agent.signed_in = True
        agent.pause_reason = None
        agent.misses = 0
        agent.idle_since = now
        self._refresh(agent)
        return True

    def sign_out(self, agent_id: str, now: float | None = None) -> bool:
        """The agent stops work (no new offers). False if already signed out."""
        self._at(now)
        agent = self._agent(agent_id)
        if not agent.signed_in:
            return False
        agent.signed_in = False
        agent.pause_reason = None
        self._refresh(agent)
        return True

    def pause(self, agent_id: str, reason: str = "break", now: float | None = None) -> bool:
        """No new offers until resume. False if signed out or already paused for `reason`."""
        self._at(now)
        agent = self._agent(agent_id)
        if not reason:
            raise RoutingError(f"agent '{agent_id}': a pause needs a reason, e.g. 'break'")
        if not agent.signed_in or agent.pause_reason == reason:
            return False
        agent.pause_reason = reason
        self._refresh(agent)
        return True

    def resume(self, agent_id: str, now: float | None = None) -> bool:
        """End a pause (misses forgotten). False if not paused."""
        self._at(now)
        agent = self._agent(agent_id)
        if agent.pause_reason is None:
            return False
        agent.pause_reason = None
        agent.misses = 0
        self._refresh(agent)
        return True

    def set_on_duty(self, team: str, on_duty: bool, now: float | None = None) -> bool:
        """A team's shift begins or ends: off duty means no new offers. True if it changed."""
        self._at(now)
        if team not in self._teams:
            raise RoutingError(f"team '{team}' is not in the roster")
        if on_duty:
            self._off_duty.discard(team)
        else:
            self._off_duty.add(team)
        changed = False
        for agent in self._members[team]:
            if agent.on_duty != on_duty:
                agent.on_duty = on_duty
                self._refresh(agent)
                changed = True
        return changed

    def set_presence(
        self, agent_id: str, reachable: bool, busy: bool, now: float | None = None
    ) -> bool:
        """Device state from AMI. Unreachable, or busy with a call the router did not give,
        means no offers. Agents start reachable and not busy. True if anything changed."""
        self._at(now)
        agent = self._agent(agent_id)
        changed = (agent.reachable, agent.busy) != (reachable, busy)
        agent.reachable = reachable
        agent.busy = busy
        self._refresh(agent)
        return changed

    def restore(
        self,
        agent_id: str,
        signed_in: bool,
        pause_reason: str | None,
        wrap_until: float | None,
        now: float,
        misses: int = 0,
    ) -> bool:
        """An agent's sign-in, pause, wrap-up and misses as kept before a restart; False when
        the agent is no longer in the roster."""
        self._at(now)
        agent = self._agents.get(agent_id)
        if agent is None or agent.is_trunk:
            return False
        agent.signed_in = signed_in
        agent.misses = max(0, misses)
        agent.pause_reason = pause_reason if signed_in else None
        agent.idle_since = now
        if wrap_until is not None and wrap_until > now:
            agent.wrap_until = wrap_until
            heappush(self._timers, (wrap_until, next(self._seq), "", agent_id))
        self._refresh(agent)
        return True

    def state_began(self, agent_id: str, since: float) -> None:
        """The agent's current state began at `since` (kept across a restart or a reload)."""
        agent = self._agents.get(agent_id)
        if agent is not None:
            agent.since_state, agent.state_since = agent.state, since

    def states_known(self, now: float) -> None:
        """Agents whose state began before anything was known (the daemon's start): `now`."""
        self._at(now)
        for agent in self._agents.values():
            if agent.state_since is None:
                agent.since_state, agent.state_since = agent.state, now
