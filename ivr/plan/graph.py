"""A plan as a Graphviz DOT graph: a box per node, the options and branches on the arrows.

Pure text out; `ivr graph` hands it to `dot -Tsvg`.
"""

from __future__ import annotations

from ivr.plan.handoffs import (
    HANDOFFS,
    CallbackNode,
    QueueNode,
    SurveyNode,
    TransferNode,
    VoicemailNode,
)
from ivr.plan.nodes import CollectNode, GotoNode, LanguageNode, LookupNode, Node, TagNode, WhenNode
from ivr.plan.source import Path
from ivr.plan.spec import PlanSpec
from ivr.plan.targets import node_targets, other_plan_target

# The shape of each node kind but the handoffs, by its `type:`.
SHAPES = {
    "menu": "box",
    "play": "box",
    "collect": "box",
    "language": "box",
    "lookup": "cylinder",
    "when": "diamond",
    "tag": "note",
    "goto": "ellipse",
    "hangup": "doubleoctagon",
}
# Handoffs, where the call leaves the plan: people, mailboxes, other lines.
EXIT_STYLE = 'shape=box, style="rounded,filled", fillcolor="#dff0d8"'


def to_dot(spec: PlanSpec) -> str:
    """The DOT text of `spec`."""
    lines = [
        f"digraph {_quote(spec.name)} {{",
        "  rankdir=LR;",
        '  node [fontname="Helvetica", fontsize=11];',
        '  edge [fontname="Helvetica", fontsize=10];',
    ]
    for name, node in spec.nodes.items():
        style = EXIT_STYLE if isinstance(node, HANDOFFS) else f"shape={SHAPES[node.type]}"
        if name == "start":
            style += ", penwidth=2"
        lines.append(f"  {_quote(name)} [label={_quote(_label(name, node))}, {style}];")
    for name, node in spec.nodes.items():
        for path, target in node_targets(node):
            label = _edge_label(node, path)
            attributes = f" [label={_quote(label)}]" if label else ""
            lines.append(f"  {_quote(name)} -> {_quote(target)}{attributes};")
        other = other_plan_target(node)
        if other is not None:
            outside = f"{other[0]}:{other[1]}"
            lines.append(f"  {_quote(outside)} [shape=box, style=dashed];")
            lines.append(f"  {_quote(name)} -> {_quote(outside)} [style=dashed];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _label(name: str, node: Node) -> str:
    detail = ""
    match node:
        case QueueNode():
            detail = f"queue {node.queue}" + (
                f" (priority {node.priority})" if node.priority else ""
            )
        case CallbackNode():
            detail = f"callback from {node.queue}"
        case VoicemailNode():
            detail = f"voicemail {node.mailbox}"
        case SurveyNode():
            detail = f"survey {node.survey}"
        case TransferNode():
            detail = f"transfer {node.endpoint}"
        case TagNode():
            detail = f"tag {node.tag}"
        case CollectNode():
            detail = f"collect {node.var}"
        case LookupNode():
            detail = f"{node.method} {node.url}"
        case LanguageNode():
            detail = f"language {node.set}" if node.set else "choose language"
        case _:
            detail = node.type
    return f"{name}\n{detail}"


def _edge_label(node: Node, path: Path) -> str:
    match path:
        case ("options", digits):
            return f"press {digits}"
        case ("route", "cases", value):
            return f"= {value}"
        case ("cases", int(index), "then") if isinstance(node, WhenNode):
            return _case_label(node, index)
        case ("next",) if isinstance(node, LanguageNode) and node.options:
            return " ".join(f"{d}:{lang}" for d, lang in node.options.items())
        case ("next",) | ("target",) if isinstance(node, GotoNode | TagNode | LanguageNode):
            return ""
        case (str(word),):
            return word
        case ("route", "default"):
            return "other"
    return ""


def _case_label(node: WhenNode, index: int) -> str:
    case = node.cases[index]
    tests = []
    if case.schedule:
        tests.append(f"{case.schedule} {case.is_}")
    if case.caller_in:
        tests.append(f"caller in {case.caller_in}")
    if case.caller_withheld is not None:
        tests.append("withheld" if case.caller_withheld else "caller shown")
    if case.caller_prefix:
        tests.append("caller " + "|".join(case.caller_prefix) + "…")
    if case.var:
        test = case.equals or (case.in_ and " | ".join(case.in_)) or f"~ {case.matches}"
        tests.append(f"{case.var} {test}")
    if case.date:
        tests.append(" ".join(d.isoformat() for d in case.date))
    if case.weekday:
        tests.append(",".join(case.weekday))
    return " and ".join(tests)


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'
