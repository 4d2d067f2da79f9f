"""Agents with several lines (`max_concurrent` 1..3) under random events (hypothesis).

The issue: an agent with two lines whose first call ended while the other was up was never
offered a call again. Here a desk of such agents goes through random sequences of callers
arriving, offers, answers, rings that fail or time out, caller and agent hang-ups, time passing
(wrap-ups ending), pauses, sign-outs, device presence and restarts from the agents' records.
The model below keeps only the facts a supervisor would see (which calls ring or talk to whom,
when each wrap-up ends, who is paused) and checks the router against rules, not a copy of it:
- never more calls than `max_concurrent`, a person rings for one call at a time;
- an offer goes to an agent who is signed in, not paused, not in wrap-up, has a free line
  and has not just missed that caller; after every dispatch no waiting caller is left with
  such an agent (nobody starves);
- the state shown follows the calls: on_call while any call is up, ringing while only a ring
  is, wrap_up until the latest wrap-up ends, then paused / signed_out / available;
- at the end, with every call ended and every wrap-up over, each signed-in agent who is not
  paused is available, and takes as many calls at once as their `max_concurrent`.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from ivr.calls.events import AgentPresence, AgentRequest
from ivr.calls.legs import AgentAnswered, AgentLegEnded, DropLeg, LegEnd, RingAgent
from ivr.plan.queues import QueueSpec
from ivr.routing import AgentState, CallState, Roster
from ivr.routing.desk import Desk
from ivr.routing.roster import AgentSpec, TeamSpec, parse_roster
from tests.unit.conftest import book, make_world

AGENTS = ("a1", "a2", "a3", "a4")
QUEUES = ("general", "returns")  # general: anyone; returns: the skill `returns`
REASONS: tuple[LegEnd, ...] = ("no-answer", "busy", "rejected", "unreachable")


@dataclass
class Line:
    """What a supervisor knows of one agent."""

    max_calls: int
    returns: bool  # has the skill the returns queue needs
    signed_in: bool = False
    pause: str | None = None
    misses: int = 0
    reachable: bool = True
    busy: bool = False  # the device says it is in use (AMI)
    ringing: set[str] = field(default_factory=set)
    talking: set[str] = field(default_factory=set)
    wrap_end: float = float("-inf")  # the latest wrap-up's end

    def calls(self) -> int:
        return len(self.ringing) + len(self.talking)

    def wrapping(self, now: float) -> bool:
        return self.wrap_end > now

    def free(self, now: float) -> bool:
        """May be offered a call now (whoever the caller is)."""
        return (
            self.signed_in
            and self.pause is None
            and not self.wrapping(now)
            and self.reachable
            and (not self.busy or self.calls() > 0)
            and not self.ringing
            and self.calls() < self.max_calls
        )

    def state(self, now: float) -> AgentState:
        if self.talking:
            return AgentState.ON_CALL
        if self.ringing:
            return AgentState.RINGING
        if self.wrapping(now):
            return AgentState.WRAP_UP
        if self.pause is not None:
            return AgentState.PAUSED
        if not self.signed_in:
            return AgentState.SIGNED_OUT
        return AgentState.AVAILABLE


@dataclass
class Caller:
    id: str
    queue: str
    priority: int
    joined: float
    ringing: set[str] = field(default_factory=set)
    agent: str | None = None  # who talks to them
    answered_at: float = 0.0
    skip: dict[str, float] = field(default_factory=dict)  # agent -> missed until

    @property
    def waiting(self) -> bool:
        return not self.ringing and self.agent is None


class ConcurrentDesk(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = 1000.0
        self.lines: dict[str, Line] = {}
        self.callers: dict[str, Caller] = {}
        self.arrived = 0
        self.kept: dict[str, dict[str, Any]] = {}  # agents' records, as the store keeps them

    @initialize(
        max_calls=st.lists(st.integers(1, 3), min_size=4, max_size=4),
        returns=st.lists(st.booleans(), min_size=4, max_size=4),
        wrapup=st.sampled_from([0.0, 5.0, 30.0]),
        ring_timeout=st.sampled_from([5.0, 15.0]),
        max_misses=st.integers(1, 3),
        strategy=st.sampled_from(["longest-idle", "most-skilled", "round-robin", "ring-all"]),
    )
    def setup(
        self,
        max_calls: list[int],
        returns: list[bool],
        wrapup: float,
        ring_timeout: float,
        max_misses: int,
        strategy: str,
    ) -> None:
        agents = tuple(
            AgentSpec(
                id=agent_id,
                name=agent_id.upper(),
                endpoint=f"PJSIP/{agent_id}",
                team="shop",
                skills={"general": 5, **({"returns": 5} if has else {})},
                max_concurrent=calls,
            )
            for agent_id, calls, has in zip(AGENTS, max_calls, returns, strict=True)
        )
        self.roster = Roster({"shop": TeamSpec(kind="in-house")}, agents)
        common = {"wrapup": wrapup, "ring_timeout": ring_timeout, "max_misses": max_misses}
        self.queues = [
            QueueSpec.model_validate({"name": "general", "strategy": strategy, **common}),
            QueueSpec.model_validate(
                {"name": "returns", "skills": {"returns": 1}, "strategy": strategy, **common}
            ),
        ]
        self.spec = self.queues[0]
        self.desk = Desk(self.roster, self.queues)
        for spec, has in zip(agents, returns, strict=True):
            self.lines[spec.id] = Line(spec.max_concurrent, has)
            self.sign_in(spec.id)
        self.dispatch()

    # --- the rules of the desk --------------------------------------------------------------

    @property
    def router(self) -> Any:
        return self.desk.router

    def eligible(self, agent_id: str, caller: Caller) -> bool:
        line = self.lines[agent_id]
        return (
            line.free(self.now)
            and (caller.queue == "general" or line.returns)
            and caller.skip.get(agent_id, float("-inf")) <= self.now
        )

    def dispatch(self) -> None:
        """Offer as the switchboard does after every event, and check every offer."""
        for offer in self.router.dispatch(self.now):
            caller = self.callers[offer.call_id]
            assert caller.waiting, f"{caller.id} offered while not waiting"
            for agent_id in offer.agent_ids:
                line = self.lines[agent_id]
                assert self.eligible(agent_id, caller), (
                    f"{agent_id} offered {caller.id}: signed_in={line.signed_in} "
                    f"pause={line.pause} wrap_end={line.wrap_end} now={self.now} "
                    f"calls={line.ringing | line.talking} of {line.max_calls}"
                )
            for agent_id in offer.agent_ids:
                self.lines[agent_id].ringing.add(caller.id)
            caller.ringing = set(offer.agent_ids)
            if any(self.lines[a].talking for a in offer.agent_ids):
                event("an agent on a call was offered another")
        # Nobody starves: a waiting caller has no agent left who could take them.
        for caller in self.callers.values():
            if caller.waiting:
                free = [a for a in AGENTS if self.eligible(a, caller)]
                assert not free, f"{caller.id} waits while {free} could take them"
        # What the store would keep of the agents after this event.
        self.kept.update(self.desk.changed_agents())

    def end_call(self, caller: Caller) -> None:
        assert caller.agent is not None
        line = self.lines[caller.agent]
        line.talking.discard(caller.id)
        if line.talking:
            event("a call ended while another of the agent's was up")
        if line.wrapping(self.now) and self.spec.wrapup > 0:
            event("a call ended during the agent's wrap-up")
        if self.spec.wrapup > 0:
            line.wrap_end = max(line.wrap_end, self.now + self.spec.wrapup)
        del self.callers[caller.id]

    def sign_in(self, agent_id: str) -> None:
        line = self.lines[agent_id]
        assert self.router.sign_in(agent_id, self.now) == (not line.signed_in)
        if not line.signed_in:
            line.signed_in, line.pause, line.misses = True, None, 0

    def legs(self) -> list[tuple[str, str]]:
        return sorted((c.id, a) for c in self.callers.values() for a in c.ringing)

    def talks(self) -> list[str]:
        return sorted(c.id for c in self.callers.values() if c.agent is not None)

    # --- callers ----------------------------------------------------------------------------

    @rule(queue=st.sampled_from(QUEUES), priority=st.sampled_from([0, 0, 1]))
    def arrive(self, queue: str, priority: int) -> None:
        self.arrived += 1
        call_id = f"c{self.arrived}"
        assert self.router.enqueue(call_id, queue, self.now, priority) is None
        self.callers[call_id] = Caller(call_id, queue, priority, self.now)
        self.dispatch()

    @precondition(lambda self: bool(self.callers))
    @rule(data=st.data())
    def caller_hangs_up(self, data: st.DataObject) -> None:
        caller = self.callers[data.draw(st.sampled_from(sorted(self.callers)))]
        stop = self.router.abandon(caller.id, self.now)
        assert set(stop) == caller.ringing
        for agent_id in caller.ringing:
            self.lines[agent_id].ringing.discard(caller.id)
        if caller.agent is not None:
            self.end_call(caller)
        else:
            del self.callers[caller.id]
        self.dispatch()

    # --- rings ------------------------------------------------------------------------------

    @precondition(lambda self: bool(self.legs()))
    @rule(data=st.data())
    def agent_answers(self, data: st.DataObject) -> None:
        call_id, agent_id = data.draw(st.sampled_from(self.legs()))
        caller = self.callers[call_id]
        answer = self.router.ring_answered(call_id, agent_id, self.now)
        assert answer.accepted and set(answer.stop_ringing) == caller.ringing - {agent_id}
        for other in caller.ringing:
            self.lines[other].ringing.discard(call_id)
        line = self.lines[agent_id]
        line.talking.add(call_id)
        line.misses = 0
        caller.ringing = set()
        caller.agent = agent_id
        caller.answered_at = self.now
        self.dispatch()

    @precondition(lambda self: bool(self.legs()))
    @rule(data=st.data(), reason=st.sampled_from(REASONS), timed_out=st.booleans())
    def ring_fails(self, data: st.DataObject, reason: Any, timed_out: bool) -> None:
        call_id, agent_id = data.draw(st.sampled_from(self.legs()))
        if timed_out:  # the whole ring_timeout went by first
            self.pass_time(self.spec.ring_timeout)
            reason = "no-answer"
        assert self.router.ring_failed(call_id, agent_id, self.now, reason)
        caller, line = self.callers[call_id], self.lines[agent_id]
        caller.ringing.discard(agent_id)
        caller.skip[agent_id] = self.now + self.spec.ring_timeout
        line.ringing.discard(call_id)
        line.misses += 1
        if line.misses >= self.spec.max_misses and line.signed_in and line.pause is None:
            line.pause = "no-answer"
        self.dispatch()

    # --- talks ------------------------------------------------------------------------------

    @precondition(lambda self: bool(self.talks()))
    @rule(data=st.data())
    def agent_hangs_up(self, data: st.DataObject) -> None:
        caller = self.callers[data.draw(st.sampled_from(self.talks()))]
        assert caller.agent is not None
        assert self.router.call_ended(caller.agent, self.now, caller.id)
        assert not self.router.call_ended(caller.agent, self.now, caller.id)  # told twice
        self.end_call(caller)
        self.dispatch()

    # --- time -------------------------------------------------------------------------------

    def pass_time(self, seconds: float) -> None:
        self.now += seconds
        assert self.router.tick(self.now) == []  # no max_wait here: nobody is sent away
        for caller in self.callers.values():
            caller.skip = {a: t for a, t in caller.skip.items() if t > self.now}

    @rule(seconds=st.sampled_from([0.5, 1.0, 4.0, 10.0, 30.0, 60.0, -1.0, -1.0]))
    def time_passes(self, seconds: float) -> None:
        """Some seconds, or (-1) up to the switchboard's timer, set at next_due(): a wrap-up
        or a miss ends then."""
        due = self.router.next_due()
        if seconds < 0 and due is None:
            return
        self.pass_time(max(0.0, due - self.now) if seconds < 0 and due is not None else seconds)
        self.dispatch()

    # --- agents, their phones, and restarts (one rule: each is rarer than a call's events) --

    @rule(
        agent_id=st.sampled_from(AGENTS),
        action=st.sampled_from(
            ["sign-in", "sign-out", "pause", "resume", "unreachable", "busy", "idle", "restart"]
        ),
    )
    def agent_request(self, agent_id: str, action: str) -> None:
        line = self.lines[agent_id]
        if action == "sign-in":
            self.sign_in(agent_id)
        elif action == "sign-out":
            assert self.desk.request(agent_id, "sign-out", "", self.now) == line.signed_in
            line.signed_in, line.pause = False, None
        elif action == "pause":
            changed = line.signed_in and line.pause != "lunch"
            assert self.desk.request(agent_id, "pause", "lunch", self.now) == changed
            if changed:
                line.pause = "lunch"
        elif action == "resume":
            assert self.desk.request(agent_id, "resume", "", self.now) == (line.pause is not None)
            if line.pause is not None:
                line.pause, line.misses = None, 0
        elif action == "restart":
            self.restart()
        else:  # the device's state from AMI
            line.reachable, line.busy = action != "unreachable", action == "busy"
            self.desk.presence(f"PJSIP/{agent_id}", line.reachable, line.busy)
        self.dispatch()

    def restart(self) -> None:
        """A new daemon from the store's records: agents restored, talks go on, callers back
        in their places; rings in progress are lost (their callers wait again)."""
        self.kept.update(self.desk.changed_agents())
        self.desk = Desk(self.roster, self.queues)
        assert self.desk.restore_agents(dict(self.kept), self.now) == sorted(self.kept)
        for caller in sorted(self.callers.values(), key=lambda c: (-c.priority, c.joined)):
            if caller.agent is not None:
                assert self.router.rejoin_talking(
                    caller.id, caller.queue, caller.agent, caller.priority,
                    caller.joined, caller.answered_at,
                )  # fmt: skip
            else:
                self.router.rejoin(caller.id, caller.queue, self.now, caller.priority,
                                   caller.joined)  # fmt: skip
                for agent_id in caller.ringing:
                    self.lines[agent_id].ringing.discard(caller.id)
                caller.ringing = set()
            caller.skip = {}  # misses of a caller are not kept (their agents' are)
        for agent_id, line in self.lines.items():
            # Device presence starts over too: AMI reports every device again at login.
            self.desk.presence(f"PJSIP/{agent_id}", line.reachable, line.busy)

    # --- always -----------------------------------------------------------------------------

    @invariant()
    def states_follow_the_calls(self) -> None:
        if not self.lines:
            return
        for agent_id, line in self.lines.items():
            view = self.router.agent(agent_id)
            assert len(line.ringing) <= 1, f"{agent_id} rings for {line.ringing}"
            assert line.calls() <= line.max_calls, f"{agent_id}: {line.calls()} calls"
            assert view.calls == tuple(sorted(line.ringing | line.talking)), agent_id
            assert view.state is line.state(self.now), (agent_id, view, line)
            assert view.pause_reason == line.pause, agent_id
            assert view.signed_in == line.signed_in, agent_id
            assert view.misses == line.misses, agent_id
        # The switchboard looks at the desk again only at next_due(): never after a wrap-up
        # or a miss ends, or that agent would wait for some other event to be offered.
        ends = [line.wrap_end for line in self.lines.values() if line.wrapping(self.now)]
        ends += [t for c in self.callers.values() if c.agent is None for t in c.skip.values()]
        due = self.router.next_due()
        assert not ends or (due is not None and due <= min(ends)), (due, sorted(ends))
        for caller in self.callers.values():
            expected = (
                CallState.TALKING
                if caller.agent
                else CallState.RINGING
                if caller.ringing
                else CallState.WAITING
            )
            assert self.router.call_state(caller.id) is expected, caller.id

    def teardown(self) -> None:
        if not self.lines:
            return
        # Every call ends, then every wrap-up.
        for caller in list(self.callers.values()):
            for agent_id in self.router.abandon(caller.id, self.now):
                self.lines[agent_id].ringing.discard(caller.id)
            if caller.agent is not None:
                self.end_call(caller)
            else:
                del self.callers[caller.id]
        self.pass_time(self.spec.wrapup + 1)
        assert self.router.dispatch(self.now) == []
        for agent_id, line in self.lines.items():
            view = self.router.agent(agent_id)
            assert view.calls == () and view.wrap_until is None, view
            if line.signed_in and line.pause is None:
                assert view.state is AgentState.AVAILABLE, view
        # Back at work, each agent takes as many calls at once as they have lines.
        for agent_id in AGENTS:
            self.router.set_presence(agent_id, True, False)
            self.router.sign_in(agent_id, self.now)
            self.router.resume(agent_id)
        lines = sum(line.max_calls for line in self.lines.values())
        for n in range(lines + 1):
            self.router.enqueue(f"end{n}", "general", self.now)
            for offer in self.router.dispatch(self.now):
                answer = self.router.ring_answered(offer.call_id, offer.agent_ids[0], self.now)
                assert answer.accepted
        for agent_id, line in self.lines.items():
            view = self.router.agent(agent_id)
            assert len(view.calls) == line.max_calls, (agent_id, view.calls)
            assert view.state is AgentState.ON_CALL
        assert self.router.call_state(f"end{lines}") is CallState.WAITING  # all lines taken


ConcurrentDesk.TestCase.settings = settings(
    max_examples=200,
    stateful_step_count=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_agents_with_several_lines_under_random_events = ConcurrentDesk.TestCase


# --- the same through the switchboard: queue node, legs, device presence as Asterisk gives --


PLAN = """
name: shop
numbers: ["100"]
queues:
  sales: {skills: {sales: 1}, ring_timeout: 10, wrapup: WRAPUP, max_misses: 3}
