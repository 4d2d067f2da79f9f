"""The collect node: digits into a call variable (N of them, or up to a terminator), checked
against a pattern, with replays on silence or bad input and a way out when tries run out.

The digits are the caller's: the journal gets their count, never their value. A sensitive
collect (`sensitive:`, or a name such as `pin`) marks the variable secret: every view of the
call masks it (ivr/calls/redaction.py), while lookups and `when` cases still read it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ivr.calls.call import Call
from ivr.calls.events import CallEvent, DigitPressed, PromptFinished, TimerFired
from ivr.calls.step import Step
from ivr.plan.nodes import CollectNode


@dataclass
class CollectState:
    """Failed attempts so far and the digits of the current one."""

    attempts: int = 0
    digits: str = ""


def enter(call: Call, node: CollectNode) -> Step:
    """Play the prompt; keys count at once when barge-in is on."""
    call.step = CollectState()
    return Step(call.play(node.prompt))


def handle(call: Call, node: CollectNode, event: CallEvent) -> Step:
    """React to a key, the end of a prompt or a timer."""
    state = call.step
    if not isinstance(state, CollectState):
        return Step()
    match event:
        case DigitPressed(digit=digit):
            if call.playback is not None and not node.barge_in:
                return Step()
            return _key(call, node, state, digit)
        case PromptFinished(playback_id=playback) if playback == call.playback:
            call.playback = None
            return Step([call.start_timer(node.timeout)])
        case TimerFired(timer_id=timer) if timer == call.timer:
            call.timer = None
            if not state.digits:
                return _retry(call, node, state, "no_input")
            if node.digits is not None:
                # Stopped short of N digits.
                return _retry(call, node, state, "invalid", len(state.digits))
            return _done(call, node, state)
    return Step()


def _key(call: Call, node: CollectNode, state: CollectState, digit: str) -> Step:
    commands = call.stop_playback() + call.cancel_timer()
    if digit == node.terminator:
        step = _done(call, node, state)
    else:
        state.digits += digit
        limit = node.digits if node.digits is not None else node.max_digits
        if len(state.digits) < limit:
            return Step([*commands, call.start_timer(node.inter_digit_timeout)])
        step = _done(call, node, state)
    step.commands[:0] = commands
    return step


def _done(call: Call, node: CollectNode, state: CollectState) -> Step:
    digits, state.digits = state.digits, ""
    if not digits:
        return _retry(call, node, state, "no_input")
    short = node.digits is not None and len(digits) != node.digits
    if short or (node.pattern is not None and not re.fullmatch(node.pattern, digits)):
        return _retry(call, node, state, "invalid", len(digits))
    call.keep(node.var, digits, node.secret)
    note = call.note("collected", node=call.node, var=node.var, length=str(len(digits)))
    return Step([note], node.next)


def _retry(call: Call, node: CollectNode, state: CollectState, why: str, length: int = 0) -> Step:
    state.attempts += 1
    state.digits = ""
    fields = {"node": call.node, "attempt": str(state.attempts)}
    if length:
        fields["length"] = str(length)
    note = call.note(f"collect_{why}", **fields)
    if state.attempts > node.retries:
        exhausted = call.note("collect_exhausted", node=call.node)
        if node.exhausted:
            return Step([note, exhausted], node.exhausted)
        return Step([note, exhausted], hang_up=True, outcome="no_input")
    lead = node.invalid if why == "invalid" else node.no_input
    return Step([note, *call.play([*lead, *node.prompt])])
