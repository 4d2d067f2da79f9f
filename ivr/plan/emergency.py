"""A plan's `emergency:` setting: what callers hear, and where they go, while ops have closed
the line (`ivr line close`, `POST /api/line/close`).

    emergency:
      messages: [emergency, storm]   # named prompts of `prompts:` ops may choose from
      next: message                  # a node after the message (voicemail, a callback offer);
                                     # without it: the plan's goodbye, then hang up

`emergency` is always a message: the plan's prompt of that name if it has one, else a
built-in one of stock Asterisk sounds, so closing works with any plan and with an Asterisk
on another host (nothing typed at run time has to be spoken).
"""

from __future__ import annotations

from collections.abc import Collection

from pydantic import Field

from ivr.plan.errors import Problem
from ivr.plan.fields import NodeName, PlanModel
from ivr.plan.source import Source

DEFAULT_MESSAGE = "emergency"
# Stock sounds every Asterisk has: "I'm sorry... please try your call again later."
BUILT_IN = ("sound:im-sorry", "sound:please-try-call-later")


class EmergencySpec(PlanModel):
    """The plan's messages for a closed line, and the node callers meet after one."""

    messages: list[NodeName] = Field(
        default_factory=list, description="named prompts ops may choose when closing the line"
    )
    next: NodeName | None = Field(
        None, description="the node after the message; none: goodbye and hang up"
    )


def messages_of(spec: EmergencySpec | None) -> list[str]:
    """The message names a plan offers: `emergency` always, then the declared ones."""
    declared = list(spec.messages) if spec is not None else []
    return [DEFAULT_MESSAGE, *(m for m in declared if m != DEFAULT_MESSAGE)]


def message_items(prompts: Collection[str], name: str) -> list[str]:
    """The prompt items that say message `name`: the named prompt, or the built-in one."""
    if name in prompts:
        return [name]
    return list(BUILT_IN) if name == DEFAULT_MESSAGE else []


def check_emergency(spec: EmergencySpec | None, nodes: set[str], source: Source) -> list[Problem]:
    """`next` names a node of the plan (declared messages are checked as prompts)."""
    if spec is None or spec.next is None or spec.next in nodes:
        return []
    return [
        source.problem(
            ("emergency", "next"),
            f"emergency next goes to '{spec.next}': no such node",
            "name a node of this plan (a voicemail or callback node), or leave next out "
            "for goodbye and hang-up",
        )
    ]