nodes:
  start: {type: queue, queue: sales}
"""
ROSTER = """
teams:
  shop: {kind: in-house}
agents:
  - {id: a1, name: Anna, endpoint: PJSIP/a1, team: shop, skills: {sales: 5}, max_concurrent: 2}
  - {id: a2, name: Boris, endpoint: PJSIP/a2, team: shop, skills: {sales: 5}, max_concurrent: 3}
  - {id: a3, name: Clara, endpoint: PJSIP/a3, team: shop, skills: {sales: 5}}
"""
LINES = {"a1": 2, "a2": 3, "a3": 1}


class Phones:
    """The agents' phones as Asterisk would drive them for the core's commands: each ring a
    leg that rings, is answered or fails; device states (AMI) follow the legs, late or not."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        plans = book(PLAN.replace("WRAPUP", str(self.rng.choice([0, 2, 8]))))
        desk = Desk(parse_roster((ROSTER, "roster.yaml")), plans.queue_specs())
        self.world = make_world(plans, desk=desk)
        self.legs: dict[str, list[str]] = {}  # leg -> [call, agent, "ringing" | "up"]
        self.device = dict.fromkeys(LINES, "NOT_INUSE")
        self.ami_at = 0.0  # when the last device state reaches the core
        self.read = 0
        self.callers: list[str] = []
        for agent_id in LINES:
            self.world.driver.feed(AgentRequest(agent_id, "sign-in"))

    def feed(self, event: Any) -> None:
        self.world.driver.feed(event)
        self.follow()

    def follow(self) -> None:
        """Carry out the rings and drops the core sent since last looked; report devices."""
        sent = self.world.pbx.sent
        while self.read < len(sent):
            command = sent[self.read]
            self.read += 1
            if isinstance(command, RingAgent):
                self.legs[command.leg_id] = [command.call_id, command.agent_id, "ringing"]
            elif isinstance(command, DropLeg) and command.leg_id in self.legs:
                call, _, was = self.legs.pop(command.leg_id)
                cause: LegEnd = "hangup" if was == "up" else "unreachable"
                ended = AgentLegEnded(call, command.leg_id, cause)
                self.world.clock.call_later(0, self._feeding(ended))
        for agent_id in LINES:
            states = [leg[2] for leg in self.legs.values() if leg[1] == agent_id]
            ringing = "ringing" in states
            state = ("RINGINUSE" if "up" in states else "RINGING") if ringing else (
                "INUSE" if states else "NOT_INUSE")  # fmt: skip
            if state != self.device[agent_id]:
                self.device[agent_id] = state
                presence = AgentPresence(f"PJSIP/{agent_id}", True, state != "NOT_INUSE")
                # AMI may lag behind ARI, but is one stream: its events keep their order.
                now = self.world.clock.now()
                at = max(now + self.rng.choice([0.0, 0.0, 0.01, 0.3]), self.ami_at)
                self.ami_at = at
                self.world.clock.call_later(at - now, self._feeding(presence))

    def _feeding(self, event: AgentLegEnded | AgentPresence) -> Callable[[], None]:
        return lambda: self.world.driver.feed(event)

    def pick(self, state: str) -> tuple[str, list[str]] | None:
        legs = sorted(leg for leg, v in self.legs.items() if v[2] == state)
        if not legs:
            return None
        leg = self.rng.choice(legs)
        return leg, self.legs[leg]

    def step(self) -> None:
        roll = self.rng.random()
        if roll < 0.25:
            self.callers.append(self.world.pbx.dial("100"))
            self.world.clock.advance(0)
        elif roll < 0.5 and (ringing := self.pick("ringing")):
            leg, (call, _, _) = ringing
            self.legs[leg][2] = "up"
            self.feed(AgentAnswered(call, leg))
        elif roll < 0.58 and (ringing := self.pick("ringing")):
            leg, (call, _, _) = ringing
            del self.legs[leg]
            self.feed(AgentLegEnded(call, leg, self.rng.choice(REASONS)))
        elif roll < 0.72 and (up := self.pick("up")):
            leg, (call, _, _) = up
            del self.legs[leg]
            self.feed(AgentLegEnded(call, leg, "hangup"))
        elif roll < 0.8:
            live = [c for c in self.callers if not self.world.pbx.calls[c].ended_by]
            if live:
                self.world.pbx.hang_up(self.rng.choice(live))
                self.world.clock.advance(0)
        else:
            self.world.clock.advance(self.rng.choice([0.5, 1.0, 3.0, 10.0]))
        self.follow()
        for agent_id, lines in LINES.items():
            legs = [leg for leg, v in self.legs.items() if v[1] == agent_id]
            assert len(legs) <= lines, (agent_id, legs)
            view = self.world.switchboard.desk.router.agent(agent_id)
            if any(v[2] == "up" and v[1] == agent_id for v in self.legs.values()):
                assert view.state is AgentState.ON_CALL, view

    def end_all(self) -> None:
        for leg, (call, _, state) in sorted(self.legs.items()):
            if leg in self.legs:
                del self.legs[leg]
                self.feed(AgentLegEnded(call, leg, "hangup" if state == "up" else "no-answer"))
        for call in self.callers:
            if not self.world.pbx.calls[call].ended_by:
                self.world.pbx.hang_up(call)
        self.world.clock.advance(1)
        self.follow()
        assert self.legs == {}
        self.world.clock.advance(60)
        self.follow()


def test_agents_with_several_lines_through_the_switchboard_are_never_stuck() -> None:
    for seed in range(40):
        phones = Phones(seed)
        for _ in range(250):
            phones.step()
        phones.end_all()
        router = phones.world.switchboard.desk.router
        for agent_id in LINES:
            view = router.agent(agent_id)
            assert view.calls == () and view.device_ok, (seed, view)
            if view.pause_reason is None:
                assert view.state is AgentState.AVAILABLE, (seed, view)
            else:  # three rings in a row unanswered: paused, and back at work on resume
                phones.feed(AgentRequest(agent_id, "resume"))
        # Every line takes a call again, all at once.
        for _ in range(sum(LINES.values())):
            phones.callers.append(phones.world.pbx.dial("100"))
            phones.world.clock.advance(0)
            phones.follow()
            while ringing := phones.pick("ringing"):
                leg, (call, _, _) = ringing
                phones.legs[leg][2] = "up"
                phones.feed(AgentAnswered(call, leg))
        for agent_id, lines in LINES.items():
            assert len(router.agent(agent_id).calls) == lines, (seed, router.agent(agent_id))
