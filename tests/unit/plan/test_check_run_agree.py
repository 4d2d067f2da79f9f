"""`ivr check` accepts exactly what `ivr run` starts with and what a reload puts live: one
function decides (ivr/site_load.py). Shown on the cases that once told them apart and on a
few hundred generated sites (plans and rosters), with the same error lines from each."""

from __future__ import annotations

import asyncio
import contextlib
import io
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import ivr.daemon
import ivr.logs
from ivr.cli.main import main
from ivr.clock import VirtualClock
from ivr.config import load_settings
from ivr.journal.metrics import Metrics
from ivr.plan.load import load_book
from ivr.reload import Reloader
from ivr.switchboard.switchboard import Switchboard

ROOT = Path(__file__).resolve().parents[3]
SITES = 120


@dataclass
class Verdicts:
    check: int
    check_errors: list[str]
    run: int
    run_errors: list[str]
    reload: bool


class Site:
    """A site on disk: plans/, agents/ and a config naming them."""

    def __init__(self, root: Path) -> None:
        self.plans = root / "plans"
        self.agents = root / "agents"
        self.config = root / "ivr.yaml"
        self.plans.mkdir(parents=True)
        self.config.write_text(f"dialplans: {self.plans}\nagents: {self.agents}\n")

    def write(self, plans: dict[str, str], roster: str | None) -> None:
        for old in self.plans.glob("*.yaml"):
            old.unlink()
        for name, text in plans.items():
            (self.plans / f"{name}.yaml").write_text(text)
        if roster is not None:
            self.agents.mkdir(exist_ok=True)
            (self.agents / "roster.yaml").write_text(roster)

    def verdicts(self, monkeypatch: pytest.MonkeyPatch) -> Verdicts:
        check, check_out = _cli(["check", str(self.plans), "--roster", str(self.agents)])
        started: list[Any] = []

        class Daemon:  # what `ivr run` starts once the files are accepted
            def __init__(self, settings: Any, plans: Any, desk: Any) -> None:
                started.append((plans, desk))

            async def run(self) -> int:
                return 0

        monkeypatch.setattr(ivr.daemon, "Daemon", Daemon)
        monkeypatch.setattr(ivr.logs, "setup", lambda *args: None)
        run, run_out = _cli(["run", "--config", str(self.config)])
        assert (run == 0) == bool(started)
        return Verdicts(check, _errors(check_out), run, _errors(run_out), self._reload())

    def _reload(self) -> bool:
        """What a reload makes of the files, in a daemon running a good plan."""
        good = ROOT / "tests" / "dialplans" / "skeleton.yaml"
        book, _ = load_book([good])
        settings = load_settings(self.config, environ={})
        reloader = Reloader(settings, Switchboard(book, VirtualClock()), Metrics())
        return asyncio.run(reloader.reload())


