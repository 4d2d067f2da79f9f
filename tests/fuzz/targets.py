"""One fuzz case: a mutated plan, roster or config through what `ivr check`, `ivr run` and a
reload do with it, or a mutated traffic file or list of calls through `ivr simulate`, and
what counts as a crash.

A case passes when the file is accepted, or refused with the documented error
(SiteError, SiteUnreadable for a plan or roster; ConfigError for a config; TrafficError for
a traffic file; ArrivalsError for a list of calls) whose every problem names the file, a
line within it (and a column, but in `ivr simulate`'s files), and can be printed. Accepted
plans and rosters are then used the way the daemon uses them at once (schedules asked about
a moment, prompts resolved, the plan drawn); an accepted traffic file is sized as `ivr
simulate` sizes a run and, when small, a day of it goes through the example shop; an
accepted list of calls is played through the example shop and its table printed. None of
that may raise, and nothing printed may hold terminal control characters.
"""

from __future__ import annotations

import re
import time
import traceback
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from ivr.config import ConfigError, load_settings
from ivr.plan.errors import Problem
from ivr.plan.graph import to_dot
from ivr.plan.prompts import opening_media, prompt_lists, resolve, spoken
from ivr.simulate.arrivals import ArrivalsError, arrivals_from, outlines, replay
from ivr.simulate.call_table import render, rows
from ivr.simulate.engine import Run, simulate
from ivr.simulate.traffic import Traffic, TrafficError, traffic_from
from ivr.site_load import LoadedSite, SiteError, check_site

PLAN_FILE = "fuzz/plan.yaml"
ROSTER_FILE = "fuzz/agents/roster.yaml"
TRAFFIC_FILE = "fuzz/traffic.yaml"
CALLS_FILE = "fuzz/calls.yaml"
# An accepted traffic file is simulated for a day when it brings no more calls than this.
SIMULATED_CALLS = 300
MOMENTS = [datetime(2026, 12, 31, 20, 30, tzinfo=UTC), datetime(2026, 3, 29, 0, 30, tzinfo=UTC)]


@dataclass
class Outcome:
    """What one case did: accepted or refused, the complaints about it, and its time."""

    kind: str
    index: int
    accepted: bool = False
    problems: int = 0
    crash: str | None = None  # a traceback, or why the refusal is not good enough
    seconds: float = 0.0
    unlocated: list[str] = field(default_factory=list)  # config messages without line:column


def run_plan(
    index: int, plan: bytes, others: list[tuple[str, bytes]], roster: bytes | None
) -> Outcome:
    """The mutated plan checked with `others` (plans of the same site) and `roster`."""
    files = [(PLAN_FILE, plan), *others]
    rosters = [(ROSTER_FILE, roster)] if roster is not None else None
    return _site_case("plan", index, files, rosters)


def run_roster(index: int, roster: bytes, plans: list[tuple[str, bytes]]) -> Outcome:
    """The mutated roster checked with the site's plans."""
    return _site_case("roster", index, plans, [(ROSTER_FILE, roster)])


def run_config(index: int, config: bytes, folder: Path) -> Outcome:
    """The mutated config read as `ivr run` reads it (no environment overrides)."""
    outcome = Outcome("config", index)
    path = folder / "ivr.yaml"
    path.write_bytes(config)
    start = time.perf_counter()
    try:
        load_settings(path, environ={})
        outcome.accepted = True
    except ConfigError as exc:
        message = str(exc)
        outcome.problems = 1
        located = re.compile(rf"^{re.escape(str(path))}:\d+:\d+: ")
        for line in message.splitlines():
            if line.startswith(str(path)) and not located.match(line):
                outcome.unlocated.append(line)
        if not message.strip():
            outcome.crash = "ConfigError with an empty message"
        _printable(outcome, message)
    except Exception:
        outcome.crash = traceback.format_exc()
    outcome.seconds = time.perf_counter() - start
    return outcome


def run_traffic(index: int, traffic: bytes, shop: LoadedSite) -> Outcome:
    """The mutated traffic file read as `ivr simulate --traffic` reads it, sized as it sizes a
    run, and (when small) a day of it through the example shop `shop`."""
    outcome = Outcome("traffic", index)
    start = time.perf_counter()
    try:
        parsed = traffic_from(traffic, TRAFFIC_FILE)
        outcome.accepted = True
        # New Year's Eve: the example traffic's `days:` factor applies.
        run = Run("fuzz", shop, parsed, date(2026, 12, 31), 1, seed=index)
        if run.too_big() is None and run.expected_calls() <= SIMULATED_CALLS:
            simulate(run)
    except TrafficError as exc:
        _refused_at_a_line(outcome, str(exc), TRAFFIC_FILE, traffic)
    except Exception:
        outcome.crash = traceback.format_exc()
    outcome.seconds = time.perf_counter() - start
    return outcome


