"""The desk's kept counts (staffing per queue and per widened requirement, agents by team and
state, callers and longest wait per queue) equal a full recount after every change, and the
gauges exported from them hold what a recount would have set.

The recount is the desk's former way, agent by agent and caller by caller (it reads the
router's records: it is the reference the kept counts must match)."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from ivr.journal.metrics import Metrics
from ivr.journal.metrics_sink import AGENT_STATE, DeskGauges
from ivr.plan.queues import OverflowStep, QueueSpec
from ivr.routing.agents import AgentRecord, AgentState
from ivr.routing.desk import Desk, figures, snapshot
from ivr.routing.queues import CallState
from ivr.routing.results import QueueStats, RingFailure
from ivr.routing.roster import Roster, parse_roster
from ivr.routing.router import Router
from ivr.routing.skills import Requirement

MONDAY_7AM = datetime(2026, 11, 30, 7, 0, tzinfo=UTC).timestamp()
SKILLS = ("returns", "orders", "lang:ru")
PEOPLE_TEAMS = ("shop", "night", "partner")
TEAMS_YAML = """
schedules:
  days: {timezone: UTC, weekly: {mon-sun: "08:00-20:00"}, holidays: off}
  nights: {timezone: UTC, weekly: {mon-sun: "19:00-24:00"}, holidays: off}
teams:
  shop: {kind: in-house, shift: days}
  night: {kind: in-house, shift: nights}
  partner: {kind: outsourced}
  nightdesk: {kind: outsourced, trunk: {dial: "PJSIP/200@partner", max_concurrent: 2,
              skills: {returns: 4}}}
  anyone: {kind: outsourced, trunk: {dial: "PJSIP/300@other", max_concurrent: 1}}
"""
QUEUES = (
    QueueSpec(
        name="returns", skills={"returns": 3}, wrapup=5, ring_timeout=10, max_misses=2,
        max_wait=120, exit="gone",
        overflow=[OverflowStep(waited=30, lower_levels=1),
                  OverflowStep(waited=60, add_team="anyone")],
    ),
    QueueSpec(name="orders", skills={"orders": 2, "lang:ru": 1}, teams=["shop", "partner"],
              strategy="ring-all", wrapup=0),
    QueueSpec(name="any", teams=["partner", "nightdesk"], strategy="round-robin",
              max_callers=3, exit="gone"),
    QueueSpec(name="night", skills={"returns": 2}, teams=["nightdesk", "night"],
              strategy="most-skilled", wrapup=20),
)  # fmt: skip
WIDENINGS: tuple[dict[str, Any], ...] = (
    {"lower_levels": 1},
    {"lower_levels": 5},
    {"add_teams": ["anyone"]},
    {"add_teams": ["partner"]},
    {"skills": {}},
)
FAILURES: tuple[RingFailure, ...] = ("no-answer", "busy", "rejected", "unreachable")
KINDS = (
    "sign-in", "sign-out", "pause", "resume", "presence", "enqueue", "answer", "fail",
    "end", "abandon", "withdraw", "widen", "wait", "later", "reload", "restart",
)  # fmt: skip

BUSY = {"enqueue", "answer", "end", "wait", "sign-in", "resume"}  # what a busy day is mostly


@st.composite
def rosters(draw: st.DrawFn) -> str:
    """Six people of three teams with random skills and lines: a roster file's agents."""
    lines = ["agents:"]
    for n in range(6):
        skills = draw(st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 10), max_size=3))
        team = draw(st.sampled_from(PEOPLE_TEAMS))
        lines_ = draw(st.integers(1, 2))
        shown = ", ".join(f'"{k}": {v}' for k, v in skills.items())
        lines.append(
            f"  - {{id: agent{n}, name: Agent {n}, endpoint: PJSIP/agent{n}, team: {team}, "
            f"skills: {{{shown}}}, max_concurrent: {lines_}}}"
        )
    return "\n".join(lines) + "\n"


def roster_of(agents_yaml: str, drop: int | None = None) -> Roster:
    lines = agents_yaml.splitlines()
    if drop is not None:
        del lines[1 + drop]  # an agent who left
    return parse_roster((TEAMS_YAML, "teams.yaml"), ("\n".join(lines) + "\n", "agents.yaml"))


def _serves(agent: AgentRecord, requirement: Requirement) -> bool:
    return (
        agent.signed_in
        and agent.on_duty
        and agent.pause_reason is None
        and agent.reachable
        and requirement.met_by(agent.skills, agent.team)
    )


