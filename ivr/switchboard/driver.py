"""Runs the core: events in, and its commands out to the PBX, the timers and the journal."""

from __future__ import annotations

from collections.abc import Callable

from ivr.calls.commands import (
    CancelTimer,
    Command,
    Lookup,
    Note,
    Release,
    SaveCallback,
    SaveState,
    StartTimer,
)
from ivr.calls.events import CallEvent, DeskEvent, LookupDone, TimerFired
from ivr.calls.ports import CallbackStore, LiveStore, LookupPort, NoteSink, PbxPort
from ivr.clock import Clock, TimerHandle
from ivr.switchboard.switchboard import Switchboard


class CallDriver:
    """The one place where the pure core meets ports; the same in the daemon and the simulator."""

    def __init__(
        self,
        switchboard: Switchboard,
        pbx: PbxPort,
        clock: Clock,
        journal: NoteSink,
        lookups: LookupPort | None = None,
        callbacks: CallbackStore | None = None,
        live: LiveStore | None = None,
    ) -> None:
        self.switchboard = switchboard
        self.pbx = pbx
        self.clock = clock
        self.journal = journal
        self.lookups = lookups
        self.callbacks = callbacks
        self.live = live
        self._timers: dict[str, dict[str, TimerHandle]] = {}

    def feed(self, event: CallEvent | DeskEvent) -> None:
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
                case Lookup():
                    if self.lookups is not None:
                        self.lookups.send(command)
                    else:
                        # No backend wired: the lookup fails at once and the call falls back.
                        failed = LookupDone(command.call_id, command.request_id, ok=False)
                        self.clock.call_later(0, self._feeding(failed))
                case SaveCallback(task=task):
                    if self.callbacks is not None:
                        self.callbacks.save(task)
                case SaveState(kind=kind, key=key, record=record):
                    if self.live is None:
                        pass
                    elif record is None:
                        self.live.drop(kind, key)
                    else:
                        self.live.put(kind, key, record)
                case _:
                    self.pbx.send(command)

    def _feeding(self, event: CallEvent) -> Callable[[], None]:
        return lambda: self.feed(event)

    def _firing(self, call_id: str, timer_id: str) -> Callable[[], None]:
        def fire() -> None:
            self._timers.get(call_id, {}).pop(timer_id, None)
            self.feed(TimerFired(call_id, timer_id))

        return fire
