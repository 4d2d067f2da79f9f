"""What the desk costs each second and per waiting caller, at 1,000 and 5,000 agents.

    .venv/bin/python bench/desk.py [--against REF] [--rounds 200] [--seed 1]

Two figures that must not grow with the size of the centre:
- the metrics tick: what the daemon does every second for `/metrics` (agents by team and
  state, callers and longest wait per queue, queues open, callbacks pending), with 50 queues,
  1,000 or 5,000 agents in every state, 1,000 callers held and 2,000 callbacks pending; a
  few agents change between ticks, as in a live centre;
- the overflow re-check of one waiting caller (every 5 s while a step watches the queue):
  `estimated_wait`, `callers_over`, `no_agents` and `outside_hours` steps, none of which
  holds, so every trigger is worked out, at 50 and 5,000 agents.

With `--against REF` (default: the commit before the desk kept its counts) the same figures
are measured again on the code of that commit, unpacked by `git archive` into a temporary
folder and run in a child process, and printed beside. Prints figures only; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BEFORE = "b80f978"  # the last commit whose desk recounted every agent each second


def _code_path() -> None:
    """Import `ivr` from --code DIR when given (the old code), else from this tree."""
    if "--code" in sys.argv:
        sys.path.insert(0, sys.argv[sys.argv.index("--code") + 1])
    else:
        sys.path.insert(0, str(ROOT))


_code_path()

from ivr.callbacks.book import CallbackBook, CallbackRules  # noqa: E402
from ivr.callbacks.task import CallbackTask  # noqa: E402
from ivr.calls.call import Call  # noqa: E402
from ivr.calls.events import Caller  # noqa: E402
from ivr.calls.queue import overflow  # noqa: E402
from ivr.calls.queue.wait import QueueWait  # noqa: E402
from ivr.journal import metrics_sink  # noqa: E402
from ivr.journal.metrics import Metrics  # noqa: E402
from ivr.plan.load import parse_plan  # noqa: E402
from ivr.plan.queues import OverflowStep, QueueSpec, Strategy  # noqa: E402
from ivr.routing import desk as desk_module  # noqa: E402
from ivr.routing.desk import Desk  # noqa: E402
from ivr.routing.roster import AgentSpec, Roster, TeamSpec  # noqa: E402

QUEUES = 50
HELD = 1_000
CALLBACKS = 2_000
TOPICS = [f"topic{n:02d}" for n in range(40)]
LANGUAGES = [f"lang:l{n}" for n in range(10)]
TEAMS = [f"team{n}" for n in range(5)]
# Watching steps that never hold here: every trigger is worked out on every look.
WATCHING = [
    OverflowStep(name="long", estimated_wait=1e9, lower_levels=1),
    OverflowStep(name="crowd", callers_over=1_000_000, lower_levels=2),
    OverflowStep(name="nobody", no_agents=True, add_team="partner"),
    OverflowStep(name="night", outside_hours=True, add_team="partner"),
]


def build(agents: int, rng: random.Random) -> tuple[Roster, list[QueueSpec]]:
    """50 queues (a topic and a language each); every agent serves two to four of them."""
    strategies: list[Strategy] = ["longest-idle", "most-skilled", "round-robin", "longest-idle"]
    queues = [
        QueueSpec(
            name=f"q{n}",
            skills={TOPICS[n % len(TOPICS)]: rng.randint(1, 5), rng.choice(LANGUAGES): 1},
            strategy=strategies[n % len(strategies)],
            wrapup=30,
            overflow=WATCHING if n == 0 else [],
        )
        for n in range(QUEUES)
    ]
    teams = {name: TeamSpec(kind="in-house") for name in TEAMS}
    teams["partner"] = TeamSpec(kind="outsourced")
    people = []
    for n in range(agents):
        skills: dict[str, int] = {}
        for queue in rng.sample(queues, rng.randint(2, 4)):
            for skill, level in queue.skills.items():
                skills[skill] = max(skills.get(skill, 0), rng.randint(level, 10))
        for topic in rng.sample(TOPICS, 2):
            skills.setdefault(topic, rng.randint(1, 10))
        people.append(
            AgentSpec(
                id=f"agent{n}",
                name=f"Agent {n}",
                endpoint=f"PJSIP/agent{n}",
                team=rng.choice(TEAMS),
                skills=skills,
            )
        )
    return Roster(teams, tuple(people)), queues


def busy_centre(agents: int, rng: random.Random) -> Desk:
    """Most agents signed in; some paused, some on calls, in wrap-up or ringing; callers held."""
    roster, queues = build(agents, rng)
    desk = Desk(roster, queues)
    router = desk.router
    now = 1_000.0
    for spec in roster.agents:
        if rng.random() < 0.9:
            router.sign_in(spec.id, now)
            if rng.random() < 0.1:
                router.pause(spec.id, "break")
    names = [q.name for q in queues]
    for n in range(HELD):
        router.enqueue(f"call{n}", rng.choice(names), now + n * 0.01)
    for offer in router.dispatch(now + 20):
        if rng.random() < 0.8:
            router.ring_answered(offer.call_id, offer.agent_ids[0], now + 20)
    return desk


def callback_book(rng: random.Random) -> CallbackBook:
    rules = CallbackRules(max_open_per_queue=CALLBACKS, per_number_per_day=CALLBACKS)
    tasks = [
        CallbackTask(
            id=f"task{n:05d}",
            number=f"+7900{n:07d}",
            queue=f"q{rng.randrange(QUEUES)}",
            source="web",
            requested_at=900.0,
            place=900.0 - rng.random() * 600,
            next_attempt_at=2_000.0,
        )
        for n in range(CALLBACKS)
    ]
    return CallbackBook(rules, tasks)


def tick_of(desk: Desk, book: CallbackBook, metrics: Metrics) -> Callable[[float], None]:
    """The daemon's metrics tick, as the code under test does it."""
    gauges = getattr(metrics_sink, "DeskGauges", None)
    if gauges is not None:  # counts kept as agents change
        exporter = gauges(metrics)

        def tick(now: float) -> None:
            exporter.export(desk_module.figures(desk, now))
            metrics.callbacks_pending.set(book.pending_count())

        return tick

    def recount(now: float) -> None:  # the old tick: every agent, every queue, every task
        metrics_sink.export_desk(metrics, desk_module.snapshot(desk, now))  # type: ignore[attr-defined]
        metrics.callbacks_pending.set(len(book.pending()))

    return recount


