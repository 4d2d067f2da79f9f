"""The routing engine: which waiting caller rings which agent, and when.

Pure and single-threaded: no I/O, no clock. Every method that depends on time takes `now`
(seconds, from the injected clock, never decreasing). Adapters feed it events and carry out
what it answers:

    router.enqueue(call_id, "returns", now)        # a caller joins a queue
    for offer in router.dispatch(now): ...         # ring offer.endpoints for offer.call_id
    router.ring_answered(call_id, agent_id, now)   # bridge; stop ringing RingAnswer.stop_ringing
    router.ring_failed(call_id, agent_id, now, "no-answer")
    router.call_ended(agent_id, now)               # wrap-up starts
    router.tick(now)                               # at router.next_due(): wrap-ups, max-wait exits

Call `dispatch(now)` after every event batch and whenever `next_due()` passes; it is cheap
when nothing changed.

Rules:
- Order: higher priority first; within a priority, the caller who joined first. It is one order
  across all queues. The first waiting caller that has an eligible offerable agent is served first.
- Eligible: the agent meets the caller's requirement (every minimum level, an allowed team) and
  has not missed this caller within the last `ring_timeout` seconds (so the next offer after a
  miss goes to another agent when there is one).
- Offerable: signed in, not paused, not in wrap-up, device reachable and not busy, not ringing
  (a trunk may ring several calls) and below `max_concurrent` calls.
- Races: PBX events that no longer apply (an answer after the caller hung up, a second answer
  in ring-all, a failure for a ring already stopped, an unknown call id) are ignored and
  reported as False / empty results, never raised. Unknown agents, queues and teams, a call id
  enqueued twice, and a widen that would narrow raise RoutingError.
- Signing out or pausing takes effect for new offers at once; a ring or call in progress
  goes on, and its events are handled as usual.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Mapping
from heapq import heapify, heappop, heappush

from ivr.plan.queues import QueueSpec
from ivr.routing import strategies
from ivr.routing.agents import TRUNK_PREFIX, AgentRecord, AgentState, AgentView
from ivr.routing.pool import AgentPool
from ivr.routing.queues import CallState, HandleTimes, HeldCall, Key, QueueState
from ivr.routing.results import Exit, Offer, QueueStats, RingAnswer, RingFailure, RoutingError
from ivr.routing.roster import Roster, TeamSpec
from ivr.routing.skills import Requirement, WidenError
from ivr.routing.waitlist import NO_SKILL, WaitList

NO_ANSWER_PAUSE = "no-answer"


class Router:
    """Skill-based routing of waiting callers to agents, for every queue of one site."""

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
        for agent in self._agents.values():
            for skill in agent.skills:
                self._skilled.setdefault(skill, []).append(agent)
        self._rarity = Counter({skill: len(agents) for skill, agents in self._skilled.items()})
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
            self._queues[queue.name] = QueueState(queue, requirement, HandleTimes(handle_window))
        self._pool = AgentPool()
        self._waitlist = WaitList()
        self._calls: dict[str, HeldCall] = {}
        self._seq = itertools.count()
        # (due, seq, call_id, agent_id): wrap-up ends when call_id == "", else a miss expires.
        self._timers: list[tuple[float, int, str, str]] = []
        self._deadlines: list[tuple[float, int, str]] = []  # max-wait: (due, seq, call_id)
        self._dirty_callers: set[str] = set()  # waiting callers that may have new agents
        self._dirty_agents: set[str] = set()  # agents that became offerable
        for agent in self._agents.values():
            self._refresh(agent)

    # --- callers --------------------------------------------------------------------------

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
        state.callers.add(call_id)
        self._waitlist.add(caller, self._index_skill(requirement))
        self._dirty_callers.add(call_id)
        if spec.max_wait is not None and since is None:
            heappush(self._deadlines, (now + spec.max_wait, next(self._seq), call_id))
        return None

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

    # --- offers ---------------------------------------------------------------------------

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
        state.callers.discard(call_id)
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

    def next_due(self) -> float | None:
        """When tick/dispatch should run next (a wrap-up, a miss or a max-wait ends), if ever.
        It may be early (a timer that no longer matters), never late."""
        dues = [heap[0][0] for heap in (self._timers, self._deadlines) if heap]
        return min(dues) if dues else None

    # --- agents ---------------------------------------------------------------------------

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

    def sign_out(self, agent_id: str) -> bool:
        """The agent stops work (no new offers). False if already signed out."""
        agent = self._agent(agent_id)
        if not agent.signed_in:
            return False
        agent.signed_in = False
        agent.pause_reason = None
        self._refresh(agent)
        return True

    def pause(self, agent_id: str, reason: str = "break") -> bool:
        """No new offers until resume. False if signed out or already paused for `reason`."""
        agent = self._agent(agent_id)
        if not reason:
            raise RoutingError(f"agent '{agent_id}': a pause needs a reason, e.g. 'break'")
        if not agent.signed_in or agent.pause_reason == reason:
            return False
        agent.pause_reason = reason
        self._refresh(agent)
        return True

    def resume(self, agent_id: str) -> bool:
        """End a pause (misses forgotten). False if not paused."""
        agent = self._agent(agent_id)
        if agent.pause_reason is None:
            return False
        agent.pause_reason = None
        agent.misses = 0
        self._refresh(agent)
        return True

    def set_on_duty(self, team: str, on_duty: bool) -> bool:
        """A team's shift begins or ends: off duty means no new offers. True if it changed."""
        if team not in self._teams:
            raise RoutingError(f"team '{team}' is not in the roster")
        if on_duty:
            self._off_duty.discard(team)
        else:
            self._off_duty.add(team)
        changed = False
        for agent in self._agents.values():
            if agent.team == team and agent.on_duty != on_duty:
                agent.on_duty = on_duty
                self._refresh(agent)
                changed = True
        return changed

    def set_presence(self, agent_id: str, reachable: bool, busy: bool) -> bool:
        """Device state from AMI. Unreachable, or busy with a call the router did not give,
        means no offers. Agents start reachable and not busy. True if anything changed."""
        agent = self._agent(agent_id)
        changed = (agent.reachable, agent.busy) != (reachable, busy)
        agent.reachable = reachable
        agent.busy = busy
        self._refresh(agent)
        return changed

    # --- questions ------------------------------------------------------------------------

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

    def agents_by_state(self) -> dict[AgentState, list[str]]:
        """Agent ids by state (every state present), in roster order."""
        result: dict[AgentState, list[str]] = {state: [] for state in AgentState}
        for agent in self._agents.values():
            result[agent.state].append(agent.id)
        return result

    def queue_stats(self, now: float) -> dict[str, QueueStats]:
        """Every queue at a glance."""
        self._advance(now)
        stats: dict[str, QueueStats] = {}
        for name, state in self._queues.items():
            held = [self._calls[call_id] for call_id in state.callers]
            staffed = [a for a in self._agents.values() if self._serves(a, state.requirement)]
            stats[name] = QueueStats(
                queue=name,
                waiting=len(self._waitlist.queue_keys(name)),
                ringing=sum(1 for c in held if c.state is CallState.RINGING),
                talking=len(state.talking),
                longest_wait=max((now - c.enqueued_at for c in held), default=0.0),
                agents_staffed=len(staffed),
                agents_available=sum(1 for a in staffed if a.id in self._pool),
                answered=state.answered,
                answered_in_sla=state.answered_in_sla,
                abandoned=state.abandoned,
                exited=state.exited,
                handle_time=state.handle_times.mean(),
            )
        return stats

    # --- inside ---------------------------------------------------------------------------

    def _advance(self, now: float) -> None:
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
        """Keep the pool in step with the agent's facts; a newcomer is looked at next dispatch."""
        offerable = agent.offerable
        if offerable and agent.id not in self._pool:
            self._pool.add(agent)
            self._dirty_agents.add(agent.id)
        elif not offerable and agent.id in self._pool:
            self._pool.remove(agent)

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
        eligible = [
            agents[agent_id]
            for agent_id in self._pool.candidates(requirement)
            if agent_id not in caller.skip
            and requirement.met_by(agents[agent_id].skills, agents[agent_id].team)
        ]
        state = self._queues[caller.queue]
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
            tuple(agent.id for agent in chosen),
            tuple(agent.endpoint for agent in chosen),
            state.spec.ring_timeout,
        )

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
        state.callers.discard(caller.call_id)
        state.talking.discard(caller.call_id)
        self._dirty_callers.discard(caller.call_id)

    def _index_skill(self, requirement: Requirement) -> str:
        if not requirement.skills or requirement.open_teams:
            return NO_SKILL
        return min((name for name, _ in requirement.skills), key=lambda s: (self._rarity[s], s))

    def _serves(self, agent: AgentRecord, requirement: Requirement) -> bool:
        return (
            agent.signed_in
            and agent.on_duty
            and agent.pause_reason is None
            and agent.reachable
            and requirement.met_by(agent.skills, agent.team)
        )

    def _staffed(self, requirement: Requirement) -> int:
        pool: Iterable[AgentRecord]
        if requirement.skills and not requirement.open_teams:
            lists = [self._skilled.get(name, []) for name, _ in requirement.skills]
            smallest = min(lists, key=len)
            pool = smallest
        else:
            pool = self._agents.values()
        return sum(agent.max_concurrent for agent in pool if self._serves(agent, requirement))

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
