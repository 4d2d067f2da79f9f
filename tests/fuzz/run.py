"""The fuzz run: cases drawn from the seed corpus, mutated, checked; a summary of crashes and
the slowest case. Case N of seed S is the same on every machine (`--case N` replays it)."""

from __future__ import annotations

import random
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ivr.simulate.traffic import Traffic, traffic_from
from ivr.site_load import LoadedSite, check_site
from tests.fuzz.mutate import Mutator
from tests.fuzz.targets import Outcome, run_calls, run_config, run_plan, run_roster, run_traffic

ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).resolve().parent / "corpus"
KINDS = ("plan", "roster", "config", "traffic", "calls")
# Of every 12 cases: 6 plans, 2 rosters, 2 configs, a traffic file and a list of calls (the
# files `ivr simulate` reads).
SHARES = {"plan": 6, "roster": 2, "config": 2, "traffic": 1, "calls": 1}


@dataclass(frozen=True)
class Seeds:
    """The seed corpus: the shipped and test files of each kind, and the known crashers."""

    plans: list[tuple[str, bytes]]
    rosters: list[tuple[str, bytes]]
    configs: list[tuple[str, bytes]]
    traffics: list[tuple[str, bytes]]
    call_lists: list[tuple[str, bytes]]
    site_plans: list[tuple[str, bytes]]  # the example site a roster is checked against
    site_roster: bytes

    @classmethod
    def load(cls) -> Seeds:
        def read(paths: Iterable[Path]) -> list[tuple[str, bytes]]:
            return [(str(p.relative_to(ROOT)), p.read_bytes()) for p in sorted(paths)]

        plans = read(
            [
                *ROOT.glob("dialplans/*.yaml"),
                *ROOT.glob("tests/dialplans/*.yaml"),
                *ROOT.glob("tests/dialplans/*/*.yaml"),
                *ROOT.glob("tests/dialplans/*/*.yaml.in"),
                *CORPUS.glob("plans/*.yaml"),
            ]
        )
        rosters = read(
            [
                *ROOT.glob("agents/*.yaml"),
                *ROOT.glob("tests/agents/*.yaml"),
                *ROOT.glob("tests/agents/*/*.yaml"),
                *CORPUS.glob("rosters/*.yaml"),
            ]
        )
        configs = read([ROOT / "config" / "ivr.yaml", *CORPUS.glob("configs/*.yaml")])
        traffics = read([ROOT / "config" / "traffic.yaml", *CORPUS.glob("traffic/*.yaml")])
        call_lists = read(CORPUS.glob("calls/*.yaml"))
        return cls(
            plans,
            rosters,
            configs,
            traffics,
            call_lists,
            read(ROOT.glob("dialplans/*.yaml")),
            (ROOT / "agents" / "roster.yaml").read_bytes(),
        )

    def of(self, kind: str) -> list[tuple[str, bytes]]:
        kinds = {"plan": self.plans, "roster": self.rosters, "config": self.configs}
        return {**kinds, "traffic": self.traffics, "calls": self.call_lists}[kind]

    def example_shop(self) -> Shop:
        """The example site, which the callers of a traffic file or a list call."""
        site = check_site(self.site_plans, [("agents/roster.yaml", self.site_roster)])
        example = ROOT / "config" / "traffic.yaml"
        traffic = traffic_from(example.read_bytes(), str(example), example.parent)
        return Shop(site, traffic)


@dataclass(frozen=True)
class Shop:
    """The example shop and its traffic, for the cases of `ivr simulate`'s files."""

    site: LoadedSite
    traffic: Traffic


@dataclass
class Summary:
    """Counts of a run, its crashes, and its slowest case."""

    cases: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    accepted: int = 0
    crashes: list[Outcome] = field(default_factory=list)
    slowest: Outcome | None = None
    unlocated: list[Outcome] = field(default_factory=list)

    def add(self, outcome: Outcome) -> None:
        self.cases += 1
        self.by_kind[outcome.kind] = self.by_kind.get(outcome.kind, 0) + 1
        self.accepted += outcome.accepted
        if outcome.crash is not None:
            self.crashes.append(outcome)
        if outcome.unlocated:
            self.unlocated.append(outcome)
        if self.slowest is None or outcome.seconds > self.slowest.seconds:
            self.slowest = outcome


def kind_of(index: int, kinds: tuple[str, ...]) -> str:
    """The kind of case `index`: the shares above, among the kinds asked for."""
    wheel = [k for k in KINDS if k in kinds for _ in range(SHARES[k])]
    return wheel[index % len(wheel)]


def case_input(seeds: Seeds, seed: int, index: int, kind: str) -> tuple[str, bytes]:
    """The seed file case `index` starts from, and its mutated bytes."""
    rng = random.Random(f"{seed}:{index}")
    corpus = seeds.of(kind)
    name, data = rng.choice(corpus)
    others = [d.decode("utf-8", "replace") for n, d in corpus if n != name]
    text = data.decode("utf-8", "replace")
    # One case in twenty is the seed itself (the corpus' crashers must stay fixed).
    mutated = data if rng.random() < 0.05 else Mutator(rng, others).mutate(text)
    return name, mutated


def run_case(
    seeds: Seeds, seed: int, index: int, kind: str, folder: Path, shop: Shop | None = None
) -> Outcome:
    """Case `index` of a run with `seed` (`shop`: the example shop, for `ivr simulate`'s)."""
    _, data = case_input(seeds, seed, index, kind)
    rng = random.Random(f"{seed}:{index}:site")
    if kind == "plan":
        # Alone, or beside the example plan (numbers, names and queues shared between plans),
        # with or without the example roster (teams and skills of the queues).
        others = seeds.site_plans if rng.random() < 0.3 else []
        roster = seeds.site_roster if rng.random() < 0.5 else None
        return run_plan(index, data, others, roster)
    if kind == "roster":
        return run_roster(index, data, seeds.site_plans)
    if kind in ("traffic", "calls"):
        shop = shop or seeds.example_shop()
        if kind == "calls":
            return run_calls(index, data, shop.site, shop.traffic)
        return run_traffic(index, data, shop.site)
    return run_config(index, data, folder)


def fuzz(
    cases: int,
    seed: int = 0,
    kinds: tuple[str, ...] = KINDS,
    first: int = 0,
    progress: Callable[[Summary], None] | None = None,
) -> Summary:
    """Run cases first..first+cases-1; a summary of what they did."""
    seeds = Seeds.load()
    summary = Summary()
    shop = seeds.example_shop() if {"traffic", "calls"} & set(kinds) else None
    with tempfile.TemporaryDirectory(prefix="ivr-fuzz-") as tmp:
        folder = Path(tmp)
        for index in range(first, first + cases):
            summary.add(run_case(seeds, seed, index, kind_of(index, kinds), folder, shop))
            if progress is not None and summary.cases % 1000 == 0:
                progress(summary)
    return summary
