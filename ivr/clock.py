"""Time for the core: an injected clock, real (asyncio) or virtual (simulator, tests)."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol


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


class SystemClock:
    """Wall-clock time with timers on the running asyncio loop."""

    def now(self) -> float:
        return time.time()

    def call_later(self, delay: float, callback: Callable[[], None]) -> TimerHandle:
        return asyncio.get_running_loop().call_later(max(0.0, delay), callback)


@dataclass(order=True)
class _Timer:
    due: float
    seq: int
    callback: Callable[[], None] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)

    def cancel(self) -> None:
        self.cancelled = True


class VirtualClock:
    """Virtual time: nothing happens until the owner advances it, so a month runs in seconds."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._timers: list[_Timer] = []
        self._seq = itertools.count()

    def now(self) -> float:
        return self._now

    def call_later(self, delay: float, callback: Callable[[], None]) -> TimerHandle:
        timer = _Timer(self._now + max(0.0, delay), next(self._seq), callback)
        heapq.heappush(self._timers, timer)
        return timer

    def next_due(self) -> float | None:
        """When the next live timer fires, or None when nothing is scheduled."""
        while self._timers and self._timers[0].cancelled:
            heapq.heappop(self._timers)
        return self._timers[0].due if self._timers else None

    def advance(self, seconds: float) -> None:
        """Move time forward, firing every timer that falls due on the way, in order."""
        self.run_until(self._now + seconds)

    def run_until(self, moment: float) -> None:
        """Fire timers due up to `moment`, then stop the clock there."""
        while (due := self.next_due()) is not None and due <= moment:
            timer = heapq.heappop(self._timers)
            self._now = max(self._now, timer.due)
            timer.callback()
        self._now = max(self._now, moment)

    def run_until_idle(self, limit: float = 86_400.0) -> None:
        """Fire timers until none is left, or until `limit` seconds have passed."""
        end = self._now + limit
        while (due := self.next_due()) is not None and due <= end:
            self.run_until(due)
