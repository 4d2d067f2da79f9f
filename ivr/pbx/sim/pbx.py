"""A simulated PBX on virtual time: synthetic callers press keys and hear what the core plays."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from ivr.calls.commands import (
    Answer,
    ContinueInDialplan,
    HangUp,
    PbxCommand,
    Play,
    RecordMessage,
    StopPlayback,
    Transfer,
)
from ivr.calls.events import (
    CallArrived,
    Caller,
    CallEvent,
    CallHungUp,
    DigitPressed,
    PbxSynced,
    PromptFinished,
    RecordingDone,
    TransferFailed,
)
from ivr.calls.ports import EventSink
from ivr.clock import TimerHandle, VirtualClock


@dataclass
class SimCall:
    """What one simulated caller lived through."""

    call_id: str
    number: str
    answered: bool = False
    heard: list[str] = field(default_factory=list)
    ended_by: str = ""
    transferred_to: str = ""
    recorded: list[str] = field(default_factory=list)  # names of messages recorded
    playing: dict[str, TimerHandle] = field(default_factory=dict)


class SimPbx:
    """The PBX port on virtual time. Each media item plays for `prompt_seconds`."""

    def __init__(
        self, clock: VirtualClock, prompt_seconds: float = 2.0, message_seconds: float = 4.0
    ) -> None:
        self.clock = clock
        self.prompt_seconds = prompt_seconds
        self.message_seconds = message_seconds  # how long callers speak into a recording
        self.calls: dict[str, SimCall] = {}
        # Every command the core sent, in order (agent legs and music have no other trace here).
        self.sent: list[PbxCommand] = []
        self.on_event: EventSink = lambda event: None
        self.unreachable: set[str] = set()  # endpoints a Transfer fails to reach
        self._ids = itertools.count(1)

    # The caller's side.

    def dial(self, number: str, caller: Caller | None = None) -> str:
        """A new call to `number`; returns its id."""
        caller = caller or Caller()
        call_id = f"sim-{next(self._ids)}"
        self.calls[call_id] = SimCall(call_id, number)
        self._later(0, CallArrived(call_id, number, caller))
        return call_id

    def adopt(self, call: SimCall, caller: Caller | None = None) -> None:
        """A call another daemon served is in the app when this one starts (a restart)."""
        self.calls[call.call_id] = call
        self._later(0, CallArrived(call.call_id, call.number, caller or Caller()))

    def synced(self, legs: tuple[str, ...] = ()) -> None:
        """The link is up and every call in the app reported: the channels the PBX has."""
        present = {c.call_id for c in self.calls.values() if not c.ended_by} | set(legs)
        self._later(0, PbxSynced(frozenset(present)))

    def press(self, call_id: str, digits: str) -> None:
        """The caller presses keys now."""
        for digit in digits:
            self.on_event(DigitPressed(call_id, digit))

    def hang_up(self, call_id: str) -> None:
        """The caller hangs up now."""
        call = self.calls[call_id]
        if not call.ended_by:
            call.ended_by = "caller"
            self._end(call)

    # The PBX port.

    def send(self, command: PbxCommand) -> None:
        """Carry out a command of the core, as Asterisk would."""
        self.sent.append(command)
        call = self.calls.get(command.call_id)
        if call is None or call.ended_by:
            return
        match command:
            case Answer():
                call.answered = True
            case Play(playback_id=playback, media=media):
                call.heard.extend(media)
                finish = PromptFinished(call.call_id, playback)
                seconds = self.prompt_seconds * len(media)
                call.playing[playback] = self.clock.call_later(
                    seconds, lambda: self._finish(call, finish)
                )
            case StopPlayback(playback_id=playback):
                timer = call.playing.pop(playback, None)
                if timer is not None:
                    timer.cancel()
                    self._later(0, PromptFinished(call.call_id, playback))
            case HangUp():
                call.ended_by = "ivr"
                self._end(call)
            case ContinueInDialplan():
                call.ended_by = "dialplan"
                self._end(call)
            case RecordMessage(name=name):
                call.recorded.append(name)
                done = RecordingDone(call.call_id, name, True, self.message_seconds)
                call.playing[name] = self.clock.call_later(
                    self.message_seconds, lambda: self._finish_recording(call, done)
                )
            case Transfer(endpoint=endpoint):
                if endpoint in self.unreachable:
                    self._later(0, TransferFailed(call.call_id, "unreachable"))
                    return
                # The caller is bridged to the endpoint and leaves the app: our part is over.
                call.transferred_to = endpoint
                call.ended_by = "transfer"
                self._end(call)

    def _finish(self, call: SimCall, event: PromptFinished) -> None:
        call.playing.pop(event.playback_id, None)
        self.on_event(event)

    def _finish_recording(self, call: SimCall, event: RecordingDone) -> None:
        call.playing.pop(event.name, None)
        self.on_event(event)

    def _end(self, call: SimCall) -> None:
        for timer in call.playing.values():
            timer.cancel()
        call.playing.clear()
        self._later(0, CallHungUp(call.call_id))

    def _later(self, delay: float, event: CallEvent) -> None:
        # Never call back into the core from inside send(): events arrive on the next tick.
        self.clock.call_later(delay, lambda: self.on_event(event))
