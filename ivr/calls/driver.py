"""Runs the core: events in, and its commands out to the PBX, the timers and the journal."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from ivr.calls.commands import CancelTimer, Command, Note, Release, StartTimer
from ivr.calls.events import CallEvent, TimerFired
from ivr.calls.switchboard import Switchboard
from ivr.clock import Clock, TimerHandle
from ivr.pbx.port import PbxPort


class NoteSink(Protocol):
    """Where journal notes go (log, metrics, store)."""

    def record(self, note: Note, at: float) -> None: ...


class CallDriver:
    """The one place where the pure core meets ports; the same in the daemon and the simulator."""

    def __init__(
        self, switchboard: Switchboard, pbx: PbxPort, clock: Clock, journal: NoteSink
    ) -> None:
        self.switchboard = switchboard
        self.pbx = pbx
        self.clock = clock
        self.journal = journal
        self._timers: dict[str, dict[str, TimerHandle]] = {}

    def feed(self, event: CallEvent) -> None:
        """Let the core react to `event` and carry out what it decides."""
        self.run(self.switchboard.handle(event))

    def run(self, commands: list[Command]) -> None:
        """Carry out commands in order."""
        for command in commands:
            match command:
                case Note():
                    self.journal.record(command, self.clock.now())
                case StartTimer(call_id=call_id, timer_id=timer_id, seconds=seconds):
                    handle = self.clock.call_later(seconds, self._firing(call_id, timer_id))
                    self._timers.setdefault(call_id, {})[timer_id] = handle
                case CancelTimer(call_id=call_id, timer_id=timer_id):
                    timer = self._timers.get(call_id, {}).pop(timer_id, None)
                    if timer is not None:
                        timer.cancel()
                case Release(call_id=call_id):
                    for timer in self._timers.pop(call_id, {}).values():
                        timer.cancel()
                case _:
                    self.pbx.send(command)

    def _firing(self, call_id: str, timer_id: str) -> Callable[[], None]:
        def fire() -> None:
            self._timers.get(call_id, {}).pop(timer_id, None)
            self.feed(TimerFired(call_id, timer_id))

        return fire