def recount(router: Router, now: float) -> dict[str, QueueStats]:
    """Every queue's figures counted afresh, agent by agent and caller by caller."""
    agents = list(router._agents.values())
    stats = {}
    for name, state in router._queues.items():
        calls = [c for c in router._calls.values() if c.queue == name]
        held = [c for c in calls if c.state is not CallState.TALKING]
        staffed = [a for a in agents if _serves(a, state.requirement)]
        stats[name] = QueueStats(
            queue=name,
            waiting=sum(1 for c in held if c.state is CallState.WAITING),
            ringing=sum(1 for c in held if c.state is CallState.RINGING),
            talking=sum(1 for c in calls if c.state is CallState.TALKING),
            longest_wait=max((now - c.enqueued_at for c in held), default=0.0),
            agents_staffed=len(staffed),
            agents_available=sum(1 for a in staffed if a.offerable),
            answered=state.answered,
            answered_in_sla=state.answered_in_sla,
            abandoned=state.abandoned,
            exited=state.exited,
            handle_time=state.handle_times.mean(),
        )
    return stats


@dataclass
class Centre:
    """The desk as the daemon drives it, and the gauges as the old tick would have set them."""

    agents_yaml: str
    now: float = MONDAY_7AM
    dropped: int | None = None
    desk: Desk = field(init=False)
    kept: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: int = 0
    metrics: Metrics = field(default_factory=Metrics)
    expected_gauges: dict[tuple[str, ...], float] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)  # agent and caller states checked at least once
    gauges: DeskGauges = field(init=False)

    def __post_init__(self) -> None:
        self.desk = Desk(roster_of(self.agents_yaml), QUEUES)
        self.gauges = DeskGauges(self.metrics)

    @property
    def router(self) -> Router:
        return self.desk.router

    def people(self) -> list[str]:
        return [a.id for a in self.desk.roster.agents]

    def held(self, *states: CallState) -> list[str]:
        return sorted(c for c, held in self.router._calls.items() if held.state in states)

    def do(self, kind: str, a: int, b: int) -> None:
        router = self.router
        people = self.people()
        agent = people[a % len(people)] if people else None
        match kind:
            case "sign-in" if agent:
                self.desk.request(agent, "sign-in", "", self.now)
            case "sign-out" if agent:
                self.desk.request(agent, "sign-out", "", self.now)
            case "pause" if agent:
                self.desk.request(agent, "pause", ("break", "lunch")[b % 2], self.now)
            case "resume" if agent:
                self.desk.request(agent, "resume", "", self.now)
            case "presence" if agent:
                self.desk.presence(f"PJSIP/{agent}", b % 3 != 0, b % 4 == 0)
            case "enqueue":
                self.calls += 1
                router.enqueue(f"c{self.calls}", QUEUES[a % len(QUEUES)].name, self.now, b % 2)
            case "answer" | "fail":
                rings = [
                    (call_id, agent_id)
                    for call_id in self.held(CallState.RINGING)
                    for agent_id in sorted(router._calls[call_id].ringing)
                ]
                if rings:
                    call_id, agent_id = rings[a % len(rings)]
                    if kind == "answer":
                        router.ring_answered(call_id, agent_id, self.now)
                    else:
                        router.ring_failed(call_id, agent_id, self.now, FAILURES[b % 4])
            case "end":
                talking = self.held(CallState.TALKING)
                if talking:
                    call_id = talking[a % len(talking)]
                    held = router._calls[call_id]
                    assert held.agent is not None
                    router.call_ended(held.agent, self.now, call_id)
            case "abandon" | "withdraw" | "widen":
                calls = self.held(CallState.WAITING, CallState.RINGING, CallState.TALKING)
                if calls:
                    call_id = calls[a % len(calls)]
                    if kind == "abandon":
                        router.abandon(call_id, self.now)
                    elif kind == "withdraw":
                        router.withdraw(call_id, self.now)
                    else:
                        router.widen(call_id, **WIDENINGS[b % len(WIDENINGS)])
            case "wait":
                self.now += 0.5 + b % 30
            case "later":  # hours pass: shifts begin and end
                self.now += 3600.0 * (1 + b % 6) + a % 600
            case "reload":  # a changed roster goes live once nobody waits or talks
                for call_id in list(router._calls):
                    router.abandon(call_id, self.now)
                self.dropped = None if self.dropped is not None else a % 6
                roster = roster_of(self.agents_yaml, self.dropped)
                self.desk = self.desk.successor(roster, QUEUES, self.now)
            case "restart":  # agents come back as the store kept them, and so do the calls
                before = sorted(router._calls.values(), key=lambda held: held.key)
                self.desk = Desk(self.desk.roster, QUEUES)
                self.desk.restore_agents(self.kept, self.now)
                for held in before:
                    if held.state is not CallState.TALKING:
                        self.router.rejoin(
                            held.call_id, held.queue, self.now, held.priority, held.enqueued_at
                        )
                    elif held.agent is not None and self.router.rejoin_talking(
                        held.call_id, held.queue, held.agent, held.priority,
                        held.enqueued_at, held.answered_at,
                    ):  # fmt: skip
                        self.seen.add("rejoined talking")
        # What the switchboard does after every event.
        self.router.tick(self.now)
        self.desk.shifts(self.now)
        self.router.dispatch(self.now)
        self.kept.update(self.desk.changed_agents())

    def check(self) -> None:
        router, now = self.router, self.now
        expected = recount(router, now)
        assert router.queue_stats(now) == expected
        people = [a for a in router._agents.values() if not a.is_trunk]
        by_state = Counter((a.team, a.state) for a in people)
        self.seen |= {str(state) for _, state in by_state}
        self.seen |= {f"caller {held.state}" for held in router._calls.values()}
        self.seen |= {"widened" for held in router._calls.values() if held.requirement not in
                      {q.requirement for q in router._queues.values()}}  # fmt: skip
        assert {k: v for k, v in router.agents_counted().items() if v} == dict(by_state)
        for call_id, held in router._calls.items():
            places = sum(
                a.max_concurrent for a in router._agents.values() if _serves(a, held.requirement)
            )
            assert router.staffed_for(call_id) == places
            if held.state is CallState.WAITING:
                mean = router._queues[held.queue].handle_times.mean()
                position = router.position(call_id)
                assert position is not None
                estimate = None if mean is None or not places else position * mean / places
                assert router.estimated_wait(call_id, now) == estimate
        self.check_gauges(expected)

    def check_gauges(self, stats: dict[str, QueueStats]) -> None:
        """The exporter, which sets only what changed, leaves every gauge as the old tick
        (every value set every second, from a recount) would have."""
        self.gauges.export(figures(self.desk, self.now))
        counts = Counter((a["team"], AGENT_STATE[a["state"]]) for a in snapshot_agents(self.desk))
        for team in {a.team for a in self.desk.roster.agents}:
            for state in AGENT_STATE.values():
                self.expected_gauges["ivr_agents", team, state] = counts[team, state]
        for name, queue in stats.items():
            self.expected_gauges["ivr_queue_callers", name] = queue.waiting + queue.ringing
            self.expected_gauges["ivr_queue_longest_wait_seconds", name] = round(
                queue.longest_wait, 1
            )
            self.expected_gauges["ivr_queue_open", name] = 1 if self.router.queue_open(name) else 0
        registry = self.metrics.registry
        for key, value in self.expected_gauges.items():
            labels = (
                {"team": key[1], "state": key[2]} if key[0] == "ivr_agents" else {"queue": key[1]}
            )
            assert registry.get_sample_value(key[0], labels) == value, key


