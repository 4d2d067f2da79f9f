"""Where each node leads: the nodes of its own plan it names, or a node of another plan."""

from __future__ import annotations

from ivr.plan.handoffs import QueueNode, TransferNode
from ivr.plan.nodes import (
    CollectNode,
    GotoNode,
    LanguageNode,
    LookupNode,
    MenuNode,
    Node,
    PlayNode,
    TagNode,
    WhenNode,
)
from ivr.plan.source import Path


def node_targets(node: Node) -> list[tuple[Path, str]]:
    """Every node of this plan `node` can lead to, with the path (inside the node) naming it."""
    targets: list[tuple[Path, str]] = []
    match node:
        case MenuNode():
            targets += [(("options", digits), target) for digits, target in node.options.items()]
            if node.exhausted:
                targets.append((("exhausted",), node.exhausted))
        case CollectNode():
            targets.append((("next",), node.next))
            if node.exhausted:
                targets.append((("exhausted",), node.exhausted))
        case LookupNode():
            if node.route is not None:
                targets += [(("route", "cases", v), t) for v, t in node.route.cases.items()]
                if node.route.default:
                    targets.append((("route", "default"), node.route.default))
            if node.next:
                targets.append((("next",), node.next))
            targets.append((("fallback",), node.fallback))
        case WhenNode():
            targets += [(("cases", i, "then"), case.then) for i, case in enumerate(node.cases)]
            targets.append((("else",), node.else_))
        case PlayNode() | LanguageNode() | TagNode():
            targets.append((("next",), node.next))
        case TransferNode():
            if node.fallback:
                targets.append((("fallback",), node.fallback))
        case GotoNode():
            if ":" not in node.target:
                targets.append((("target",), node.target))
        case QueueNode():
            if node.callback:
                targets.append((("callback",), node.callback))
            if node.survey:
                targets.append((("survey",), node.survey))
    # Hangups and the other handoffs (voicemail, callback, survey) end the plan's part of the call.
    return targets


def other_plan_target(node: Node) -> tuple[str, str] | None:
    """(plan, node) when `node` is a goto into another plan."""
    if isinstance(node, GotoNode) and ":" in node.target:
        plan, _, name = node.target.partition(":")
        return plan, name
    return None
