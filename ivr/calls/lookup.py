"""The lookup node: ask the shop's backend, store fields of its answer, route on one of them.

Whatever goes wrong (no answer in time, an error status, an answer without the fields the
plan reads, a value no route case knows and no default) sends the call to `fallback`.
While the optional prompt plays, a decision waits for its end: nobody is cut off mid-word.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ivr.calls.call import Call
from ivr.calls.commands import Command, Lookup
from ivr.calls.events import CallEvent, LookupDone, PromptFinished, TimerFired
from ivr.calls.step import Step
from ivr.plan.nodes import LookupNode

# Backend text kept in a variable: enough for a status or a date, not a novel.
VALUE_LIMIT = 200


@dataclass
class LookupState:
    """The request the call waits on, and a decision waiting for the prompt to end."""

    request_id: str
    decided: Step | None = None


class Unexpected(Exception):
    """The answer lacks what the plan reads from it."""


def enter(call: Call, node: LookupNode) -> Step:
    """Send the request, start the timeout, and play the waiting prompt if there is one."""
    request = call.new_id("l")
    call.step = LookupState(request)
    params = {name: call.var(var) for name, var in node.params.items()}
    commands: list[Command] = [
        call.note("lookup", node=call.node, method=node.method),
        Lookup(call.id, request, node.method, node.url, params, node.timeout),
        call.start_timer(node.timeout),
    ]
    if node.prompt:
        commands += call.play(node.prompt)
    return Step(commands)


def handle(call: Call, node: LookupNode, event: CallEvent) -> Step:
    """React to the answer, the timeout, or the end of the waiting prompt."""
    state = call.step
    if not isinstance(state, LookupState):
        return Step()
    match event:
        case LookupDone(request_id=request) if request == state.request_id and request:
            state.request_id = ""
            step = _answer(call, node, event)
            step.commands[:0] = call.cancel_timer()
            return _decided(call, state, step)
        case TimerFired(timer_id=timer) if timer == call.timer and state.request_id:
            call.timer = None
            state.request_id = ""
            return _decided(call, state, _fail(call, node, "timeout", 0))
        case PromptFinished(playback_id=playback) if playback == call.playback:
            call.playback = None
            if state.decided is not None:
                return state.decided
    return Step()


def _decided(call: Call, state: LookupState, step: Step) -> Step:
    if call.playback is None:
        return step
    # Run the notes now, go on when the prompt ends.
    state.decided = Step(goto=step.goto, hang_up=step.hang_up, outcome=step.outcome)
    return Step(step.commands)


def _answer(call: Call, node: LookupNode, done: LookupDone) -> Step:
    if not done.ok:
        return _fail(call, node, "error" if done.status else "no answer", done.status)
    try:
        values = {var: _text(_field(done.data, path)) for var, path in node.vars.items()}
        target = _route(node, done.data)
    except Unexpected as exc:
        return _fail(call, node, f"unexpected answer: {exc}", done.status)
    call.vars.update(values)
    note = call.note(
        "lookup_done", node=call.node, status=str(done.status), result="ok", target=target
    )
    return Step([note], target)


def _route(node: LookupNode, data: dict[str, Any]) -> str:
    route = node.route
    if route is None:
        assert node.next is not None  # the model wants next or route
        return node.next
    value = _text(_field(data, route.field))
    target = route.cases.get(value) or route.default or node.next
    if target is None:
        raise Unexpected(f"{route.field} '{value}' has no route case")
    return target


def _fail(call: Call, node: LookupNode, why: str, status: int) -> Step:
    note = call.note(
        "lookup_done",
        node=call.node,
        status=str(status),
        result="failed",
        why=why,
        target=node.fallback,
    )
    return Step([note], node.fallback)


def _field(data: dict[str, Any], path: str) -> Any:
    value: Any = data
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            raise Unexpected(f"no field '{path}'")
        value = value[part]
    return value


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        text = str(value)
        return "".join(ch for ch in text if ch.isprintable())[:VALUE_LIMIT]
    raise Unexpected(f"a {type(value).__name__} where text or a number was expected")
