"""Each node kind to its executor: how a node starts, and how it reacts to an event.

A queue node holds its callers only where a roster staffs the desk; without one it hands
them off (`calls/handoff.py`). The kinds are those of `plan/nodes.py`'s NODE_KINDS; a test
checks that every kind has its case here.
"""

from __future__ import annotations

from ivr.callbacks import node as callback
from ivr.callbacks import voicemail
from ivr.callbacks.book import CallbackBook
from ivr.calls import (
    collect,
    handoff,
    hangup,
    language,
    lookup,
    menu,
    play,
    survey,
    tag,
    transfer,
    when,
)
from ivr.calls.call import Call
from ivr.calls.events import CallEvent
from ivr.calls.queue import node as queue
from ivr.calls.step import Step
from ivr.plan.handoffs import CallbackNode, QueueNode, SurveyNode, TransferNode, VoicemailNode
from ivr.plan.nodes import (
    CollectNode,
    GotoNode,
    HangupNode,
    LanguageNode,
    LookupNode,
    MenuNode,
    PlayNode,
    TagNode,
    WhenNode,
)
from ivr.routing.desk import Desk


def enter(call: Call, desk: Desk, now: float) -> Step:
    """The executor of the call's node starts it."""
    node = call.plan.node(call.node)
    # The kinds most calls pass come first: each case is an isinstance() on a plan model,
    # which costs more than on a plain class, and every call enters several nodes.
    match node:
        case MenuNode():
            return menu.enter(call, node)
        case TagNode():
            return tag.enter(call, node)
        case QueueNode() if desk.staffed:
            return queue.join(call, desk.router, node, now)
        case PlayNode():
            return play.enter(call, node)
        case WhenNode():
            return when.enter(call, node, now)
        case CollectNode():
            return collect.enter(call, node)
        case LookupNode():
            return lookup.enter(call, node)
        case LanguageNode():
            return language.enter(call, node)
        case TransferNode():
            return transfer.enter(call, node)
        case CallbackNode():
            return callback.enter(call, node)
        case VoicemailNode():
            return voicemail.enter(call, node)
        case SurveyNode():
            return survey.enter(call, node)
        case QueueNode():
            return handoff.enter(call, node)
        case HangupNode():
            return hangup.say_goodbye(call, list(node.prompt), "completed")
        case GotoNode():
            return Step(goto=node.target)


def react(
    call: Call, event: CallEvent, desk: Desk, callback_book: CallbackBook, now: float
) -> Step:
    """The current node's executor reacts to `event`."""
    node = call.plan.node(call.node)
    # Most events find their call waiting in a queue (agents' legs, music, announcements) or
    # in a menu: those cases first (see enter).
    match node:
        case QueueNode() if isinstance(call.step, queue.QueueWait):
            return queue.handle(call, desk.router, event, now)
        case MenuNode():
            return menu.handle(call, node, event)
        case PlayNode():
            return play.handle(call, node, event)
        case CollectNode():
            return collect.handle(call, node, event)
        case LookupNode():
            return lookup.handle(call, node, event)
        case LanguageNode():
            return language.handle(call, node, event)
        case TransferNode():
            return transfer.handle(call, node, event)
        case CallbackNode() if isinstance(call.step, callback.Booking):
            return callback.handle(call, node, callback_book, event, now)
        case VoicemailNode() if isinstance(call.step, voicemail.Message):
            return voicemail.handle(call, node, callback_book, event, now)
        case SurveyNode() if isinstance(call.step, survey.Answers):
            return survey.handle(call, node, event)
        case QueueNode():
            return handoff.handle(call, event)
    return Step()  # the other kinds never wait: they pass the call on as they start
