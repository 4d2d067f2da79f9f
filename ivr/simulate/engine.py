"""A simulated run: Poisson callers through the site's own plans, roster and routing desk (the
switchboard and driver the daemon uses) on virtual time; the notes the core writes are folded
into calls as `ivr report` folds them, and each finished call is counted in its hour."""

from __future__ import annotations

import gc
import math
import random
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ivr.callbacks.book import CallbackBook, CallbackRules
from ivr.calls.call import Call
from ivr.calls.commands import Command, Note
from ivr.calls.events import AgentRequest, Caller
from ivr.clock import VirtualClock
from ivr.config import CallbackSettings
from ivr.plan.nodes import WhenNode
from ivr.plan.plan import PlanBook
from ivr.reports.records import FOLDED, finished
from ivr.routing.desk import Desk
from ivr.simulate.floor import REACTS_TO, Backend, Floor, SimCaller
from ivr.simulate.prompt_times import PromptTimes
from ivr.simulate.tallies import CallExtra, Figures
from ivr.simulate.traffic import Traffic
from ivr.site_load import LoadedSite
from ivr.store.port import Entry
from ivr.switchboard.driver import CallDriver
from ivr.switchboard.live import LiveState
from ivr.switchboard.switchboard import Switchboard

SETTLE = 4 * 3600.0  # after the last arrival, calls in progress get this long to finish
# The most calls one run makes (about twenty minutes of CPU here): a rate typed a thousand
# times too high, or a what-if factor of 1e9, is refused at once instead of running for days.
MAX_CALLS = 10_000_000


@dataclass(frozen=True)
class Run:
    """One variant to simulate: the site, the traffic, the period and the seed."""

    variant: str
    site: LoadedSite
    traffic: Traffic
    start: date
    days: int
    seed: int = 1
    callbacks: CallbackSettings | None = None
    prompts: PromptTimes | None = None

    @property
    def day_list(self) -> list[date]:
        """The simulated days."""
        return [self.start + timedelta(days=n) for n in range(self.days)]

    def expected_calls(self) -> float:
        """How many calls the traffic brings over the run, on average."""
        traffic = self.traffic
        return sum(
            traffic.rate(number, day.weekday(), hour, day)
            for day in self.day_list
            for number in traffic.rates
            for hour in range(24)
        )

    def too_big(self) -> str | None:
        """Why the run is refused before it starts (more calls than MAX_CALLS), if it is."""
        calls = self.expected_calls()
        if calls <= MAX_CALLS:
            return None
        return (
            f"variant '{self.variant}' would bring about {calls:,.0f} calls in {self.days} "
            f"day{'' if self.days == 1 else 's'}; "
            f"a run makes at most {MAX_CALLS:,}: lower calls_per_month, per_hour or a days: "
            f"factor in the traffic file, or --arrivals, or simulate fewer --days"
        )


# The notes a run's extras or its floor act on (see Journal.record, Floor.noted).
_WATCHED = frozenset({"answered", "when", "callback_requested", "voicemail"}) | REACTS_TO


class Journal:
    """The note sink of a run: callers hear what the core does, and notes become entries."""

    __slots__ = ("closed_cases", "entries", "extras", "floor", "kept")

    def __init__(self, plans: PlanBook, kept: frozenset[str] | None = None) -> None:
        self.entries: list[Entry] = []
        # The kinds of note kept as entries (None: all); the others only reach the floor.
        self.kept = kept
        self.extras: dict[str, CallExtra] = {}
        self.floor: Floor | None = None
        # `when` cases that send callers to a closed line: (node, case number from 1), as
        # the core's `when` note names them.
        self.closed_cases = {
            (name, str(index))
            for plan in plans.plans
            for name, node in plan.spec.nodes.items()
            if isinstance(node, WhenNode)
            for index, case in enumerate(node.cases, 1)
            if case.schedule is not None and case.is_ in ("closed", "holiday")
        }

    def record(self, note: Note, at: float) -> None:
        """Keep the note for the report's fold (if of a kind kept), and let the callers react
        to it."""
        kind = note.kind
        if self.kept is None or kind in self.kept:
            self.entries.append(Entry(at, note.call_id, kind, note.fields))
        # Most notes (prompts, tags, offers) ask nothing more: one look-up passes them by.
        if kind not in _WATCHED:
            return
        if kind == "answered":
            self._extra(note.call_id).team = note.fields.get("team", "")
        elif kind == "when":
            if (note.fields.get("node"), note.fields.get("case")) in self.closed_cases:
                self._extra(note.call_id).closed = True
        elif kind == "callback_requested":
            self._extra(note.call_id).callbacks += 1
        elif kind == "voicemail":
            self._extra(note.call_id).voicemail += 1
        if self.floor is not None:
            self.floor.noted(note)

    def _extra(self, call_id: str) -> CallExtra:
        extra = self.extras.get(call_id)
        if extra is None:
            extra = self.extras[call_id] = CallExtra()
        return extra


class Unkept(LiveState):
    """Live state a simulation has no store for: no restart records are made (they decide
    nothing about routing; the daemon writes them for a restart)."""

    def saves(self, calls: Mapping[str, Call], desk: Desk) -> list[Command]:
        self._touched.clear()
        # Forgotten unread: making the records the daemon would keep (a view of each changed
        # agent) was a twentieth of a run's time, and nothing routes by them.
        desk.router.changed_agents.clear()
        return []


