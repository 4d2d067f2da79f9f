"""Agents handing an answered call on: the router's side of a transfer.

An answered call stays one held call from its first answer to its end, whichever agents it
passes through, so the queue counts it answered once. The target of a transfer is rung
directly (no wait list): it must be offerable now, and while it rings or consults it shows
`ringing` then `on_call`, so nobody offers it another caller meanwhile. When the call moves
on, the agent who let go of it goes to wrap-up as at the end of a call.
"""

from __future__ import annotations

from heapq import heappush

from ivr.routing.agents import AgentRecord
from ivr.routing.queues import CallState, HeldCall
from ivr.routing.state import RouterState


class Handover(RouterState):
    """reserve, consulting, release_target, hand_over, let_go_of, finish_others."""

    def reserve(self, agent_id: str, call_id: str, now: float) -> bool:
        """Ring `agent_id` directly for a call already answered by someone else; False when
        that agent cannot take a call now (signed out, paused, busy, already on this call)."""
        self._advance(now)
        agent = self._agents.get(agent_id)
        caller = self._calls.get(call_id)
        if agent is None or caller is None or caller.state is not CallState.TALKING:
            return False
        if not agent.offerable or call_id in agent.talking:
            return False
        agent.ringing.add(call_id)
        self._refresh(agent)
        return True

    def consulting(self, agent_id: str, call_id: str, now: float) -> bool:
        """The target answered: it now talks on the call (to the first agent, for now)."""
        self._advance(now)
        agent = self._agents.get(agent_id)
        if agent is None or call_id not in agent.ringing:
            return False
        agent.ringing.discard(call_id)
        agent.talking.add(call_id)
        agent.misses = 0
        self._refresh(agent)
        return True

    def release_target(self, agent_id: str, call_id: str, now: float) -> bool:
        """The target's ring or consult ended without taking the call (busy, no answer,
        cancelled): free again at once; no miss is counted, nobody was waiting on them."""
        self._advance(now)
        agent = self._agents.get(agent_id)
        if agent is None or call_id not in (agent.ringing | agent.talking):
            return False
        agent.ringing.discard(call_id)
        agent.talking.discard(call_id)
        agent.idle_since = now
        self._refresh(agent)
        return True

    def hand_over(self, call_id: str, to_agent: str, now: float) -> bool:
        """The call is the target's now (it consulted, or a blind transfer's ring answered):
        the agent who had it goes to wrap-up; the call's talk time starts again."""
        self._advance(now)
        caller = self._calls.get(call_id)
        target = self._agents.get(to_agent)
        if caller is None or target is None or caller.agent is None:
            return False
        if call_id in target.ringing:
            target.ringing.discard(call_id)
            target.talking.add(call_id)
        if call_id not in target.talking:
            return False
        previous = self._agents[caller.agent]
        if previous is not target:
            self._wrap_up(caller, previous, now)
        caller.agent = to_agent
        caller.answered_at = now
        self._refresh(target)
        return True

    def let_go_of(self, call_id: str, agent_id: str, now: float) -> bool:
        """One agent of a three-way call leaves it: wrap-up for them; when they held the call,
        `stays_with` must already talk on it (see hand_over). False when they were not on it."""
        self._advance(now)
        caller = self._calls.get(call_id)
        agent = self._agents.get(agent_id)
        if caller is None or agent is None or call_id not in agent.talking:
            return False
        if caller.agent == agent_id:
            return False  # the holder leaves through hand_over, so the call has an owner
        self._wrap_up(caller, agent, now)
        return True

    def finish_others(self, call_id: str, now: float) -> tuple[str, ...]:
        """The call is ending: every agent on it besides its holder is let go (wrap-up for
        those talking, a ringing target simply freed). Those agents, in roster order."""
        self._advance(now)
        caller = self._calls.get(call_id)
        others = self.others_on(call_id)
        for other_id in others:
            other = self._agents[other_id]
            if caller is not None and call_id in other.talking:
                self._wrap_up(caller, other, now)
            else:
                self.release_target(other_id, call_id, now)
        return others

    def others_on(self, call_id: str) -> tuple[str, ...]:
        """Agents ringing or talking on the call besides the one holding it."""
        caller = self._calls.get(call_id)
        holder = caller.agent if caller is not None else None
        return self._sorted(
            a.id for a in self._agents.values()
            if a.id != holder and call_id in (a.ringing | a.talking)
        )  # fmt: skip

    def _wrap_up(self, caller: HeldCall, agent: AgentRecord, now: float) -> None:
        """`agent` is done with the call, which goes on without them: wrap-up starts."""
        agent.talking.discard(caller.call_id)
        agent.ringing.discard(caller.call_id)
        state = self._queues[caller.queue]
        wrapup = 0.0 if agent.is_trunk else state.spec.wrapup
        agent.idle_since = now
        if wrapup > 0:
            until = now + wrapup
            agent.wrap_until = until if agent.wrap_until is None else max(agent.wrap_until, until)
            heappush(self._timers, (until, next(self._seq), "", agent.id))
        self._refresh(agent)
