"""The menu node: a prompt, a choice by keys, replays on silence or a wrong key, then a way out."""

from __future__ import annotations

from ivr.calls import choice
from ivr.calls.call import Call
from ivr.calls.commands import Note
from ivr.calls.events import CallEvent
from ivr.calls.step import Step
from ivr.plan.nodes import MenuNode


def enter(call: Call, node: MenuNode) -> Step:
    """Start the menu: play its prompt, keys count at once when barge-in is on."""
    return choice.enter(call, node)


def handle(call: Call, node: MenuNode, event: CallEvent) -> Step:
    """React to a key, the end of a prompt or a timer."""

    def chosen(digits: str, target: str) -> Step:
        note = call.note(
            "menu_choice", plan=call.plan.name, node=call.node, option=digits, target=target
        )
        return Step([note], target)

    def give_up(notes: list[Note]) -> Step:
        if node.exhausted:
            return Step(list(notes), node.exhausted)
        return Step(list(notes), hang_up=True, outcome="no_choice")

    return choice.handle(call, node, event, "menu", chosen, give_up)