def snapshot_agents(desk: Desk) -> list[dict[str, Any]]:
    """The agents as the API shows them, one by one."""
    agents: list[dict[str, Any]] = snapshot(desk, 0.0)["agents"]
    return agents


@given(
    agents=rosters(),
    steps=st.lists(
        st.tuples(st.sampled_from(KINDS), st.integers(0, 999), st.integers(0, 999)), max_size=60
    ),
)
def test_kept_counts_equal_a_recount_after_every_change(
    agents: str, steps: list[tuple[str, int, int]]
) -> None:
    centre = Centre(agents)
    for n in range(6):  # a centre at work: a step may sign someone out
        centre.do("sign-in", n, 0)
    centre.check()
    for kind, a, b in steps:
        centre.do(kind, a, b)
        centre.check()


def test_a_busy_day_keeps_the_counts() -> None:
    """A longer fixed run than hypothesis draws: every agent signs in, callers come and go
    through shift changes, widening steps, a roster reload and a restart."""
    agents = "\n".join(
        ["agents:"]
        + [
            f"  - {{id: agent{n}, name: Agent {n}, endpoint: PJSIP/agent{n}, "
            f"team: {PEOPLE_TEAMS[n % 3]}, skills: {{returns: {3 + n}, orders: {2 + n % 3}, "
            f'"lang:ru": 1}}, max_concurrent: {1 + n % 2}}}'
            for n in range(6)
        ]
    )
    centre = Centre(agents + "\n")
    for n in range(6):
        centre.do("sign-in", n, 0)
    rng = random.Random(14)
    weights = [3 if kind in BUSY else 1 for kind in KINDS]
    for _ in range(600):
        kind = rng.choices(KINDS, weights)[0]
        centre.do(kind, rng.randrange(1000), rng.randrange(1000))
        centre.check()
    assert centre.seen == {str(state) for state in AgentState} | {
        f"caller {state}" for state in CallState
    } | {"widened", "rejoined talking"}
