"""The router against a brute-force reference, under random event sequences (hypothesis).

The reference keeps every agent and caller in plain dicts and decides by scanning everything;
each step compares the router's answers and state with it. Properties checked on every step:
- an offer only goes to an agent who may take it (signed in, not paused, not ringing, not on
  a call beyond their limit, not in wrap-up, device ok) and who meets the caller's requirement;
- offers follow one order: the first waiting caller (priority, then join time) that has an
  eligible agent is served first, and after a dispatch no waiting caller has one left;
- each strategy picks the agent it promises; ring-all rings every eligible agent;
- the router holds exactly the calls it was not told ended, each in the reference's state;
- at the end, with everyone back at work, every caller leaves: answered, abandoned or exited.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from ivr.plan.queues import QueueSpec
from ivr.routing import AgentState, CallState, Requirement, Roster, Router, RoutingError
from ivr.routing.roster import AgentSpec, TeamSpec, TrunkSpec

SKILLS = ("x", "y", "z")
TEAM_NAMES = ("shop", "backup", "callpoint", "nightdesk")
AGENT_TEAMS = ("shop", "shop", "shop", "backup", "callpoint", "shop")  # a5 has two lines
TRUNK = "trunk:nightdesk"
AGENT_IDS = (*(f"a{n}" for n in range(len(AGENT_TEAMS))), TRUNK)
QUEUES = ("general", "li", "ms", "rr", "ra")
REASONS = ("no-answer", "busy", "rejected", "unreachable")

skill_sets = st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 4), max_size=3)


@dataclass
class RefAgent:
    id: str
    team: str
    skills: dict[str, int]
    max_calls: int
    ordinal: int
    trunk: bool = False
    signed_in: bool = False
    pause: str | None = None
    reachable: bool = True
    busy: bool = False
    ringing: set[str] = field(default_factory=set)
    talking: set[str] = field(default_factory=set)
    wrap_until: float | None = None
    idle_since: float = 0.0
    misses: int = 0

    def device_ok(self) -> bool:
        return self.reachable and (not self.busy or bool(self.ringing or self.talking))

    def wrapping(self, now: float) -> bool:
        return self.wrap_until is not None and self.wrap_until > now

    def offerable(self, now: float) -> bool:
        return (
            self.signed_in
            and self.pause is None
            and not self.wrapping(now)
            and self.device_ok()
            and (self.trunk or not self.ringing)
            and len(self.ringing) + len(self.talking) < self.max_calls
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
class RefCall:
    id: str
    queue: str
    key: tuple[int, float, int]
    skills: dict[str, int]
    teams: set[str]
    state: CallState = CallState.WAITING
    ringing: set[str] = field(default_factory=set)
    agent: str | None = None
    skip: dict[str, float] = field(default_factory=dict)
    open_teams: set[str] = field(default_factory=set)  # teams that serve whatever the skills

    def meets(self, agent: RefAgent) -> bool:
        if agent.team in self.open_teams:
            return True
        return agent.team in self.teams and all(
            agent.skills.get(s, 0) >= level for s, level in self.skills.items()
        )


def settles(rule_body: Callable[..., None]) -> Callable[..., None]:
    """After the event, dispatch at once when the machine runs eagerly (as adapters do)."""

    @functools.wraps(rule_body)
    def run(self: RouterMachine, **kwargs: Any) -> None:
        rule_body(self, **kwargs)
        self.settle()

    return run


queue_configs = st.fixed_dictionaries(
    {
        "wrapup": st.sampled_from([0.0, 5.0, 5.0, 20.0]),
        "eager": st.booleans(),  # dispatch after every event, as the adapters do
        "ring_timeout": st.sampled_from([5.0, 15.0]),
        "max_misses": st.integers(1, 3),
        "max_wait": st.sampled_from([30.0, 60.0, 300.0]),
        "max_callers": st.sampled_from([None, 2, 4]),
        "x_level": st.integers(1, 3),
        "y_level": st.integers(1, 3),
    }
)


class RouterMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0
        self.seq = 0
        self.calls: dict[str, RefCall] = {}
        self.ever: list[str] = []
        self.router: Router
        self.agents: dict[str, RefAgent] = {}
        self.specs: dict[str, QueueSpec] = {}
        self.rr: dict[str, int] = {}
        self.eager = False

    @initialize(
        agent_skills=st.lists(skill_sets, min_size=6, max_size=6),
        trunk_skills=skill_sets,
        cfg=queue_configs,
        signed_in=st.lists(st.sampled_from([True, True, False]), min_size=6, max_size=6),
        warm_up=st.lists(
            st.tuples(st.sampled_from(QUEUES), st.sampled_from([0, 0, 1])), max_size=8
        ),
    )
    def setup(
        self,
        agent_skills: list[dict[str, int]],
        trunk_skills: dict[str, int],
        cfg: dict[str, Any],
        signed_in: list[bool],
        warm_up: list[tuple[str, int]],
    ) -> None:
        teams = {
            "shop": TeamSpec(kind="in-house"),
            "backup": TeamSpec(kind="in-house"),
            "callpoint": TeamSpec(kind="outsourced"),
            "nightdesk": TeamSpec(
                kind="outsourced",
                trunk=TrunkSpec(dial="PJSIP/200@partner", max_concurrent=2, skills=trunk_skills),
            ),
        }
        specs = [
            AgentSpec(
                id=f"a{n}",
                name=f"A {n}",
                endpoint=f"PJSIP/a{n}",
                team=team,
                skills=agent_skills[n],
                max_concurrent=2 if n == 5 else 1,
            )
            for n, team in enumerate(AGENT_TEAMS)
        ]
        common = {k: cfg[k] for k in ("wrapup", "ring_timeout", "max_misses")}
        limits = {"max_wait": cfg["max_wait"], "exit": "voicemail"}
        queues = [
            # Everyone serves "general" and it has no max_wait: its callers must be answered.
            {"name": "general", "teams": list(TEAM_NAMES), **common},
            {"name": "li", "skills": {"x": cfg["x_level"]}, **common, **limits},
            {
                "name": "ms",
                "skills": {"x": 1, "y": cfg["y_level"]},
                "strategy": "most-skilled",
                "max_callers": cfg["max_callers"],
                **common,
                **limits,
            },
            {
                "name": "rr",
                "skills": {"z": 1},
                "strategy": "round-robin",
                "teams": ["shop", "callpoint"],
                **common,
                **limits,
            },
            {"name": "ra", "skills": {"y": 1}, "strategy": "ring-all", **common, **limits},
        ]
        self.specs = {q["name"]: QueueSpec.model_validate(q) for q in queues}
        self.router = Router(Roster(teams, tuple(specs)), self.specs.values())
        for n, spec in enumerate(specs):
            self.agents[spec.id] = RefAgent(
                spec.id, spec.team, dict(spec.skills), spec.max_concurrent, n
            )
        self.agents[TRUNK] = RefAgent(
            TRUNK, "nightdesk", dict(trunk_skills), 2, len(specs), trunk=True, signed_in=True
        )
        self.rr = {name: -1 for name in self.specs}
        self.eager = cfg["eager"]
        for n, on in enumerate(signed_in):
            if on:
                self.sign_in(f"a{n}")
        # Start busy: callers waiting, agents on calls (so wrap-ups and exits come soon).
        for queue, priority in warm_up:
            self.enqueue(queue=queue, priority=priority, override=None)
        self.dispatch()
        for n, (call_id, agent_id) in enumerate(self.legs()):
            if n % 3 and agent_id in self.calls[call_id].ringing:
                self.take(call_id, agent_id)

    # --- helpers ----------------------------------------------------------------------------

    def default_teams(self, spec: QueueSpec) -> set[str]:
        return set(spec.teams) if spec.teams is not None else {"shop", "backup"}

    def eligible(self, call: RefCall) -> list[RefAgent]:
        return [
            a
            for a in self.agents.values()
            if a.offerable(self.now)
            and call.meets(a)
            and call.skip.get(a.id, float("-inf")) <= self.now
        ]

    def legs(self) -> list[tuple[str, str]]:
        return sorted((c.id, a) for c in self.calls.values() for a in c.ringing)

    def talks(self) -> list[tuple[str, str]]:
        return sorted((c.agent, c.id) for c in self.calls.values() if c.agent is not None)

    def forget(self, call_id: str) -> None:
        del self.calls[call_id]

    # --- callers ----------------------------------------------------------------------------

    @rule(
        queue=st.sampled_from(QUEUES),
        priority=st.sampled_from([0, 0, 0, 1, 2]),
        override=st.none()
        | st.tuples(skill_sets, st.sets(st.sampled_from(TEAM_NAMES), min_size=1)),
        again=st.integers(0, 3),
    )
    @settles
    def enqueue(
        self,
        queue: str,
        priority: int,
        override: tuple[dict[str, int], set[str]] | None,
        again: int = 1,
    ) -> None:
        spec = self.specs[queue]
        if queue == "general":
            override = None  # general callers must stay servable by everyone
        gone = [c for c in self.ever if c not in self.calls]
        if again == 0 and gone:
            call_id = gone[-1]  # the same call back in a queue (say, an agent transferred it)
        else:
            call_id = f"c{len(self.ever)}"
            self.ever.append(call_id)
        requirement = Requirement.of(*override) if override is not None else None
        result = self.router.enqueue(call_id, queue, self.now, priority, requirement)
        held = sum(
            1 for c in self.calls.values() if c.queue == queue and c.state is not CallState.TALKING
        )
        if spec.max_callers is not None and held >= spec.max_callers:
            assert result is not None and (result.reason, result.node) == ("full", "voicemail")
            return
        assert result is None
        skills, teams = (
            override if override is not None else (spec.skills, self.default_teams(spec))
        )
        self.seq += 1
        self.calls[call_id] = RefCall(
            call_id, queue, (-priority, self.now, self.seq), dict(skills), set(teams)
        )

    @precondition(lambda self: bool(self.calls))
    @rule(data=st.data())
    @settles
    def widen(self, data: st.DataObject) -> None:
        call = self.calls[data.draw(st.sampled_from(sorted(self.calls)))]
        kind = data.draw(st.sampled_from(["drop", "lower", "teams", "narrow"]))
        if kind == "narrow":
            with pytest.raises(RoutingError):
                self.router.widen(call.id, skills={**call.skills, "zz": 1})
            if call.skills:
                name = sorted(call.skills)[0]
                with pytest.raises(RoutingError):
                    self.router.widen(call.id, skills={name: call.skills[name] + 1})
            return
        if kind == "drop":
            keep = dict(sorted(call.skills.items())[1:])
            assert self.router.widen(call.id, skills=keep)
            call.skills = keep
        elif kind == "lower":
            by = data.draw(st.integers(0, 2))
            assert self.router.widen(call.id, lower_levels=by)
            call.skills = {s: max(1, v - by) for s, v in call.skills.items()}
        else:
            team = data.draw(st.sampled_from(TEAM_NAMES))
            assert self.router.widen(call.id, add_teams=[team])
            call.teams.add(team)
            if team == "nightdesk" and not self.agents[TRUNK].skills:
                call.open_teams.add(team)  # a trunk without skills takes any caller

    @rule(data=st.data())
    @settles
    def abandon(self, data: st.DataObject) -> None:
        choices = [*sorted(self.calls), "never-seen", *self.ever[-2:]]
        call_id = data.draw(st.sampled_from(choices))
        stop = self.router.abandon(call_id, self.now)
        call = self.calls.get(call_id)
        if call is None:
            assert stop == ()
            return
        if call.agent is not None:
            assert stop == ()
            self.end(call.agent, call_id)
            return
        assert stop == tuple(sorted(call.ringing, key=lambda a: self.agents[a].ordinal))
        for agent_id in call.ringing:
            self.agents[agent_id].ringing.discard(call_id)
        self.forget(call_id)

    # --- offers -----------------------------------------------------------------------------

    @rule()
    def dispatch(self) -> None:
        offers = self.router.dispatch(self.now)
        event(f"dispatch: {min(len(offers), 3)} offers")
        offered: set[str] = set()
        for offer in offers:
            call = self.calls[offer.call_id]
            assert call.state is CallState.WAITING, f"{call.id} offered while {call.state}"
            assert offer.call_id not in offered
            # Order: nobody ahead of this caller (still waiting) could have been served.
            for other in self.calls.values():
                if other.state is CallState.WAITING and other.key < call.key:
                    assert not self.eligible(other), (
                        f"{call.id} {call.key} served before {other.id} {other.key}"
                    )
            eligible = self.eligible(call)
            chosen = [self.agents[a] for a in offer.agent_ids]
            assert chosen, "an offer without agents"
            for agent in chosen:
                assert agent in eligible, f"{agent.id} may not take {call.id} now"
            spec = self.specs[call.queue]
            if spec.strategy == "ring-all":
                assert [a.id for a in chosen] == sorted(
                    (a.id for a in eligible), key=lambda i: self.agents[i].ordinal
                )
            else:
                assert len(chosen) == 1
                expected = self.pick(spec.strategy, call, eligible)
                assert chosen[0].id == expected.id, f"{spec.strategy}: {expected.id} expected"
            assert offer.endpoints == tuple(
                "PJSIP/200@partner" if a.trunk else f"PJSIP/{a.id}" for a in chosen
            )
            assert offer.ring_timeout == spec.ring_timeout
            self.rr[call.queue] = chosen[0].ordinal
            call.state = CallState.RINGING
            call.ringing = {a.id for a in chosen}
            for agent in chosen:
                agent.ringing.add(call.id)
            offered.add(call.id)
        # Work-conserving: no waiting caller is left with an agent who could take them.
        for call in self.calls.values():
            if call.state is CallState.WAITING:
                assert not self.eligible(call), f"{call.id} left waiting with agents free"

    def settle(self) -> None:
        if self.eager:
            self.dispatch()

    def pick(self, strategy: str, call: RefCall, eligible: list[RefAgent]) -> RefAgent:
        if strategy == "most-skilled":
            return min(
                eligible,
                key=lambda a: (
                    -sum(a.skills.get(s, 0) for s in call.skills),
                    a.idle_since,
                    a.ordinal,
                ),
            )
        if strategy == "round-robin":
            size = len(self.agents)
            return min(eligible, key=lambda a: (a.ordinal - self.rr[call.queue] - 1) % size)
        return min(eligible, key=lambda a: (a.idle_since, a.ordinal))

    @rule(data=st.data(), stale=st.integers(0, 5))
    @settles
    def answer(self, data: st.DataObject, stale: int) -> None:
        legs = self.legs()
        if stale == 0 or not legs:
            call_id = data.draw(st.sampled_from([*self.ever[-3:], "nope"]))
            agent_id = data.draw(st.sampled_from(AGENT_IDS))
            if (call_id, agent_id) in legs:
                return
            assert not self.router.ring_answered(call_id, agent_id, self.now).accepted
            return
        self.take(*data.draw(st.sampled_from(legs)))

    def take(self, call_id: str, agent_id: str) -> None:
        call = self.calls[call_id]
        answer = self.router.ring_answered(call_id, agent_id, self.now)
        others = sorted(call.ringing - {agent_id}, key=lambda a: self.agents[a].ordinal)
        assert answer.accepted and answer.stop_ringing == tuple(others)
        for other in others:
            self.agents[other].ringing.discard(call_id)
        agent = self.agents[agent_id]
        agent.ringing.discard(call_id)
        agent.talking.add(call_id)
        agent.misses = 0
        call.ringing = set()
        call.state = CallState.TALKING
        call.agent = agent_id

    @precondition(lambda self: bool(self.legs()))
    @rule(data=st.data(), reason=st.sampled_from(REASONS))
    @settles
    def fail(self, data: st.DataObject, reason: Any) -> None:
        call_id, agent_id = data.draw(st.sampled_from(self.legs()))
        assert self.router.ring_failed(call_id, agent_id, self.now, reason)
        assert not self.router.ring_failed(call_id, agent_id, self.now, reason)  # repeated
        call = self.calls[call_id]
        agent = self.agents[agent_id]
        spec = self.specs[call.queue]
        call.ringing.discard(agent_id)
        agent.ringing.discard(call_id)
        agent.misses += 1
        if agent.misses >= spec.max_misses and agent.signed_in and agent.pause is None:
            agent.pause = "no-answer"
        call.skip[agent_id] = self.now + spec.ring_timeout
        if not call.ringing:
            call.state = CallState.WAITING

    @precondition(lambda self: bool(self.talks()))
    @rule(data=st.data())
    @settles
    def hang_up(self, data: st.DataObject) -> None:
        agent_id, call_id = data.draw(st.sampled_from(self.talks()))
        assert self.router.call_ended(agent_id, self.now, call_id)
        self.end(agent_id, call_id)

    def end(self, agent_id: str, call_id: str) -> None:
        agent = self.agents[agent_id]
        agent.talking.discard(call_id)
        wrapup = 0.0 if agent.trunk else self.specs[self.calls[call_id].queue].wrapup
        agent.idle_since = self.now
        if wrapup > 0:
            event("wrap-up started")
            until = self.now + wrapup
            agent.wrap_until = (
                until if not agent.wrapping(self.now) else max(until, agent.wrap_until or until)
            )
        self.forget(call_id)

    @rule(seconds=st.sampled_from([0.0, 0.5, 1.0, 5.0, 15.0, 30.0, 100.0]))
    @settles
    def wait(self, seconds: float) -> None:
        self.now += seconds
        exits = self.router.tick(self.now)
        expected = []
        for call in sorted(self.calls.values(), key=lambda c: c.key):
            max_wait = self.specs[call.queue].max_wait
            waiting = call.state is CallState.WAITING
            if waiting and max_wait is not None and call.key[1] + max_wait <= self.now:
                expected.append(call.id)
        assert sorted(e.call_id for e in exits) == sorted(expected)
        if exits:
            event("max-wait exit")
        for e in exits:
            assert (e.reason, e.node, e.queue) == (
                "max-wait",
                "voicemail",
                self.calls[e.call_id].queue,
            )
            self.forget(e.call_id)

    # --- agents -----------------------------------------------------------------------------

    def sign_in(self, agent_id: str) -> None:
        agent = self.agents[agent_id]
        assert self.router.sign_in(agent_id, self.now) == (not agent.signed_in)
        if not agent.signed_in:
            agent.signed_in, agent.pause, agent.misses = True, None, 0
            agent.idle_since = self.now

    @rule(
        agent_id=st.sampled_from(AGENT_IDS),
        action=st.sampled_from(["sign_in", "sign_out", "pause", "pause2", "resume"]),
    )
    @settles
    def work(self, agent_id: str, action: str) -> None:
        agent = self.agents[agent_id]
        if action == "sign_in":
            self.sign_in(agent_id)
        elif action == "sign_out":
            assert self.router.sign_out(agent_id) == agent.signed_in
            agent.signed_in, agent.pause = False, None
        elif action in ("pause", "pause2"):
            reason = "lunch" if action == "pause" else "training"
            expected = agent.signed_in and agent.pause != reason
            assert self.router.pause(agent_id, reason) == expected
            if expected:
                agent.pause = reason
        else:
            assert self.router.resume(agent_id) == (agent.pause is not None)
            if agent.pause is not None:
                agent.pause, agent.misses = None, 0

    @rule(agent_id=st.sampled_from(AGENT_IDS), reachable=st.booleans(), busy=st.booleans())
    @settles
    def presence(self, agent_id: str, reachable: bool, busy: bool) -> None:
        agent = self.agents[agent_id]
        changed = (agent.reachable, agent.busy) != (reachable, busy)
        assert self.router.set_presence(agent_id, reachable, busy) == changed
        agent.reachable, agent.busy = reachable, busy

    # --- always -----------------------------------------------------------------------------

    @invariant()
    def same_state(self) -> None:
        if not self.agents:
            return
        for agent in self.agents.values():
            view = self.router.agent(agent.id)
            assert view.state is agent.state(self.now), agent.id
            assert view.pause_reason == agent.pause
            assert view.misses == agent.misses
            assert view.calls == tuple(sorted(agent.ringing | agent.talking))
            if not agent.trunk:
                assert len(agent.ringing) <= 1
            assert len(agent.ringing) + len(agent.talking) <= agent.max_calls
        for call_id in self.ever:
            call = self.calls.get(call_id)
            assert self.router.call_state(call_id) is (call.state if call else None), call_id
        waiting = sorted(
            (c for c in self.calls.values() if c.state is CallState.WAITING), key=lambda c: c.key
        )
        for call in waiting:
            ahead = sum(1 for o in waiting if o.queue == call.queue and o.key < call.key)
            assert self.router.position(call.id) == ahead + 1

    def teardown(self) -> None:
        if not self.agents:
            return
        router = self.router
        for agent_id in AGENT_IDS:
            router.set_presence(agent_id, True, False)
            router.sign_in(agent_id, self.now)
            router.resume(agent_id)
        for _ in range(100):
            held = [c for c in self.ever if router.call_state(c) is not None]
            if not held:
                break
            self.now += 1000.0
            router.tick(self.now)
            router.dispatch(self.now)
            for agent_id in AGENT_IDS:  # answer every ring (ring-all: the first leg wins)
                for call_id in router.agent(agent_id).calls:
                    if router.call_state(call_id) is CallState.RINGING:
                        router.ring_answered(call_id, agent_id, self.now)
            for agent_id in AGENT_IDS:
                for call_id in router.agent(agent_id).calls:
                    assert router.call_state(call_id) is CallState.TALKING
                    assert router.call_ended(agent_id, self.now, call_id)
        assert [c for c in self.ever if router.call_state(c) is not None] == []
        assert router.dispatch(self.now + 10_000) == []


RouterMachine.TestCase.settings = settings(
    max_examples=1000,
    stateful_step_count=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_router_matches_the_reference = RouterMachine.TestCase
