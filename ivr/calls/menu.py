"""The menu node: a prompt, a choice by keys, replays on silence or a wrong key, then a way out."""

from __future__ import annotations

from dataclasses import dataclass

from ivr.calls.call import Call
from ivr.calls.events import CallEvent, DigitPressed, PromptFinished, TimerFired
from ivr.calls.step import Step
from ivr.plan.model import MenuNode


@dataclass
class MenuState:
    """Where a caller is in a menu: failed attempts so far, keys typed, and what we wait for."""

    attempts: int = 0
    digits: str = ""


def enter(call: Call, node: MenuNode) -> Step:
    """Start the menu: play its prompt, keys count at once when barge-in is on."""
    call.step = MenuState()
    return Step(call.play(node.prompt))


def handle(call: Call, node: MenuNode, event: CallEvent) -> Step:
    """React to a key, the end of a prompt or a timer."""
    state = call.step
    assert isinstance(state, MenuState)
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
            if state.digits:
                return _choose(call, node, state)
            return _retry(call, node, state, "no_input")
    return Step()


def _key(call: Call, node: MenuNode, state: MenuState, digit: str) -> Step:
    commands = call.stop_playback() + call.cancel_timer()
    state.digits += digit
    longer = [d for d in node.options if d.startswith(state.digits) and d != state.digits]
    if longer:
        # "1" could still become "12": give the caller the inter-digit time to go on.
        return Step([*commands, call.start_timer(node.inter_digit_timeout)])
    step = _choose(call, node, state)
    step.commands[:0] = commands
    return step


def _choose(call: Call, node: MenuNode, state: MenuState) -> Step:
    digits, state.digits = state.digits, ""
    target = node.options.get(digits)
    if target is None:
        return _retry(call, node, state, "invalid", digits)
    choice = call.note(
        "menu_choice", plan=call.plan.name, node=call.node, option=digits, target=target
    )
    return Step([choice], target)


def _retry(call: Call, node: MenuNode, state: MenuState, why: str, digits: str = "") -> Step:
    state.attempts += 1
    fields = {"node": call.node, "attempt": str(state.attempts)}
    if digits:
        fields["option"] = digits
    note = call.note(f"menu_{why}", **fields)
    if state.attempts > node.retries:
        exhausted = call.note("menu_exhausted", node=call.node)
        if node.exhausted:
            return Step([note, exhausted], node.exhausted)
        return Step([note, exhausted], hang_up=True, outcome="no_choice")
    # Say what went wrong, then the menu again, as one playback: one request to the PBX.
    lead = node.invalid if why == "invalid" else node.no_input
    return Step([note, *call.play([*lead, *node.prompt])])
