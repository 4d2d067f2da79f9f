"""Queues: the spec ops staff write under `queues:` in a dial plan, and the callers held in one.

```yaml
queues:
  - name: returns-ru
    skills: {returns: 3, "lang:ru": 1}   # minimum levels
    strategy: longest-idle               # | most-skilled | round-robin | ring-all
    ring_timeout: 15                     # seconds an offer rings
    wrapup: 10                           # seconds after a call before the next offer
    max_wait: 300                        # leave for `exit` after waiting this long
    max_callers: 20                      # or when this many are already held
    exit: voicemail                      # the plan node callers leave for
    sla_seconds: 20
    teams: [shop, callpoint]             # default: every in-house team
    announce_every: 60
    max_misses: 3                        # unanswered offers in a row before a pause
    overflow: [{waited: 60, add_team: callpoint}]   # see ivr/routing/overflow.py
    callback_after_abandon: 90           # call back callers who hung up after waiting 90 s
    recording: 10%                       # all | none | N% | {mode, percent, announce, ...}
```
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ivr.recordings.policy import RecordingPolicy
from ivr.routing.overflow import OverflowStep
from ivr.routing.roster import TeamName
from ivr.routing.skills import Level, Requirement, SkillName

QUEUE_NAME = r"^[a-z][a-z0-9_-]*$"

Strategy = Literal["longest-idle", "most-skilled", "round-robin", "ring-all"]


class QueueSpec(BaseModel):
    """One skill-based queue."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(pattern=QUEUE_NAME, max_length=40)]
    skills: dict[SkillName, Level] = Field(default_factory=dict)
    strategy: Strategy = "longest-idle"
    ring_timeout: float = Field(15.0, gt=0, le=300)
    wrapup: float = Field(10.0, ge=0, le=3600)
    max_wait: float | None = Field(None, gt=0)
    max_callers: int | None = Field(None, ge=1)
    exit: Annotated[str, Field(pattern=QUEUE_NAME)] | None = None
    sla_seconds: float = Field(20.0, gt=0)
    teams: list[TeamName] | None = Field(None, min_length=1)
    announce_every: float | None = Field(None, gt=0)
    max_misses: int = Field(3, ge=1, le=100)
    overflow: list[OverflowStep] = Field(default_factory=list, max_length=20)
    callback_after_abandon: float | None = Field(
        None, gt=0, description="a caller who hangs up after waiting this long is called back"
    )
    recording: RecordingPolicy | None = Field(
        None, description="all, none, N% or a mapping; a team's own policy wins"
    )

    @model_validator(mode="after")
    def _exit_with_limits(self) -> QueueSpec:
        limited = self.max_wait is not None or self.max_callers is not None
        if limited and self.exit is None:
            raise ValueError(
                f"queue '{self.name}' has max_wait or max_callers but no exit; "
                "name the node callers go to when they leave the queue (exit: NODE)"
            )
        labels = [step.label for step in self.overflow]
        twice = sorted({label for label in labels if labels.count(label) > 1})
        if twice:
            raise ValueError(
                f"queue '{self.name}': overflow step '{twice[0]}' is named twice; "
                "give each step its own name:"
            )
        if self.exit is not None and not limited:
            raise ValueError(
                f"queue '{self.name}' has an exit but neither max_wait nor max_callers; "
                "set one of them, or remove exit"
            )
        return self


class CallState(StrEnum):
    """Where a call held by the router stands."""

    WAITING = "waiting"
    RINGING = "ringing"
    TALKING = "talking"


Key = tuple[int, float, int]
"""A waiting caller's place: (-priority, enqueued_at, sequence); smaller is served first."""


@dataclass(slots=True, eq=False)
class Caller:
    """One call held by the router, from enqueue until it is answered and ends, or leaves."""

    call_id: str
    queue: str
    key: Key
    requirement: Requirement
    state: CallState = CallState.WAITING
    ringing: set[str] = field(default_factory=set)  # agents being rung for this call
    agent: str | None = None  # who answered
    answered_at: float = 0.0
    skip: dict[str, float] = field(default_factory=dict)  # agent -> until: missed this caller
    index_skill: str = ""  # the skill the wait list files this caller under
    callback: bool = False  # a call back holding an earlier place: no max_wait

    @property
    def priority(self) -> int:
        return -self.key[0]

    @property
    def enqueued_at(self) -> float:
        return self.key[1]


class HandleTimes:
    """Recent handle times (talk + wrap-up) of one queue: a window of the last `size` calls."""

    def __init__(self, size: int = 20) -> None:
        self._window: deque[float] = deque(maxlen=size)
        self._total = 0.0

    def add(self, seconds: float) -> None:
        if len(self._window) == self._window.maxlen:
            self._total -= self._window[0]
        self._window.append(seconds)
        self._total += seconds

    def mean(self) -> float | None:
        """The mean of the window, or None before the first call ended."""
        return self._total / len(self._window) if self._window else None


@dataclass(slots=True, eq=False)
class QueueState:
    """A queue at run time: its spec, default requirement, callers and counters."""

    spec: QueueSpec
    requirement: Requirement
    handle_times: HandleTimes
    callers: set[str] = field(default_factory=set)  # held, not answered: waiting or ringing
    talking: set[str] = field(default_factory=set)  # answered, not ended yet
    rr_last: int = -1  # round-robin: ordinal of the agent offered last
    answered: int = 0
    answered_in_sla: int = 0
    abandoned: int = 0
    exited: int = 0
