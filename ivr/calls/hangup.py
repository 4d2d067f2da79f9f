"""The hangup node, and the goodbye every dead end falls back to: a last prompt, then hang up."""

from __future__ import annotations

from ivr.calls.call import Call
from ivr.calls.commands import HangUp
from ivr.calls.events import CallEvent, PromptFinished
from ivr.calls.step import Step


def say_goodbye(call: Call, prompt: list[str], outcome: str) -> Step:
    """Play `prompt` (if any) and hang up when it ends."""
    call.hanging_up = True
    call.outcome = call.outcome or outcome
    if not prompt:
        return Step([call.note("hangup", node=call.node), HangUp(call.id)])
    return Step(call.play(prompt))


def handle(call: Call, event: CallEvent) -> Step:
    """Hang up once the goodbye prompt is over."""
    if isinstance(event, PromptFinished) and event.playback_id == call.playback:
        call.playback = None
        return Step([call.note("hangup", node=call.node), HangUp(call.id)])
    return Step()
