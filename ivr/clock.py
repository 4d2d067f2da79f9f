"""Time for the core: an injected clock, real (asyncio) or virtual (simulator, tests)."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from typing import Any, Protocol


class TimerHandle(Protocol):
    """A scheduled callback that can still be cancelled."""

    def cancel(self) -> None: ...


class Clock(Protocol):
    """What the core may know of time: the current moment and timers."""

    def now(self) -> float:
        """Seconds since the Unix epoch."""
        ...

    def call_later(self, delay: float, callback: Callable[[], None]) -> TimerHandle:
        """Run `callback` once, `delay` seconds from now."""
        ...


def sooner(one: float | None, other: float | None) -> float | None:
    """The sooner of two moments, either of which may be None (never)."""
    if one is None:
        return other
    return one if other is None or one <= other else other


class SystemClock:
    """Wall-clock time with timers on the running asyncio loop."""

    def now(self) -> float:
        return time.time()

    def call_later(self, delay: float, callback: Callable[[], None]) -> TimerHandle:
        return asyncio.get_running_loop().call_later(max(0.0, delay), callback)


class _Timer(list[Any]):
    """A timer of the virtual clock, as its heap holds it: [due, seq, callback], the callback
    None once cancelled. A list so that making one runs no Python code and the heap compares
    in C (seq is unique: the callback is never compared); a month makes millions of them."""

    __slots__ = ()

    def cancel(self) -> None:
        self[2] = None


class VirtualClock:
    """Virtual time: nothing happens until the owner advances it, so a month runs in seconds."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        # Timers in order of (due, seq): seq keeps those due at one moment in the order set.
        self._timers: list[_Timer] = []
        self._seq = itertools.count()

    def now(self) -> float:
        return self._now

    def call_later(self, delay: float, callback: Callable[[], None]) -> TimerHandle:
        due = self._now + delay if delay > 0.0 else self._now
        timer = _Timer((due, next(self._seq), callback))
        heapq.heappush(self._timers, timer)
        return timer

    def next_due(self) -> float | None:
        """When the next live timer fires, or None when nothing is scheduled."""
        timers = self._timers
        while timers and timers[0][2] is None:
            heapq.heappop(timers)
        return timers[0][0] if timers else None

    def advance(self, seconds: float) -> None:
        """Move time forward, firing every timer that falls due on the way, in order."""
        self.run_until(self._now + seconds)

    def run_until(self, moment: float) -> None:
        """Fire timers due up to `moment`, then stop the clock there."""
        timers = self._timers
        pop = heapq.heappop
        while timers:
            due, _, callback = timers[0]
            if callback is None:
                pop(timers)  # cancelled
                continue
            if due > moment:
                break
            pop(timers)
            if due > self._now:
                self._now = due
            callback()
        if moment > self._now:
            self._now = moment

    def run_until_idle(self, limit: float = 86_400.0) -> None:
        """Fire timers until none is left, or until `limit` seconds have passed."""
        end = self._now + limit
        while (due := self.next_due()) is not None and due <= end:
            self.run_until(due)
