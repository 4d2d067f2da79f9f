"""How fast the router decides, and what a waiting call costs in memory.

    .venv/bin/python bench/routing.py [--decisions 20000] [--seed 1]

Builds 1,000 signed-in agents across 50 skills (40 topics, 10 languages) and 50 queues, keeps
about 1,000 callers waiting, then times routing decisions as they happen in a busy centre:
- "agent frees up": an agent ends a call (no wrap-up) and dispatch picks their next caller;
- "caller arrives": a new caller joins and dispatch looks for a free agent;
- "worst: fits nobody": an agent with every skill but a team no queue takes signs in, and
  dispatch reads all 1,000 waiting callers to find none.
Each decision is one `dispatch(now)` call. Prints figures only; nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ivr.plan.queues import QueueSpec, Strategy
from ivr.routing import Offer, Roster, Router
from ivr.routing.roster import AgentSpec, TeamSpec

AGENTS = 1_000
WAITING = 1_000
TOPICS = [f"topic{n:02d}" for n in range(40)]
LANGUAGES = [f"lang:l{n}" for n in range(10)]
TEAMS = [f"team{n}" for n in range(5)]
SPARE = 200


def build(rng: random.Random) -> tuple[Roster, list[QueueSpec]]:
    """50 queues, each a topic and a language; every agent serves two to four of them well
    enough, and has a few skills more."""
    strategies: list[Strategy] = ["longest-idle", "most-skilled", "round-robin", "longest-idle"]
    queues = [
        QueueSpec(
            name=f"q{n}",
            skills={TOPICS[n % len(TOPICS)]: rng.randint(1, 5), rng.choice(LANGUAGES): 1},
            strategy=strategies[n % len(strategies)],
            wrapup=0,
        )
        for n in range(50)
    ]
    teams = {name: TeamSpec(kind="in-house") for name in TEAMS}
    agents = []
    for n in range(AGENTS):
        skills: dict[str, int] = {}
        for queue in rng.sample(queues, rng.randint(2, 4)):
            for skill, level in queue.skills.items():
                skills[skill] = max(skills.get(skill, 0), rng.randint(level, 10))
        for topic in rng.sample(TOPICS, 2):
            skills.setdefault(topic, rng.randint(1, 10))
        agents.append(
            AgentSpec(
                id=f"agent{n}",
                name=f"Agent {n}",
                endpoint=f"PJSIP/agent{n}",
                team=rng.choice(TEAMS),
                skills=skills,
            )
        )
    # Worst case for an agent who frees up: every skill, but a team no queue takes, so every
    # waiting caller is looked at and none fits. They stay signed out until the last part.
    teams["spare"] = TeamSpec(kind="outsourced")
    for n in range(SPARE):
        agents.append(
            AgentSpec(
                id=f"spare{n}",
                name=f"Spare {n}",
                endpoint=f"PJSIP/spare{n}",
                team="spare",
                skills=dict.fromkeys(TOPICS + LANGUAGES, 10),
            )
        )
    return Roster(teams, tuple(agents)), queues


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def show(label: str, samples_ns: list[int], offers: int) -> None:
    micros = [s / 1000 for s in samples_ns]
    print(
        f"{label:<22} n={len(micros):>6}  offers={offers:>6}  "
        f"median={statistics.median(micros):7.1f} us  p99={percentile(micros, 0.99):7.1f} us  "
        f"max={max(micros):8.1f} us"
    )


def run(decisions: int, seed: int) -> None:
    rng = random.Random(seed)
    roster, queues = build(rng)
    router = Router(roster, queues)
    names = [q.name for q in queues]
    now = 1_000.0
    for agent in roster.agents[:AGENTS]:
        router.sign_in(agent.id, now)
    calls = 0
    busy: list[str] = []  # agents on a call

    def arrive() -> None:
        nonlocal calls
        router.enqueue(f"call{calls}", rng.choice(names), now, priority=rng.choice([0, 0, 0, 1]))
        calls += 1

    def answer_all(offers: list[Offer]) -> None:
        for offer in offers:
            router.ring_answered(offer.call_id, offer.agent_ids[0], now)
            busy.append(offer.agent_ids[0])

    # Fill the centre: every agent is busy and 1,000 callers wait.
    started = time.perf_counter()
    while len(busy) < AGENTS or _waiting(router, now) < WAITING:
        for _ in range(100):
            arrive()
        answer_all(router.dispatch(now))
    print(
        f"setup: {AGENTS} agents, {len(TOPICS) + len(LANGUAGES)} skills, {len(queues)} queues, "
        f"{_waiting(router, now)} waiting, {len(busy)} on calls "
        f"({time.perf_counter() - started:.2f} s)"
    )

    freed: list[int] = []
    arrived: list[int] = []
    freed_offers = arrived_offers = 0
    waiting = _waiting(router, now)
    for _ in range(decisions):
        now += 1.0
        index = rng.randrange(len(busy))
        busy[index], busy[-1] = busy[-1], busy[index]
        router.call_ended(busy.pop(), now)
        t0 = time.perf_counter_ns()
        offers = router.dispatch(now)
        freed.append(time.perf_counter_ns() - t0)
        freed_offers += len(offers)
        waiting -= len(offers)
        answer_all(offers)
        while waiting < WAITING:  # a new caller for each one served
            arrive()
            waiting += 1
            t0 = time.perf_counter_ns()
            offers = router.dispatch(now)
            arrived.append(time.perf_counter_ns() - t0)
            arrived_offers += len(offers)
            waiting -= len(offers)
            answer_all(offers)
    print(f"after {decisions} calls ended: {_waiting(router, now)} waiting, {len(busy)} on calls")
    show("agent frees up", freed, freed_offers)
    show("caller arrives", arrived, arrived_offers)
    show("all decisions", freed + arrived, freed_offers + arrived_offers)
    worst: list[int] = []
    for agent in roster.agents[AGENTS:]:
        router.sign_in(agent.id, now)
        t0 = time.perf_counter_ns()
        offers = router.dispatch(now)
        worst.append(time.perf_counter_ns() - t0)
        assert not offers
    show("worst: fits nobody", worst, 0)


def memory(seed: int) -> None:
    rng = random.Random(seed)
    roster, queues = build(rng)
    router = Router(roster, queues)  # agents signed out: callers only wait
    names = [q.name for q in queues]
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for n in range(WAITING):
        router.enqueue(f"call{n}", rng.choice(names), 1_000.0 + n)
    router.dispatch(2_000.0)
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    print(
        f"memory per waiting call: {(after - before) / WAITING:.0f} bytes "
        f"(tracemalloc delta over {WAITING} callers, call ids included)"
    )


def _waiting(router: Router, now: float) -> int:
    return sum(s.waiting for s in router.queue_stats(now).values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--decisions", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, one core, seed {args.seed}")
    run(args.decisions, args.seed)
    memory(args.seed)


if __name__ == "__main__":
    main()
