"""A choice by keys, shared by menus and language choices: a prompt, keys (with barge-in),
replays on silence or a wrong key, and a way out when the caller's tries run out."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from ivr.calls.call import Call
from ivr.calls.commands import Note
from ivr.calls.events import CallEvent, DigitPressed, PromptFinished, TimerFired
from ivr.calls.step import Step


class Choosing(Protocol):
    """What a node that offers a choice by keys must say."""

    @property
    def prompt(self) -> list[str]: ...
    @property
    def options(self) -> Mapping[str, str]: ...
    @property
    def timeout(self) -> float: ...
    @property
    def inter_digit_timeout(self) -> float: ...
    @property
    def retries(self) -> int: ...
    @property
    def barge_in(self) -> bool: ...
    @property
    def invalid(self) -> list[str]: ...
    @property
    def no_input(self) -> list[str]: ...


@dataclass
class ChoiceState:
    """Where a caller is in a choice: failed attempts so far and keys typed."""

    attempts: int = 0
    digits: str = ""


# What to do with a valid choice (the keys and their option's value), and when tries run out.
Chosen = Callable[[str, str], Step]
GiveUp = Callable[[list[Note]], Step]


def enter(call: Call, node: Choosing) -> Step:
    """Offer the choice: play its prompt; keys count at once when barge-in is on."""
    call.step = ChoiceState()
    return Step(call.play(node.prompt))


def handle(
    call: Call, node: Choosing, event: CallEvent, kind: str, chosen: Chosen, give_up: GiveUp
) -> Step:
    """React to a key, the end of a prompt or a timer; `kind` names the journal notes."""
    state = call.step
    if not isinstance(state, ChoiceState):
        return Step()
    match event:
        case DigitPressed(digit=digit):
            if call.playback is not None and not node.barge_in:
                return Step()
            return _key(call, node, state, digit, kind, chosen, give_up)
        case PromptFinished(playback_id=playback) if playback == call.playback:
            call.playback = None
            return Step([call.start_timer(node.timeout)])
        case TimerFired(timer_id=timer) if timer == call.timer:
            call.timer = None
            if state.digits:
                return _choose(call, node, state, kind, chosen, give_up)
            return _retry(call, node, state, kind, "no_input", give_up)
    return Step()


def _key(
    call: Call,
    node: Choosing,
    state: ChoiceState,
    digit: str,
    kind: str,
    chosen: Chosen,
    give_up: GiveUp,
) -> Step:
    commands = call.stop_playback() + call.cancel_timer()
    state.digits += digit
    longer = [d for d in node.options if d.startswith(state.digits) and d != state.digits]
    if longer:
        # "1" could still become "12": give the caller the inter-digit time to go on.
        return Step([*commands, call.start_timer(node.inter_digit_timeout)])
    step = _choose(call, node, state, kind, chosen, give_up)
    step.commands[:0] = commands
    return step


def _choose(
    call: Call, node: Choosing, state: ChoiceState, kind: str, chosen: Chosen, give_up: GiveUp
) -> Step:
    digits, state.digits = state.digits, ""
    value = node.options.get(digits)
    if value is None:
        return _retry(call, node, state, kind, "invalid", give_up, digits)
    return chosen(digits, value)


def _retry(
    call: Call,
    node: Choosing,
    state: ChoiceState,
    kind: str,
    why: str,
    give_up: GiveUp,
    digits: str = "",
) -> Step:
    state.attempts += 1
    fields = {"node": call.node, "attempt": str(state.attempts)}
    if digits:
        fields["option"] = digits
    note = call.note(f"{kind}_{why}", **fields)
    if state.attempts > node.retries:
        return give_up([note, call.note(f"{kind}_exhausted", node=call.node)])
    # Say what went wrong, then the prompt again, as one playback: one request to the PBX.
    lead = node.invalid if why == "invalid" else node.no_input
    return Step([note, *call.play([*lead, *node.prompt])])
