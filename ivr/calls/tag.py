"""The tag node: label the call's topic (order_status, returns...) and go on."""

from __future__ import annotations

from ivr.calls.call import Call
from ivr.calls.step import Step
from ivr.plan.nodes import TagNode


def enter(call: Call, node: TagNode) -> Step:
    """Add the tag (once) and note it in the journal."""
    if node.tag not in call.tags:
        call.tags.append(node.tag)
    note = call.note("tag", plan=call.plan.name, node=call.node, tag=node.tag)
    return Step([note], node.next)
