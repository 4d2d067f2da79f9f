"""The voicemail node: the caller's message is recorded after a beep (# or silence ends it),
and a callback task is booked with the recording attached."""

from __future__ import annotations

from dataclasses import dataclass

from ivr.callbacks import node as callback
from ivr.callbacks.book import CallbackBook
from ivr.calls.call import Call
from ivr.calls.commands import Command, RecordMessage
from ivr.calls.events import CallEvent, PromptFinished, RecordingDone, TimerFired
from ivr.calls.step import Step
from ivr.plan.handoffs import VoicemailNode

# Seconds of recording a caller who hangs up must have had to leave a message. A caller who
# hangs up during the greeting makes Asterisk end the prompt (PlaybackFinished) a moment
# before the hang-up reaches us: the recording is asked for, but there is nothing on it, and
# it may even fail at once (the channel is on its way out). A recording that fails this soon
# is a failure only if the caller is still there this long after.
SHORTEST_MESSAGE = 1.0


@dataclass
class Message:
    """A message being left: the recording's name, and whether it is being recorded."""

    name: str
    recording: bool = False
    began_at: float | None = None  # when recording was asked for; None: still the greeting
    kept: bool = False  # noted and booked (or failed): nothing more to do


def enter(call: Call, node: VoicemailNode) -> Step:
    """Say how to leave a message; recording starts when that prompt ends."""
    call.step = Message(f"vm-{call.id}")
    return Step(call.play(node.prompt)) if node.prompt else _record(call, node)


def handle(
    call: Call, node: VoicemailNode, book: CallbackBook, event: CallEvent, now: float
) -> Step:
    """Record after the prompt; once the message is kept, thank the caller and hang up."""
    message = call.step
    assert isinstance(message, Message)
    match event:
        case PromptFinished(playback_id=playback) if playback == call.playback:
            call.playback = None
            if not message.recording and not message.kept:
                return _record(call, node)
            return Step(hang_up=True, outcome="voicemail")
        case RecordingDone(name=name, ok=ok, seconds=seconds) if name == message.name:
            message.recording = False
            if not ok:
                message.kept = True  # no file to keep, nothing to book
                began = message.began_at if message.began_at is not None else now
                if now - began < SHORTEST_MESSAGE:
                    return Step([call.start_timer(SHORTEST_MESSAGE)])  # a hang-up on its way?
                return _failed(call, node)
            commands = keep(call, node, book, now, seconds)
            return (
                Step(commands + call.play(node.thanks))
                if node.thanks
                else Step(commands, hang_up=True, outcome="voicemail")
            )
        case TimerFired(timer_id=timer) if timer == call.timer:
            call.timer = None  # the recording failed and the caller is still there
            return _failed(call, node)
    return Step()


def keep(
    call: Call, node: VoicemailNode, book: CallbackBook, now: float, seconds: float = 0.0
) -> list[Command]:
    """The message is on file (also when the caller hung up to finish): note it and book the
    callback. Nothing the second time, nor for a caller who hung up before the beep (or
    within SHORTEST_MESSAGE of it)."""
    message = call.step
    if not isinstance(message, Message) or message.kept or message.began_at is None:
        return []
    if message.recording:
        # Hung up to finish: Asterisk keeps what was said since the beep.
        seconds = now - message.began_at
        if seconds < SHORTEST_MESSAGE:
            return []
    message.kept = True
    # A call is a message left only from here: one who hangs up at the greeting ends as they
    # would anywhere else in the plan.
    call.outcome = "voicemail"
    commands: list[Command] = [
        call.note(
            "voicemail",
            mailbox=node.mailbox,
            name=message.name,
            seconds=f"{seconds:.1f}",
            caller_number=call.caller.number,
            topic=call.tags[-1] if call.tags else "",
            queue=node.queue or "",
        )
    ]
    if node.queue is not None and call.caller.number:
        commands += callback.request(
            call, book, node.queue, call.caller.number, "voicemail", now, voicemail=message.name
        )
    return commands


def _failed(call: Call, node: VoicemailNode) -> Step:
    note = call.note("voicemail_failed", mailbox=node.mailbox)
    return Step([note], hang_up=True, outcome="failed")


def _record(call: Call, node: VoicemailNode) -> Step:
    message = call.step
    assert isinstance(message, Message)
    message.recording, message.began_at = True, call.now
    record = RecordMessage(call.id, message.name, node.max_seconds, node.max_silence)
    return Step([call.note("voicemail_recording", name=message.name), record])
