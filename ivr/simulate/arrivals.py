"""A fixed list of calls through the simulator: when each caller dials, the keys they press,
how long they talk and how patient they are, all given instead of drawn. It runs through the
same switchboard, router and simulated floor as `ivr simulate`, so the lab can play the same
list through the daemon on the real Asterisk and compare who answered each call and when.

```yaml
# calls.yaml: seconds after the start
- {at: 0, number: "460", caller: "71000000501", keys: ["1"], talk: 10}
- {at: 3, number: "460", caller: "71000000502", keys: ["2"], talk: 10, patience: 6}
```
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from ivr.callbacks.book import CallbackBook
from ivr.calls.caller_id import safe_caller
from ivr.calls.events import AgentRequest
from ivr.clock import VirtualClock
from ivr.config import CallbackSettings
from ivr.plan.errors import printable
from ivr.plan.nodes import LanguageNode, MenuNode
from ivr.plan.source import SourceError, decode, parse
from ivr.simulate.engine import SETTLE, Journal, Unkept, callback_rules
from ivr.simulate.floor import Backend, Floor, SimCaller
from ivr.simulate.prompt_times import PromptTimes
from ivr.simulate.traffic import Traffic
from ivr.site_load import LoadedSite
from ivr.store.port import Entry
from ivr.switchboard.driver import CallDriver
from ivr.switchboard.switchboard import Switchboard


class ArrivalsError(Exception):
    """A calls file that cannot be used; the message names the file, line and fix."""


# A list spans at most a year, and a talk at most a day: a call at `.inf` or `1e300` seconds
# kept the clock running for ever, and such a talk time broke the floor's arithmetic.
LAST_AT = 366 * 86400.0
LONGEST_TALK = 86400.0


class _CallFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    at: Annotated[float, Field(ge=0, le=LAST_AT)]
    number: str
    caller: str = ""
    name: str = ""
    keys: list[str] = Field(default_factory=list)
    talk: Annotated[float, Field(ge=0, le=LONGEST_TALK)] = 300.0
    patience: Annotated[float, Field(gt=0)] | None = None
    callback: bool = False
    voicemail: bool = False


@dataclass(frozen=True)
class Arrival:
    """One caller of the list: when they dial (seconds after the start) and what they do."""

    at: float
    number: str  # the number dialled: one of a plan's numbers
    caller: str = ""  # the caller's own number ("" withheld)
    name: str = ""
    keys: tuple[str, ...] = ()  # what they press at each menu or language choice, in order
    talk: float = 300.0  # seconds they talk once an agent answers
    patience: float | None = None  # seconds they wait in queues before hanging up; None: ever
    callback: bool = False  # they take a callback when one is offered
    voicemail: bool = False  # they leave a message when asked (else hang up at the greeting)


def load_arrivals(path: Path) -> list[Arrival]:
    """Read a calls file (a list of calls, see the module's text); ArrivalsError names the
    line and the fix."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ArrivalsError(f"{path}: cannot read the calls file: {exc.strerror}") from None
    return arrivals_from(data, str(path))


def arrivals_from(data: bytes, file: str) -> list[Arrival]:
    """`load_arrivals` for a file already read."""
    try:
        source = parse(decode(data, file), file)
    except SourceError as exc:
        raise ArrivalsError(str(exc.problem)) from None
    if not isinstance(source.data, list):
        raise ArrivalsError(f"{file}:1: a calls file is a list; start each call with '- at: 0'")
    try:
        calls = TypeAdapter(list[_CallFile]).validate_python(source.data)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            line, _ = source.where(tuple(error["loc"]))
            where = ".".join(str(p) for p in error["loc"])
            # The file's own text reaches the message (keys): escaped for the terminal.
            lines.append(printable(
                f"{file}:{line}: {where}: {error['msg']}; "
                """write a call as {at: 0, number: "460", caller: "7900...", keys: ["1"], """
                "talk: 120}"
            ))  # fmt: skip
        raise ArrivalsError("\n".join(lines)) from None
    return [Arrival(**{**call.model_dump(), "keys": tuple(call.keys)}) for call in calls]


@dataclass(slots=True)
class _ScriptedCaller(SimCaller):
    """A caller whose keys are given: the next one at each menu, whatever the shares."""

    script: list[str] = field(default_factory=list)

    def choose(self, mix: object) -> str:
        return self.script.pop(0) if self.script else ""


def replay(
    site: LoadedSite,
    calls: Sequence[Arrival],
    start: float,
    traffic: Traffic | None = None,
    callbacks: CallbackSettings | None = None,
    prompts: PromptTimes | None = None,
) -> list[Entry]:
    """The journal of `calls` played through `site` from the Unix time `start`: the notes the
    core writes, oldest first. `traffic` gives what the list does not: agents' ring time,
    lookups, typed digits, message length (its arrivals, keys and shares are not used).

    Every agent of the roster signs in at `start`; `site` is used up (its desk keeps state)."""
    base = traffic or Traffic(timezone="UTC", rates={})
    # The floor draws a talk time from a uniform draw and the topic's mean, and asks callers
    # for a key only at menus with a key mix: the list's own values are given that way.
    mean = max((c.talk for c in calls), default=1.0) or 1.0
    menus = {
        name: {"": 1.0}
        for plan in site.plans.plans
        for name, node in plan.spec.nodes.items()
        if isinstance(node, MenuNode | LanguageNode)
    }
    traffic = replace(base, keys=menus, talk={"default": mean}, callback=0.5, voicemail=0.5,
                      absence=0.0)  # fmt: skip
    clock = VirtualClock(start)
    switchboard = Switchboard(
        site.plans, clock, site.desk, CallbackBook(callback_rules(callbacks, site))
    )
    switchboard.live = Unkept()
    times = prompts or PromptTimes(traffic.prompt_folders, traffic.prompt_seconds)
    floor = Floor(clock, switchboard, traffic, times, random.Random("replay:floor"))
    backend = Backend(clock, traffic, random.Random("replay:backend"))
    journal = Journal(site.plans)
    driver = CallDriver(switchboard, floor, clock, journal, lookups=backend)
    floor.on_event = driver.feed
    backend.on_event = driver.feed
    journal.floor = floor
    for agent in site.roster.agents if site.roster is not None else ():
        driver.feed(AgentRequest(agent.id, "sign-in"))
    for call in sorted(calls, key=lambda c: c.at):
        clock.run_until(start + call.at)
        caller = _ScriptedCaller(
            number=call.caller,
            patience=math.inf if call.patience is None else call.patience,
            talk_u=1.0 - math.exp(-call.talk / mean),  # -mean * log(1 - u) == talk
            callback_u=0.0 if call.callback else 1.0,
            voicemail_u=0.0 if call.voicemail else 1.0,
            seed=0,
            script=list(call.keys),
        )
        # Made safe as the PBX adapter makes the network's caller ID safe: where it enters.
        floor.arrive(call.number, caller, safe_caller(call.caller, call.name))
    # Until every call is over (the desk's own timers never stop: not run_until_idle).
    end = clock.now() + SETTLE
    while (floor.callers or floor.legs) and clock.now() < end:
        clock.run_until(min(end, clock.now() + 60.0))
    return journal.entries


@dataclass
class Outline:
    """What became of one call, from its journal: enough to compare two runs of a list."""

    caller: str
    arrived: float  # Unix time
    queues: list[str] = field(default_factory=list)
    overflows: list[tuple[str, float]] = field(default_factory=list)  # step, s after arrival
    agent: str = ""  # who answered ("" nobody; trunk:TEAM for a partner's trunk)
    team: str = ""
    answered: float | None = None  # seconds after arrival
    ended: float = 0.0  # seconds after arrival
    outcome: str = ""


def outlines(entries: Iterable[Entry]) -> dict[str, Outline]:
    """Each call of a journal by its caller's number (the list gives every caller their own)."""
    calls: dict[str, Outline] = {}
    for entry in entries:
        fields = entry.fields
        if entry.kind == "arrived":
            calls[entry.call_id] = Outline(fields.get("caller_number", ""), entry.at)
            continue
        call = calls.get(entry.call_id)
        if call is None:
            continue
        if entry.kind == "queue_join":
            call.queues.append(fields.get("queue", ""))
        elif entry.kind == "overflow":
            call.overflows.append((fields.get("step", ""), entry.at - call.arrived))
        elif entry.kind == "answered" and not call.agent:
            call.agent, call.team = fields.get("agent", ""), fields.get("team", "")
            call.answered = entry.at - call.arrived
        elif entry.kind == "ended":
            call.outcome, call.ended = fields.get("outcome", ""), entry.at - call.arrived
    return {call.caller: call for call in calls.values()}
