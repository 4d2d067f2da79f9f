"""The play node: prompts, then the next node."""

from __future__ import annotations

from ivr.calls.call import Call
from ivr.calls.events import CallEvent, PromptFinished
from ivr.calls.step import Step
from ivr.plan.nodes import PlayNode


def enter(call: Call, node: PlayNode) -> Step:
    """Play the prompts as one playback."""
    return Step(call.play(node.prompt))


def handle(call: Call, node: PlayNode, event: CallEvent) -> Step:
    """Go on once the prompts are over; keys are not choices here."""
    if isinstance(event, PromptFinished) and event.playback_id == call.playback:
        call.playback = None
        return Step(goto=node.next)
    return Step()
