"""The language node: set the caller's language, or let them choose it by keys.

Prompts played after it use the chosen language's version (the plan's language when a
prompt has none); a caller who makes no choice keeps the language they had.
"""

from __future__ import annotations

from ivr.calls import choice
from ivr.calls.call import Call
from ivr.calls.commands import Note
from ivr.calls.events import CallEvent
from ivr.calls.step import Step
from ivr.plan.nodes import LanguageNode


def enter(call: Call, node: LanguageNode) -> Step:
    """Switch at once (`set`), or offer the choice."""
    if node.set is not None:
        return _switch(call, node, node.set)
    return choice.enter(call, node)


def handle(call: Call, node: LanguageNode, event: CallEvent) -> Step:
    """React to a key, the end of the prompt or a timer."""

    def chosen(digits: str, language: str) -> Step:
        return _switch(call, node, language)

    def give_up(notes: list[Note]) -> Step:
        kept = call.note("language", node=call.node, language=call.language)
        return Step([*notes, kept], node.next)

    return choice.handle(call, node, event, "language", chosen, give_up)


def _switch(call: Call, node: LanguageNode, language: str) -> Step:
    call.language = language
    return Step([call.note("language", node=call.node, language=language)], node.next)
