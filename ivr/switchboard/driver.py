"""Runs the core: events in, and its commands out to the PBX, the timers and the journal."""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable
from typing import Any, get_args

from ivr.calls.commands import (
    CancelTimer,
    Command,
    Lookup,
    Note,
    PbxCommand,
    Release,
    SaveCallback,
    SaveState,
    StartTimer,
)
from ivr.calls.events import CallEvent, DeskEvent, LookupDone, TimerFired
from ivr.calls.ports import CallbackStore, LiveStore, LookupPort, NoteSink, PbxPort
from ivr.clock import Clock, TimerHandle
from ivr.logs import event
from ivr.switchboard.switchboard import Switchboard

log = logging.getLogger("ivr.store")

# The PBX port's commands, handed over as they are: a command the driver carries out itself
# (timers, notes, saves, lookups) must not be one of PbxCommand's types.
_FOR_THE_PBX = frozenset(get_args(PbxCommand))


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
        # Saves a store refused, by what they keep, tried again before the next commands.
        self._unsaved: dict[tuple[str, Hashable], Callable[[], None]] = {}
        # Told after each batch that the desk may have changed (the web page's live feed):
        # None while nobody watches, so a call costs nothing more then.
        self.on_change: Callable[[], None] | None = None

    def feed(self, event: CallEvent | DeskEvent) -> None:
        """Let the core react to `event` and carry out what it decides."""
        self.run(self.switchboard.handle(event))

    def run(self, commands: list[Command]) -> None:
        """Carry out commands in order; a save the store refuses does not stop the rest."""
        if self._unsaved:
            self._save_again()
        # Typed Any: no cast() call per command (cast is a function call at run time).
        send: Callable[[Any], None] = self.pbx.send
        note: Callable[[Any, float], None] = self.journal.record
        for command in commands:
            made = type(command)
            if made in _FOR_THE_PBX:
                # Most commands are the PBX's: one look-up, not a walk down the cases below.
                send(command)
                continue
            if made is Note:  # the next most common: the same, without the match
                note(command, self.clock.now())
                continue
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
                        self._save("callbacks", task.get("id"), self._saving_task(task))
                case SaveState(kind=kind, key=key, record=record):
                    if self.live is not None:
                        self._save("live", (kind, key), self._saving_state(kind, key, record))
                case _:
                    self.pbx.send(command)
        if self.on_change is not None:
            self.on_change()

    def _save(self, store: str, key: Hashable, save: Callable[[], None]) -> None:
        """Save now; when the store refuses, keep the save (the latest of `key`) for later."""
        self._unsaved.pop((store, key), None)
        try:
            save()
        except Exception as exc:
            self._unsaved[store, key] = save
            event(log, "store.save_failed", logging.ERROR, store=store,
                  error=f"{type(exc).__name__}: {exc}"[:300], unsaved=len(self._unsaved),
                  fix="tried again before the next commands")  # fmt: skip

    def _save_again(self) -> None:
        """The saves the store refused earlier, in order, until one fails again."""
        for what, save in list(self._unsaved.items()):
            try:
                save()
            except Exception:
                return
            del self._unsaved[what]

    def _saving_task(self, task: dict[str, Any]) -> Callable[[], None]:
        callbacks = self.callbacks
        assert callbacks is not None
        return lambda: callbacks.save(task)

    def _saving_state(self, kind: str, key: str, record: dict[str, Any] | None
                      ) -> Callable[[], None]:  # fmt: skip
        live = self.live
        assert live is not None
        if record is None:
            return lambda: live.drop(kind, key)
        return lambda: live.put(kind, key, record)

    def _feeding(self, event: CallEvent) -> Callable[[], None]:
        return lambda: self.feed(event)

    def _firing(self, call_id: str, timer_id: str) -> Callable[[], None]:
        def fire() -> None:
            self._timers.get(call_id, {}).pop(timer_id, None)
            self.feed(TimerFired(call_id, timer_id))

        return fire
