"""The transfer node: an optional prompt, then the PBX connects the caller to an endpoint.

Once Transfer is sent the call waits for the PBX: CallHungUp when it has left us (outcome
`transferred`), or TransferFailed, which goes to `fallback` (default: goodbye).
"""

from __future__ import annotations

from dataclasses import dataclass

from ivr.calls.call import Call
from ivr.calls.commands import Transfer
from ivr.calls.events import CallEvent, PromptFinished, TransferFailed
from ivr.calls.step import Step
from ivr.plan.handoffs import TransferNode


@dataclass
class Transferring:
    """True once the PBX has been asked to transfer."""

    sent: bool = False


def enter(call: Call, node: TransferNode) -> Step:
    """Play the prompt first, if any; else transfer at once."""
    call.step = Transferring()
    if node.prompt:
        return Step(call.play(node.prompt))
    return _send(call, node)


def handle(call: Call, node: TransferNode, event: CallEvent) -> Step:
    """Transfer when the prompt ends; fall back when the PBX says it failed."""
    state = call.step
    if not isinstance(state, Transferring):
        return Step()
    match event:
        case PromptFinished(playback_id=playback) if playback == call.playback:
            call.playback = None
            if not state.sent:
                return _send(call, node)
        case TransferFailed(reason=reason) if state.sent:
            state.sent = False
            call.outcome = ""
            note = call.note("transfer_failed", node=call.node, reason=reason)
            if node.fallback:
                return Step([note], node.fallback)
            return Step([note], hang_up=True, outcome="transfer_failed")
    return Step()


def _send(call: Call, node: TransferNode) -> Step:
    state = call.step
    if isinstance(state, Transferring):
        state.sent = True
    call.outcome = "transferred"
    note = call.note("transfer", node=call.node, endpoint=node.endpoint)
    # The caller's number goes with the call (the partner's agents see who is calling).
    caller_id = f"<{call.caller.number}>" if call.caller.number else ""
    return Step([note, Transfer(call.id, node.endpoint, caller_id)])