def callback_rules(settings: CallbackSettings | None, site: LoadedSite) -> CallbackRules:
    """The daemon's callback rules from the settings, or the defaults without settings."""
    if settings is None:
        return CallbackRules()
    return settings.rules(site.roster.schedules if site.roster is not None else None)


def simulate(run: Run, progress: Callable[[int], None] | None = None) -> Figures:
    """Run the variant and return its figures by hour (`progress(days_done)` after each day)."""
    tz = ZoneInfo(run.traffic.timezone)
    figures = Figures(run.variant, run.site.roster, tz)
    # The figures are folded from records: a note no record reads is not kept.
    journal = Journal(run.site.plans, FOLDED)
    with _collecting_less():
        for record in finished(_journal(run, tz, journal, progress)):
            figures.add(record, journal.extras.pop(record.call_id, None))
    return figures


# Objects made between two looks of Python's cycle collector at the youngest ones (700 by
# default). A run makes some thirty short-lived objects a call, nearly none in a reference
# cycle: looking every 700 was a fortieth of a run's CPU (bench/simulate.py), and memory
# stays as flat with fewer looks.
COLLECT_EVERY = 50_000


@contextmanager
def _collecting_less() -> Iterator[None]:
    """The cycle collector looks at young objects every COLLECT_EVERY, until the run ends."""
    thresholds = gc.get_threshold()
    gc.set_threshold(COLLECT_EVERY, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)


def _journal(
    run: Run, tz: ZoneInfo, journal: Journal, progress: Callable[[int], None] | None
) -> Iterator[Entry]:
    """The run's journal entries, oldest first, as the core writes them."""
    traffic = run.traffic
    start = datetime.combine(run.start, time(), tz).timestamp()
    clock = VirtualClock(start)
    site = run.site
    switchboard = Switchboard(
        site.plans, clock, site.desk, CallbackBook(callback_rules(run.callbacks, site))
    )
    switchboard.live = Unkept()
    prompts = run.prompts or PromptTimes(traffic.prompt_folders, traffic.prompt_seconds)
    floor = Floor(clock, switchboard, traffic, prompts, random.Random(f"{run.seed}:floor"))
    backend = Backend(clock, traffic, random.Random(f"{run.seed}:backend"))
    driver = CallDriver(switchboard, floor, clock, journal, lookups=backend)
    floor.on_event = driver.feed
    backend.on_event = driver.feed
    journal.floor = floor
    agents = [agent.id for agent in site.roster.agents] if site.roster is not None else []
    absent: set[str] = set()
    for agent in agents:
        driver.feed(AgentRequest(agent, "sign-in"))
    arrivals = random.Random(run.seed)
    numbers = sorted(traffic.rates)
    made = 0
    for index, day in enumerate(run.day_list):
        clock.run_until(datetime.combine(day, time(), tz).timestamp())
        absent = _absences(run, day, agents, absent, driver)
        weekday = day.weekday()
        for hour in range(24):
            begin = datetime.combine(day, time(hour), tz).timestamp()
            end = begin + 3600.0
            rates = [traffic.rate(number, weekday, hour, day) for number in numbers]
            total = sum(rates)
            moment = max(begin, clock.now())
            while total > 0:
                moment += arrivals.expovariate(total / 3600.0)
                if moment >= end:
                    break
                number = _pick(numbers, rates, total, arrivals.random())
                caller, shown = _caller(arrivals, traffic, made)
                made += 1
                clock.run_until(moment)
                floor.arrive(number, caller, shown)
            clock.run_until(end)
            yield from journal.entries
            journal.entries.clear()
        if progress is not None:
            progress(index + 1)
    clock.run_until(clock.now() + SETTLE)
    yield from journal.entries
    journal.entries.clear()


def _pick(numbers: list[str], rates: list[float], total: float, u: float) -> str:
    point = u * total
    for number, rate in zip(numbers, rates, strict=True):
        point -= rate
        if point < 0:
            return number
    return numbers[-1]


def _caller(rng: random.Random, traffic: Traffic, index: int) -> tuple[SimCaller, Caller]:
    """The next caller: every draw made here, the same number of draws for each caller, so
    variants of the same seed meet the same callers."""
    patience = rng.expovariate(1.0 / traffic.patience) if traffic.patience else math.inf
    talk_u, callback_u = rng.random(), rng.random()
    voicemail_u, withheld_u = rng.random(), rng.random()
    seed = rng.getrandbits(32)
    number = "" if withheld_u < traffic.withheld else f"+7999{index % 10_000_000:07d}"
    caller = SimCaller(number, patience, talk_u, callback_u, voicemail_u, seed)
    return caller, Caller(number, "")


def _absences(
    run: Run, day: date, agents: list[str], absent: set[str], driver: CallDriver
) -> set[str]:
    """Agents planned away today sign out at midnight; those back sign in."""
    share = run.traffic.absence
    if share <= 0:
        return absent
    today = {a for a in agents if random.Random(f"{run.seed}:{a}:{day}").random() < share}
    for agent in sorted(today - absent):
        driver.feed(AgentRequest(agent, "sign-out"))
    for agent in sorted(absent - today):
        driver.feed(AgentRequest(agent, "sign-in"))
    return today
