"""The caller side of the router: callers join a queue, widen who may serve them, and leave
(hang up, taken elsewhere, or out of time)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from heapq import heappop, heappush

from ivr.routing.queues import CallState, HeldCall
from ivr.routing.results import Exit, RoutingError
from ivr.routing.skills import Requirement, WidenError
from ivr.routing.state import RouterState


class CallerSide(RouterState):
    """Events about callers: enqueue, widen, abandon, withdraw, and max-wait exits on tick."""

    def enqueue(
        self,
        call_id: str,
        queue: str,
        now: float,
        priority: int = 0,
        requirement: Requirement | None = None,
        since: float | None = None,
    ) -> Exit | None:
        """Hold a caller in `queue`; None when admitted, Exit(reason='full') when it is full.

        `requirement` overrides the queue's own (skills and teams) for this caller only.
        `since` gives back an earlier place in line (a callback keeps the caller's wait); such
        a caller has no max_wait and never finds the queue full.
        """
        self._advance(now)
        if call_id in self._calls:
            raise RoutingError(
                f"call '{call_id}' is already held (queue '{self._calls[call_id].queue}'); "
                "a call can wait in one queue at a time"
            )
        state = self._queue(queue)
        spec = state.spec
        full = spec.max_callers is not None and len(state.callers) >= spec.max_callers
        if full and since is None:
            state.exited += 1
            return Exit(call_id, queue, "full", spec.exit or "")
        if requirement is None:
            requirement = state.requirement
        else:
            self._check_teams(requirement, f"call '{call_id}'")
        joined = now if since is None else since
        caller = HeldCall(call_id, queue, (-priority, joined, next(self._seq)), requirement)
        caller.callback = since is not None
        self._calls[call_id] = caller
        state.hold(caller)
        self._waitlist.add(caller, self._index_skill(requirement))
        self._dirty_callers.add(call_id)
        if spec.max_wait is not None and since is None:
            heappush(self._deadlines, (now + spec.max_wait, next(self._seq), call_id))
        return None

    def rejoin(self, call_id: str, queue: str, now: float, priority: int, joined_at: float) -> None:
        """Hold again a caller a restart took away: their place and their max_wait are those
        of their first join; a full queue still takes them."""
        self.enqueue(call_id, queue, now, priority, since=joined_at)
        caller = self._calls[call_id]
        caller.callback = False
        spec = self._queue(queue).spec
        if spec.max_wait is not None:
            heappush(self._deadlines, (joined_at + spec.max_wait, next(self._seq), call_id))

    def rejoin_talking(
        self,
        call_id: str,
        queue: str,
        agent_id: str,
        priority: int,
        joined_at: float,
        answered_at: float,
    ) -> bool:
        """Hold again a caller who was talking to `agent_id` before a restart, as answered
        (already counted then); False when the agent is no longer in the roster."""
        agent = self._agents.get(agent_id)
        if agent is None:
            return False
        self.enqueue(call_id, queue, answered_at, priority, since=joined_at)
        caller = self._calls[call_id]
        caller.callback = False
        self._waitlist.remove(caller)
        self._dirty_callers.discard(call_id)
        caller.state = CallState.TALKING
        caller.agent = agent_id
        caller.answered_at = answered_at
        state = self._queues[queue]
        state.release(caller)
        state.talking.add(call_id)
        agent.talking.add(call_id)
        self._refresh(agent)
        return True

    def widen(
        self,
        call_id: str,
        *,
        skills: Mapping[str, int] | None = None,
        lower_levels: int = 0,
        add_teams: Iterable[str] = (),
    ) -> bool:
        """Let more agents serve a held caller; their place (priority, join time) is kept.

        `skills` replaces the required levels but may only drop skills or lower levels;
        `lower_levels` then lowers every level by that many (not below 1); `add_teams` allows
        more teams (a partner trunk without skills takes the caller whatever they need).
        False when the call is no longer held; RoutingError if it would narrow.
        """
        caller = self._calls.get(call_id)
        if caller is None:
            return False
        try:
            added = tuple(add_teams)
            wider = caller.requirement.widened(
                skills=skills,
                lower_levels=lower_levels,
                add_teams=added,
                open_teams=[team for team in added if team in self._open_trunks],
            )
        except WidenError as exc:
            raise RoutingError(f"call '{call_id}': {exc}") from None
        self._check_teams(wider, f"call '{call_id}'")
        caller.requirement = wider
        if caller.state is CallState.WAITING:
            self._waitlist.refile(caller, self._index_skill(wider))
            self._dirty_callers.add(call_id)
        return True

    def abandon(self, call_id: str, now: float) -> tuple[str, ...]:
        """The caller hung up: forget the call; returns the agents whose ringing must stop.

        For a call already answered this is call_ended for its agent. Unknown call: ().
        """
        self._advance(now)
        caller = self._calls.get(call_id)
        if caller is None:
            return ()
        if caller.state is CallState.TALKING and caller.agent is not None:
            self._finish(caller, self._agents[caller.agent], now)
            return ()
        self._queues[caller.queue].abandoned += 1
        return self._let_go(caller)

    def withdraw(self, call_id: str, now: float) -> tuple[str, ...]:
        """Take a waiting caller out to another destination (an overflow step's node): not an
        abandon. Returns the agents whose ringing must stop; () when the call is not held."""
        self._advance(now)
        caller = self._calls.get(call_id)
        if caller is None or caller.state is CallState.TALKING:
            return ()
        self._queues[caller.queue].exited += 1
        return self._let_go(caller)

    def _let_go(self, caller: HeldCall) -> tuple[str, ...]:
        """Forget a caller not answered yet; the agents whose ringing must stop."""
        stop = self._sorted(caller.ringing)
        for agent_id in stop:
            agent = self._agents[agent_id]
            agent.ringing.discard(caller.call_id)
            self._refresh(agent)
        if caller.state is CallState.WAITING:
            self._waitlist.remove(caller)
        self._forget(caller)
        return stop

    def tick(self, now: float) -> list[Exit]:
        """Let time pass: end wrap-ups and misses, and return the callers who waited past
        their queue's max_wait (they are forgotten; send them to Exit.node). A caller whose
        offer is ringing is not taken away; they leave at the first tick after a failure."""
        self._advance(now)
        exits: list[Exit] = []
        while self._deadlines and self._deadlines[0][0] <= now:
            _, _, call_id = heappop(self._deadlines)
            caller = self._calls.get(call_id)
            if caller is None or caller.state is not CallState.WAITING:
                continue
            state = self._queues[caller.queue]
            max_wait = state.spec.max_wait
            if max_wait is None or caller.callback or caller.enqueued_at + max_wait > now:
                continue  # the entry of an earlier stay of this call id, in another queue
            self._waitlist.remove(caller)
            self._forget(caller)
            state.exited += 1
            exits.append(Exit(call_id, caller.queue, "max-wait", state.spec.exit or ""))
        return exits