def _cli(argv: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        status = main(argv)
    return status, out.getvalue()


def _errors(output: str) -> list[str]:
    return sorted(line for line in output.splitlines() if ": error: " in line)


def agree(verdicts: Verdicts) -> None:
    accepted = verdicts.check == 0
    assert verdicts.check in (0, 1)
    assert (verdicts.run == 0) == accepted, verdicts
    assert verdicts.reload == accepted, verdicts
    assert verdicts.check_errors == verdicts.run_errors
    assert bool(verdicts.check_errors) == (not accepted)


PLAN = """\
name: {name}
numbers: ["{number}"]
prompts:
  hello: {{en: "say:Hello", ru: "say:Привет"}}
queues:{queues}
nodes:
  start: {{type: language, prompt: hello, no_input: hello, options: {{{options}}}, next: menu}}
  menu: {{type: menu, prompt: hello, no_input: hello, options: {{"1": wait}}}}
  wait: {{type: queue, queue: {queue}}}
"""
ROSTER = """\
teams:
  shop: {{kind: in-house}}
  callpoint: {{kind: outsourced}}
agents:
  - {{id: agent1, name: Anna, endpoint: PJSIP/agent1, team: shop, skills: {{sales: {level}}}}}
  - {{id: agent2, name: Ivan, endpoint: PJSIP/agent2, team: callpoint, skills: {{sales: 9}}}}
"""


def plan(name: str, number: str, queues: dict[str, str], queue: str, languages: str) -> str:
    """A plan whose caller picks a language and waits in `queue`."""
    table = "".join(f"\n  {q}: {settings}" for q, settings in queues.items()) or " {}"
    return PLAN.format(name=name, number=number, queues=table, options=languages, queue=queue)


def test_the_same_queue_in_two_plans_is_refused_by_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = Site(tmp_path)
    site.write(
        {
            "a": plan("a", "100", {"sales": "{skills: {sales: 1}}"}, "sales", '"1": en'),
            "b": plan("b", "101", {"sales": "{skills: {sales: 5}}"}, "sales", '"1": en'),
        },
        ROSTER.format(level=5),
    )
    verdicts = site.verdicts(monkeypatch)
    agree(verdicts)
    assert verdicts.check == 1
    assert any("b.yaml:6:3: error: queue 'sales' is also defined in plan 'a'" in line
               for line in verdicts.check_errors)  # fmt: skip


def test_an_overflow_step_adding_an_unknown_team_is_refused_by_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = Site(tmp_path)
    settings = "{overflow: [{waited: 30, add_team: ghosts}]}"
    site.write(
        {"a": plan("a", "100", {"sales": settings}, "sales", '"1": en')}, ROSTER.format(level=5)
    )
    verdicts = site.verdicts(monkeypatch)
    agree(verdicts)
    assert verdicts.check == 1
    assert "adds team 'ghosts', which is not in the roster" in verdicts.check_errors[0]
    assert "a.yaml:6:" in verdicts.check_errors[0]


def test_a_language_the_plan_has_no_prompts_for_is_refused_by_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = Site(tmp_path)
    site.write({"a": plan("a", "100", {}, "sales", '"1": en, "2": de')}, None)
    verdicts = site.verdicts(monkeypatch)
    agree(verdicts)
    assert verdicts.check == 1
    assert any("option '2' switches to language 'de'" in line for line in verdicts.check_errors)


def random_site(rng: random.Random) -> tuple[dict[str, str], str | None]:
    """One to three plans sharing names, numbers or queues now and then, naming teams the
    roster may not have, offering languages the plans may not speak; a roster or none."""
    plans: dict[str, str] = {}
    for index in range(rng.randint(1, 3)):
        name = "dup" if rng.random() < 0.1 else f"p{index}"
        number = "999" if rng.random() < 0.1 else str(100 + index)
        queues: dict[str, str] = {}
        for queue in rng.sample(["sales", "returns", "care"], rng.choice([0, 1, 1, 2])):
            own = queue if rng.random() < 0.3 else f"{queue}{index}"
            parts = [f"skills: {{sales: {rng.choice([1, 3, 8])}}}"]
            if rng.random() < 0.15:
                parts.append(f"teams: [{rng.choice(['shop', 'callpoint', 'ghosts'])}]")
            if rng.random() < 0.15:
                team = rng.choice(["callpoint", "ghosts"])
                parts.append(f"overflow: [{{waited: 30, add_team: {team}}}]")
            queues[own] = "{" + ", ".join(parts) + "}"
        queue = rng.choice(list(queues)) if queues and rng.random() < 0.95 else "nowhere"
        languages = ", ".join(
            f'"{digit}": {"de" if rng.random() < 0.08 else rng.choice(["en", "ru"])}'
            for digit in "12"[: rng.randint(1, 2)]
        )
        plans[f"file{index}"] = plan(name, number, queues, queue, languages)
    roster = ROSTER.format(level=rng.choice([10, 10, 5])) if rng.random() < 0.7 else None
    return plans, roster


def test_check_run_and_reload_agree_on_generated_sites(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outcomes = {0: 0, 1: 0}
    for seed in range(SITES):
        site = Site(tmp_path / str(seed))
        plans, roster = random_site(random.Random(seed))
        site.write(plans, roster)
        verdicts = site.verdicts(monkeypatch)
        agree(verdicts)
        outcomes[verdicts.check] += 1
    # Both verdicts were reached often enough for the agreement to mean something.
    assert outcomes[0] > SITES // 10 and outcomes[1] > SITES // 10, outcomes
