"""The node kinds a plan is made of, and `Node`, the one list of them the plan package uses.

Handing the caller on (queues, mailboxes, call backs, surveys, transfers) is in handoffs.py;
what a `when` case tests is in cases.py.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, get_args

from pydantic import Field, field_validator, model_validator

from ivr.plan.cases import Case
from ivr.plan.fields import (
    PARAM_NAME,
    TARGET,
    FieldPath,
    Language,
    NodeName,
    PlanModel,
    Text,
    VarName,
    as_text,
)
from ivr.plan.handoffs import CallbackNode, QueueNode, SurveyNode, TransferNode, VoicemailNode
from ivr.plan.prompt_items import Prompts
from ivr.plan.sensitive import looks_secret

DIGITS = re.compile(r"^[0-9*#]{1,4}$")


def _digit_options(value: Any) -> Any:
    """Option keys as text, each a key sequence, none given twice (as 1 and as "1")."""
    if not isinstance(value, dict):
        return value
    options: dict[str, Any] = {}
    for key, target in value.items():
        digits = str(key)
        if not DIGITS.match(digits):
            raise ValueError(
                f"option '{digits}' is not a key sequence; use 1 to 4 of 0-9, * and # "
                "(quote '*' and '#' in YAML)"
            )
        if digits in options:
            raise ValueError(f"option '{digits}' is given twice (once quoted); keep one of them")
        options[digits] = target
    return options


class MenuNode(PlanModel):
    """Play a prompt and wait for a choice; replay on no input or a wrong key, then give up."""

    type: Literal["menu"]
    prompt: Prompts = Field(min_length=1)
    options: dict[str, NodeName] = Field(min_length=1)
    timeout: float = Field(5.0, gt=0, le=60, description="seconds to wait for the first key")
    inter_digit_timeout: float = Field(2.0, gt=0, le=10, description="seconds between keys")
    retries: int = Field(2, ge=0, le=9, description="replays after no input or a wrong key")
    barge_in: bool = Field(True, description="a key pressed during the prompt counts")
    invalid: Prompts = Field(default_factory=lambda: ["sound:pbx-invalid"])
    no_input: Prompts = Field(default_factory=list)
    exhausted: NodeName | None = Field(
        None, description="where to go when retries run out; default: goodbye and hang up"
    )

    _digit_keys = field_validator("options", mode="before")(_digit_options)


class PlayNode(PlanModel):
    """Play one or more prompts, then go on."""

    type: Literal["play"]
    prompt: Prompts = Field(min_length=1)
    next: NodeName


class CollectNode(PlanModel):
    """Collect digits (N of them, or up to a terminator) into a call variable, with retries."""

    type: Literal["collect"]
    prompt: Prompts = Field(min_length=1)
    var: VarName = Field(description="the call variable that keeps the digits")
    digits: int | None = Field(
        None, ge=1, le=32, description="exactly this many digits; default: up to the terminator"
    )
    max_digits: int = Field(20, ge=1, le=64, description="entry ends after this many digits")
    terminator: Literal["#", "*"] | None = Field("#", description="the key that ends the entry")
    pattern: str | None = Field(None, description="a regular expression the digits must match")
    sensitive: bool | None = Field(
        None,
        description="a secret (PIN, card): masked as *** in logs, the journal, screen pops and "
        "webhooks; default: true when the var's name has a word such as pin, code or card",
    )
    timeout: float = Field(5.0, gt=0, le=60, description="seconds to wait for the first key")
    inter_digit_timeout: float = Field(3.0, gt=0, le=20, description="seconds between keys")
    retries: int = Field(2, ge=0, le=9, description="new attempts after no input or bad input")
    barge_in: bool = Field(True, description="a key pressed during the prompt counts")
    invalid: Prompts = Field(default_factory=lambda: ["sound:pbx-invalid"])
    no_input: Prompts = Field(default_factory=list)
    next: NodeName
    exhausted: NodeName | None = Field(
        None, description="where to go when retries run out; default: goodbye and hang up"
    )

    @model_validator(mode="after")
    def _an_end(self) -> CollectNode:
        if self.digits is None and self.terminator is None:
            raise ValueError("the entry never ends: give digits: N or a terminator such as '#'")
        return self

    @property
    def secret(self) -> bool:
        """Whether the digits are masked in everything the call shows (`sensitive:` or name)."""
        return looks_secret(self.var) if self.sensitive is None else self.sensitive


class Route(PlanModel):
    """Choose the next node by the value of one field of the backend's answer."""

    field: FieldPath = Field(
        description="the answer's field, dotted for nested objects: order.status"
    )
    cases: dict[Text, NodeName] = Field(min_length=1, description="field value -> node")
    default: NodeName | None = Field(None, description="any other value; default: `next`")

    @field_validator("cases", mode="before")
    @classmethod
    def _keys_as_text(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {as_text(key): target for key, target in value.items()}
        return value


class LookupNode(PlanModel):
    """Ask the shop's backend (HTTP GET/POST, JSON answer); any failure goes to `fallback`."""

    type: Literal["lookup"]
    url: str = Field(description="http(s) URL; call variables go in params, never in the URL")
    method: Literal["GET", "POST"] = "GET"
    params: dict[Annotated[str, Field(pattern=PARAM_NAME.pattern)], VarName] = Field(
        default_factory=dict,
        description="query parameter (GET) or JSON field (POST) -> call variable",
    )
    timeout: float = Field(3.0, gt=0, le=30, description="seconds before the lookup fails")
    prompt: Prompts = Field(default_factory=list, description="played while waiting")
    vars: dict[VarName, FieldPath] = Field(
        default_factory=dict, description="call variable -> field of the answer"
    )
    route: Route | None = None
    next: NodeName | None = Field(None, description="after a good answer no route case matched")
    fallback: NodeName = Field(description="when the backend fails, is slow or answers oddly")

    @model_validator(mode="after")
    def _somewhere_to_go(self) -> LookupNode:
        if self.next is None and self.route is None:
            raise ValueError("a good answer leads nowhere: give next: NODE or a route")
        return self


class LanguageNode(PlanModel):
    """Set the caller's language, directly (`set`) or by a choice of keys (`options`)."""

    type: Literal["language"]
    set: Language | None = Field(None, description="the language to switch to")
    prompt: Prompts = Field(default_factory=list)
    options: dict[str, Language] = Field(default_factory=dict, description="keys -> language")
    timeout: float = Field(5.0, gt=0, le=60)
    inter_digit_timeout: float = Field(2.0, gt=0, le=10)
    retries: int = Field(1, ge=0, le=9)
    barge_in: bool = True
    invalid: Prompts = Field(default_factory=lambda: ["sound:pbx-invalid"])
    no_input: Prompts = Field(default_factory=list)
    next: NodeName = Field(description="where to go; also when no choice is made")

    _digit_keys = field_validator("options", mode="before")(_digit_options)

    @model_validator(mode="after")
    def _set_or_choose(self) -> LanguageNode:
        if (self.set is None) == (not self.options):
            raise ValueError(
                "give either set: LANGUAGE or options (keys -> languages) with a prompt"
            )
        if self.options and not self.prompt:
            raise ValueError("a language choice needs a prompt that tells the keys")
        return self


class WhenNode(PlanModel):
    """Branch on conditions in order: the first case that holds wins, else `else`."""

    type: Literal["when"]
    cases: list[Case] = Field(min_length=1)
    else_: NodeName = Field(alias="else", description="where callers go when no case holds")


class TagNode(PlanModel):
    """Label the call's topic (order_status, returns...) for the journal and reports."""

    type: Literal["tag"]
    tag: NodeName
    next: NodeName


class HangupNode(PlanModel):
    """Say a last prompt (optional) and end the call."""

    type: Literal["hangup"]
    prompt: Prompts = Field(default_factory=list)


class GotoNode(PlanModel):
    """Continue at another node, of this plan or of another (`plan:node`)."""

    type: Literal["goto"]
    target: Annotated[str, Field(pattern=TARGET.pattern)]


# The one list of node kinds: the schema, the checks, the tools and `NODE_KINDS` follow it.
Node = Annotated[
    MenuNode
    | PlayNode
    | CollectNode
    | LookupNode
    | LanguageNode
    | WhenNode
    | TagNode
    | QueueNode
    | TransferNode
    | VoicemailNode
    | CallbackNode
    | SurveyNode
    | HangupNode
    | GotoNode,
    Field(discriminator="type"),
]


def _kind(model: type[PlanModel]) -> str:
    """The `type:` value that selects `model`."""
    tag: str = get_args(model.model_fields["type"].annotation)[0]
    return tag


# Every node kind by its `type:`, in the order of `Node` (the order ops staff are told them in).
NODE_KINDS: dict[str, type[PlanModel]] = {_kind(kind): kind for kind in get_args(get_args(Node)[0])}
