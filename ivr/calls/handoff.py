"""A queue node when the daemon runs without a roster (no agents to ring).

It notes where the call would go (`handoff`, kind and target), says the plan's hold prompt
and says goodbye: the caller is told something, never left in silence.
"""

from __future__ import annotations

from dataclasses import dataclass

from ivr.calls.call import Call
from ivr.calls.commands import Note
from ivr.calls.events import CallEvent, PromptFinished
from ivr.calls.step import Step
from ivr.plan.handoffs import QueueNode


@dataclass
class Handoff:
    """Where the call is being handed: `kind` (queue, voicemail...) and its `target`."""

    kind: str
    target: str


def enter(call: Call, node: QueueNode) -> Step:
    """Note the handoff and play the node's prompt and the plan's hold prompt."""
    kind, target, extra = "queue", node.queue, {"priority": str(node.priority)}
    call.step = Handoff(kind, target)
    call.outcome = kind
    # Built by hand: `kind` is a field of this note, and Call.note takes `kind` as its own.
    note = Note(call.id, "handoff", {"node": call.node, "kind": kind, "target": target, **extra})
    prompt = [*node.prompt, *call.plan.spec.hold_prompt]
    if not prompt:
        return Step([note], hang_up=True, outcome=kind)
    return Step([note, *call.play(prompt)])


def handle(call: Call, event: CallEvent) -> Step:
    """Say goodbye once the hold prompt is over."""
    if isinstance(event, PromptFinished) and event.playback_id == call.playback:
        call.playback = None
        state = call.step
        return Step(hang_up=True, outcome=state.kind if isinstance(state, Handoff) else "")
    return Step()
