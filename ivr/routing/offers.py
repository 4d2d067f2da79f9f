"""Offers: which waiting caller rings which agents, and how each ring ends (answered or
missed), up to the end of the call it became."""

from __future__ import annotations

from heapq import heapify, heappop, heappush

from ivr.routing import strategies
from ivr.routing.agents import AgentRecord
from ivr.routing.queues import CallState, HeldCall, Key
from ivr.routing.results import Offer, RingAnswer, RingFailure, RoutingError
from ivr.routing.state import RouterState

NO_ANSWER_PAUSE = "no-answer"


class Offers(RouterState):
    """Dispatch, ring_answered, ring_failed (a miss) and call_ended (wrap-up starts)."""

    def dispatch(self, now: float) -> list[Offer]:
        """The offers to ring now, in serving order. A person is in at most one offer; a
        trunk in as many as it has free channels. Empty when nothing changed."""
        self._advance(now)
        if not self._dirty_callers and not self._dirty_agents:
            return []
        # Candidates: every changed caller, and the first caller each new agent can serve.
        # All other waiting callers had no offerable eligible agent after the last dispatch,
        # and nothing changed for them: they cannot be first.
        heap: list[tuple[Key, str, str]] = []
        for call_id in self._dirty_callers:
            caller = self._calls.get(call_id)
            if caller is not None and caller.state is CallState.WAITING:
                heap.append((caller.key, call_id, ""))
        for agent_id in self._dirty_agents:
            if agent_id in self._pool:
                self._push_next(heap, self._agents[agent_id], None)
        self._dirty_callers.clear()
        self._dirty_agents.clear()
        heapify(heap)
        offers: list[Offer] = []
        while heap:
            key, call_id, agent_id = heappop(heap)
            if agent_id and agent_id not in self._pool:
                continue
            caller = self._calls.get(call_id)
            if caller is not None and caller.state is CallState.WAITING:
                chosen = self._choose(caller)
                if chosen:
                    offers.append(self._offer(caller, chosen))
            if agent_id and agent_id in self._pool:
                self._push_next(heap, self._agents[agent_id], key)
        return offers

    def ring_answered(self, call_id: str, agent_id: str, now: float) -> RingAnswer:
        """An agent picked up. Not accepted when the offer no longer stands (hang them up)."""
        self._advance(now)
        caller = self._calls.get(call_id)
        if caller is None or agent_id not in caller.ringing:
            return RingAnswer(False)
        others = self._sorted(caller.ringing - {agent_id})
        for other_id in others:
            other = self._agents[other_id]
            other.ringing.discard(call_id)
            self._refresh(other)
        agent = self._agents[agent_id]
        agent.ringing.discard(call_id)
        agent.talking.add(call_id)
        agent.misses = 0
        caller.ringing.clear()
        caller.state = CallState.TALKING
        caller.agent = agent_id
        caller.answered_at = now
        state = self._queues[caller.queue]
        state.release(caller)
        state.talking.add(call_id)
        state.answered += 1
        if now - caller.enqueued_at <= state.spec.sla_seconds:
            state.answered_in_sla += 1
        self._refresh(agent)
        return RingAnswer(True, others)

    def ring_failed(
        self, call_id: str, agent_id: str, now: float, reason: RingFailure = "no-answer"
    ) -> bool:
        """An offer was not answered (timeout, busy, rejected, unreachable): a miss.

        After the queue's `max_misses` misses in a row the agent is paused ('no-answer').
        When no other agent still rings, the caller waits again in their original place and
        the next dispatch offers them to another agent. False when the ring no longer stood.
        """
        self._advance(now)
        caller = self._calls.get(call_id)
        if caller is None or agent_id not in caller.ringing:
            return False
        agent = self._agents[agent_id]
        spec = self._queues[caller.queue].spec
        caller.ringing.discard(agent_id)
        agent.ringing.discard(call_id)
        agent.misses += 1
        if agent.misses >= spec.max_misses and agent.signed_in and agent.pause_reason is None:
            agent.pause_reason = NO_ANSWER_PAUSE
        until = now + spec.ring_timeout
        caller.skip[agent_id] = until
        heappush(self._timers, (until, next(self._seq), call_id, agent_id))
        if not caller.ringing:
            caller.state = CallState.WAITING
            self._waitlist.add(caller, self._index_skill(caller.requirement))
            self._dirty_callers.add(call_id)
            late = spec.max_wait is not None and caller.enqueued_at + spec.max_wait <= now
            if late and not caller.callback and spec.max_wait is not None:
                # Its deadline passed while it rang: the next tick lets it leave.
                heappush(self._deadlines, (caller.enqueued_at + spec.max_wait, 0, call_id))
        self._refresh(agent)
        return True

    def call_ended(self, agent_id: str, now: float, call_id: str | None = None) -> bool:
        """The agent's call ended: wrap-up until now + the queue's wrapup. False if they had
        none. `call_id` is needed only when the agent holds several calls."""
        self._advance(now)
        agent = self._agent(agent_id)
        if call_id is None:
            if len(agent.talking) > 1:
                raise RoutingError(
                    f"agent '{agent_id}' has {len(agent.talking)} calls; say which one ended "
                    "(call_id=...)"
                )
            if not agent.talking:
                return False
            call_id = next(iter(agent.talking))
        elif call_id not in agent.talking:
            return False
        self._finish(self._calls[call_id], agent, now)
        return True

    def _push_next(
        self, heap: list[tuple[Key, str, str]], agent: AgentRecord, after: Key | None
    ) -> None:
        agent_id = agent.id
        skills = agent.skills
        team = agent.team

        def accepts(caller: HeldCall) -> bool:
            return caller.requirement.met_by(skills, team) and agent_id not in caller.skip

        caller = self._waitlist.first_for(skills, accepts, after)
        if caller is not None:
            heappush(heap, (caller.key, caller.call_id, agent_id))

    def _choose(self, caller: HeldCall) -> list[AgentRecord]:
        requirement = caller.requirement
        agents = self._agents
        candidates = self._pool.candidates(requirement)
        if not candidates:
            return []  # nobody offerable could serve them (most callers of a busy centre)
        state = self._queues[caller.queue]
        if requirement is state.requirement:
            # Most callers keep their queue's own requirement, whose agents the queue knows:
            # set operations in C, in no order (every strategy ends its ties on the roster
            # order, so the order of `eligible` decides nothing).
            found = state.meeting.intersection(candidates)
            if caller.skip:
                found = found.difference(caller.skip)
            eligible = list(map(agents.__getitem__, found))
        else:
            eligible = [
                agents[agent_id]
                for agent_id in candidates
                if agent_id not in caller.skip
                and requirement.met_by(agents[agent_id].skills, agents[agent_id].team)
            ]
        return strategies.choose(
            state.spec.strategy, eligible, requirement, state.rr_last, len(agents)
        )

    def _offer(self, caller: HeldCall, chosen: list[AgentRecord]) -> Offer:
        self._waitlist.remove(caller)
        caller.state = CallState.RINGING
        caller.ringing = {agent.id for agent in chosen}
        for agent in chosen:
            agent.ringing.add(caller.call_id)
            self._refresh(agent)
        state = self._queues[caller.queue]
        state.rr_last = chosen[0].ordinal
        return Offer(
            caller.call_id,
            caller.queue,
            tuple([agent.id for agent in chosen]),  # a list first: cheaper than a generator
            tuple([agent.endpoint for agent in chosen]),
            state.spec.ring_timeout,
        )