def run_calls(index: int, calls: bytes, shop: LoadedSite, traffic: Traffic) -> Outcome:
    """The mutated list of calls read as `ivr simulate --calls` reads it, played through the
    example shop `shop` (with its `traffic`) and printed as a table."""
    outcome = Outcome("calls", index)
    start = time.perf_counter()
    try:
        listed = arrivals_from(calls, CALLS_FILE)
        outcome.accepted = True
        midnight = datetime(2026, 12, 31, tzinfo=UTC).timestamp()
        played = outlines(replay(shop, listed, midnight, traffic)).values()
        table = rows("fuzz", list(played), ZoneInfo("UTC"))
        _printable(outcome, render(table, "table").replace("\n", " "))
    except ArrivalsError as exc:
        _refused_at_a_line(outcome, str(exc), CALLS_FILE, calls)
    except Exception:
        outcome.crash = traceback.format_exc()
    outcome.seconds = time.perf_counter() - start
    return outcome


def _refused_at_a_line(outcome: Outcome, message: str, file: str, data: bytes) -> None:
    """A refusal of `ivr simulate`'s files: each line names the file and a line within it."""
    outcome.problems = 1
    lines = data.count(b"\n") + 1
    for line in message.splitlines():
        where = re.match(rf"{re.escape(file)}:(\d+)(:\d+)?: \S", line)
        if where is None:
            outcome.crash = f"the message does not start with file:line: {line!r}"
            return
        if not 1 <= int(where[1]) <= lines + 1:
            outcome.crash = f"line {where[1]} is outside the file ({lines} lines): {line!r}"
            return
    _printable(outcome, message)


def _site_case(
    kind: str, index: int, plans: list[tuple[str, bytes]], rosters: list[tuple[str, bytes]] | None
) -> Outcome:
    outcome = Outcome(kind, index)
    start = time.perf_counter()
    try:
        site = check_site(plans, rosters)
        outcome.accepted = True
        _use(site)
    except SiteError as exc:
        outcome.problems = len(exc.problems)
        texts = dict(plans + (rosters or []))
        if not exc.errors:
            outcome.crash = "SiteError without an error"
        for problem in exc.problems:
            why = _badly_located(problem, texts)
            if why:
                outcome.crash = f"{why}: {problem}"
                break
            _printable(outcome, str(problem))
    except Exception:
        outcome.crash = traceback.format_exc()
    outcome.seconds = time.perf_counter() - start
    return outcome


def _use(site: LoadedSite) -> None:
    """What the daemon does with accepted files straight away, or on the first calls."""
    for plan in site.plans.plans:
        to_dot(plan.spec)
        list(spoken(plan.spec))
        for _, items in prompt_lists(plan.spec):
            for language in {plan.spec.language, "en", "ru"}:
                resolve(plan.spec, language, items)
        for schedule in plan.schedules.values():
            for moment in MOMENTS:
                schedule.state(moment)
                schedule.next_opening(moment)
                schedule.next_closing(moment)
                opening_media(schedule, moment.timestamp())
    if site.roster is not None:
        for team in site.roster.teams:
            for moment in MOMENTS:
                site.roster.on_duty(team, moment)
        for moment in MOMENTS:
            site.roster.next_shift_change(moment)
        site.desk.shifts(MOMENTS[0].timestamp())


def _badly_located(problem: Problem, texts: dict[str, bytes]) -> str | None:
    """Why `problem` does not point into its file, if it does not."""
    if problem.file not in texts:
        return f"names file {problem.file!r}, which was not checked"
    lines = texts[problem.file].count(b"\n") + 1
    if not 1 <= problem.line <= lines + 1 or problem.column < 1:
        return f"line {problem.line} column {problem.column} is outside the file ({lines} lines)"
    if not str(problem).startswith(f"{problem.file}:{problem.line}:{problem.column}: "):
        return "the message does not start with file:line:column"
    if not problem.message.strip():
        return "the message is empty"
    return None


def _printable(outcome: Outcome, text: str) -> None:
    """A message must print on a UTF-8 terminal and hold no terminal control sequences."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        outcome.crash = f"the message cannot be printed ({exc}): {text!r}"
        return
    if any(ch in text for ch in "\x1b\x00\r"):
        outcome.crash = f"the message holds control characters: {text!r}"
