"""The voicemail node: the caller's message is recorded after a beep (# or silence ends it),
and a callback task is booked with the recording attached."""

from __future__ import annotations

from dataclasses import dataclass

from ivr.callbacks import node as callback
from ivr.callbacks.book import CallbackBook
from ivr.calls.call import Call
from ivr.calls.commands import Command, RecordMessage
from ivr.calls.events import CallEvent, PromptFinished, RecordingDone
from ivr.calls.step import Step
from ivr.plan.handoffs import VoicemailNode


@dataclass
class Message:
    """A message being left: the recording's name, and whether it is being recorded."""

    name: str
    recording: bool = False
    kept: bool = False  # noted and booked (or failed): nothing more to do


def enter(call: Call, node: VoicemailNode) -> Step:
    """Say how to leave a message; recording starts when that prompt ends."""
    call.step = Message(f"vm-{call.id}")
    call.outcome = "voicemail"
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
                note = call.note("voicemail_failed", mailbox=node.mailbox)
                return Step([note], hang_up=True, outcome="failed")
            commands = keep(call, node, book, now, seconds)
            return (
                Step(commands + call.play(node.thanks))
                if node.thanks
                else Step(commands, hang_up=True, outcome="voicemail")
            )
    return Step()


def keep(
    call: Call, node: VoicemailNode, book: CallbackBook, now: float, seconds: float = 0.0
) -> list[Command]:
    """The message is on file (also when the caller hung up to finish): note it and book the
    callback. Nothing the second time."""
    message = call.step
    if not isinstance(message, Message) or message.kept:
        return []
    message.kept = True
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


def _record(call: Call, node: VoicemailNode) -> Step:
    message = call.step
    assert isinstance(message, Message)
    message.recording = True
    record = RecordMessage(call.id, message.name, node.max_seconds, node.max_silence)
    return Step([call.note("voicemail_recording", name=message.name), record])