def stir(desk: Desk, rng: random.Random, now: float) -> None:
    """A few agents change between two ticks: pauses, resumes, presence."""
    router = desk.router
    for spec in rng.sample(desk.roster.agents, 10):
        match rng.randrange(4):
            case 0:
                router.pause(spec.id, "lunch")
            case 1:
                router.resume(spec.id)
            case 2:
                router.set_presence(spec.id, rng.random() < 0.9, False)
            case _:
                router.sign_in(spec.id, now)
    router.tick(now)
    router.dispatch(now)


def metrics_tick(agents: int, rounds: int, seed: int) -> tuple[float, float]:
    """Median and p99 of one tick, in ms."""
    rng = random.Random(seed)
    desk = busy_centre(agents, rng)
    book = callback_book(rng)
    tick = tick_of(desk, book, Metrics())
    samples = []
    now = 1_100.0
    for _ in range(rounds):
        now += 1.0
        stir(desk, rng, now)
        started = time.perf_counter()
        tick(now)
        samples.append((time.perf_counter() - started) * 1e3)
    return statistics.median(samples), percentile(samples, 0.99)


def overflow_check(agents: int, rounds: int, seed: int) -> float:
    """Mean time of one overflow look at one waiting caller of q0, in µs."""
    rng = random.Random(seed)
    roster, queues = build(agents, rng)
    desk = Desk(roster, queues)
    router = desk.router
    for spec in roster.agents:
        router.sign_in(spec.id, 1_000.0)
        router.set_presence(spec.id, True, True)  # on a call elsewhere: callers wait
    plan, problems = parse_plan(PLAN, "bench.yaml")
    assert not problems, problems
    calls = []
    for n in range(100):
        call = Call(f"c{n}", plan, "100", Caller("79001234567", ""), 1_000.0, "en")
        router.enqueue(call.id, "q0", 1_000.0 + n)
        wait = QueueWait("q0", 1_000.0 + n, "default", None, 20.0, steps=tuple(WATCHING))
        calls.append((call, wait))
    router.dispatch(1_200.0)
    for call, wait in calls:  # the agents' sign-ins are counted here, not in the looks
        overflow.check(call, router, wait, 1_200.0)
    looks = 0
    started = time.perf_counter()
    for round_ in range(rounds):
        now = 1_205.0 + round_ * 5
        for call, wait in calls:
            overflow.check(call, router, wait, now)
            looks += 1
    spent = time.perf_counter() - started
    assert all(not wait.taken for _, wait in calls), "a step held: the bench measures nothing"
    return spent / looks * 1e6


PLAN = """
name: bench
numbers: ["100"]
nodes:
  start: {type: hangup}
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure(rounds: int, seed: int) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for agents in (1_000, 5_000):
        figures[f"tick{agents}"] = metrics_tick(agents, rounds, seed)
    for agents in (50, 5_000):
        figures[f"overflow{agents}"] = overflow_check(agents, max(1, rounds // 4), seed)
    return figures


def against(ref: str, rounds: int, seed: int) -> dict[str, Any] | None:
    """The same figures on the code of commit `ref`, or None when git cannot give it."""
    with tempfile.TemporaryDirectory(prefix="bench-desk-") as folder:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", ref, "ivr"], capture_output=True, check=False
        )
        if archive.returncode != 0:
            print(f"(no figures for {ref}: {archive.stderr.decode().strip()})")
            return None
        subprocess.run(["tar", "-x", "-C", folder], input=archive.stdout, check=True)
        child = subprocess.run(
            [sys.executable, __file__, "--code", folder, "--rounds", str(rounds),
             "--seed", str(seed), "--raw"],
            capture_output=True, text=True, check=True, env={**os.environ, "PYTHONPATH": ""},
        )  # fmt: skip
        result: dict[str, Any] = json.loads(child.stdout.strip().splitlines()[-1])
        return result


def show(label: str, figures: dict[str, Any]) -> None:
    for agents in (1_000, 5_000):
        median, p99 = figures[f"tick{agents}"]
        print(
            f"{label:<8} metrics tick, {agents:>5} agents, {QUEUES} queues: "
            f"median {median:8.3f} ms  p99 {p99:8.3f} ms"
        )
    for agents in (50, 5_000):
        print(
            f"{label:<8} overflow look, {agents:>5} agents: "
            f"{figures[f'overflow{agents}']:8.1f} us per waiting caller"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--against", default=BEFORE, help="a git commit to compare with, or ''")
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--code", help=argparse.SUPPRESS)
    parser.add_argument("--raw", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    figures = measure(args.rounds, args.seed)
    if args.raw:
        print(json.dumps(figures))
        return
    print(
        f"python {sys.version.split()[0]}, one core, seed {args.seed}, {HELD} callers held, "
        f"{CALLBACKS} callbacks pending"
    )
    if args.against:
        before = against(args.against, args.rounds, args.seed)
        if before is not None:
            show(args.against[:8], before)
    show("now", figures)


if __name__ == "__main__":
    main()
