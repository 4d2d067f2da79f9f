"""Queues at run time: the callers one holds, their places and the queue's counters.

The settings (`QueueSpec`) are the plan's: ivr/plan/queues.py.

"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum

from ivr.plan.queues import QueueSpec
from ivr.routing.skills import Requirement
from ivr.routing.tallies import Tally


class CallState(StrEnum):
    """Where a call held by the router stands."""

    WAITING = "waiting"
    RINGING = "ringing"
    TALKING = "talking"


Key = tuple[int, float, int]
"""A waiting caller's place: (-priority, enqueued_at, sequence); smaller is served first."""


@dataclass(slots=True, eq=False)
class HeldCall:
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
    tally: Tally  # the agents meeting `requirement`, counted as they change
    meeting: frozenset[str]  # the ids of the agents meeting `requirement` (they never change)
    callers: set[str] = field(default_factory=set)  # held, not answered: waiting or ringing
    # (joined, sequence) of the `callers`, oldest first: the longest wait without a scan.
    joined: list[tuple[float, int]] = field(default_factory=list)
    talking: set[str] = field(default_factory=set)  # answered, not ended yet
    rr_last: int = -1  # round-robin: ordinal of the agent offered last
    answered: int = 0
    answered_in_sla: int = 0
    abandoned: int = 0
    exited: int = 0

    def hold(self, caller: HeldCall) -> None:
        """A caller joins the unanswered callers (waiting or ringing)."""
        self.callers.add(caller.call_id)
        insort(self.joined, caller.key[1:])

    def release(self, caller: HeldCall) -> None:
        """A caller is answered or leaves; nothing when it was not among the unanswered."""
        if caller.call_id not in self.callers:
            return
        self.callers.discard(caller.call_id)
        joined = caller.key[1:]
        index = bisect_left(self.joined, joined)
        if index < len(self.joined) and self.joined[index] == joined:
            del self.joined[index]

    def longest_wait(self, now: float) -> float:
        """Seconds the longest-held unanswered caller has waited (0 when none is)."""
        return now - self.joined[0][0] if self.joined else 0.0
