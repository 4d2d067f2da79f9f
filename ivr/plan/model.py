"""The dial-plan language: what ops staff may write in `dialplans/*.yaml`, as pydantic models.

The models are frozen: a loaded plan never changes, so a call can keep the version it started on.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from ivr.schedule import ScheduleSpec

# Prompt names end up in PBX media URIs and file paths: a strict set, no way out of the folder.
SOUND_NAME = re.compile(r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$")
NODE_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")
DIGITS = re.compile(r"^[0-9*#]{1,4}$")
DIALLED_NUMBER = re.compile(r"^\+?[0-9]{1,20}$")
VAR_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
LANGUAGE = re.compile(r"^[a-z]{2}(_[A-Za-z0-9]+)*$")
# `goto` may leave the plan: `other-plan:node`.
TARGET = re.compile(r"^([a-z][a-z0-9_-]*:)?[a-z][a-z0-9_-]*$")
EXTENSION = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
MAILBOX = re.compile(r"^[A-Za-z0-9_-]{1,40}(@[A-Za-z0-9_-]{1,40})?$")
FIELD_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
PARAM_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
SAY_LIMIT = 300
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
BUILTIN_VARS = ("caller", "number", "language")


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str | int) and not isinstance(value, bool) else value


def _as_text(value: Any) -> Any:
    """YAML scalars as the text a caller's keys or a backend's answer would compare to."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


def _check_media(item: str) -> str:
    kind, sep, rest = item.partition(":")
    if sep and kind == "sound":
        if not SOUND_NAME.match(rest):
            raise ValueError(
                f"sound name '{rest}' may only hold letters, digits, '-', '_' and '/' between "
                "names (no '..', no leading '/')"
            )
        return item
    if sep and kind == "say":
        text = rest.strip()
        if not text:
            raise ValueError("say: needs the text to speak, for example say:Hello")
        if len(text) > SAY_LIMIT:
            raise ValueError(f"say: text is {len(text)} characters; keep it under {SAY_LIMIT}")
        if any(unicodedata.category(ch) == "Cc" for ch in text):
            raise ValueError("say: text holds control characters; write it on one line")
        return f"say:{text}"
    if sep and kind == "opening":
        if not NODE_NAME.match(rest):
            raise ValueError("opening: needs a schedule's name, for example opening:shop_hours")
        return item
    raise ValueError(
        f"prompt '{item}' is not understood; write sound:NAME (an Asterisk sound, "
        "for example sound:hello), say:TEXT (text to speech) or opening:SCHEDULE "
        "(when that schedule next opens)"
    )


def _check_prompt(item: str) -> str:
    if NODE_NAME.match(item):
        return item  # a key of the plan's `prompts:` table; check.py makes sure it is there
    kind, sep, _ = item.partition(":")
    if sep and kind in ("sound", "say", "opening"):
        return _check_media(item)
    raise ValueError(
        f"prompt '{item}' is not understood; write sound:NAME (an Asterisk sound, "
        "for example sound:hello), say:TEXT (text to speech) or the name of an entry in prompts:"
    )


Prompt = Annotated[str, BeforeValidator(lambda v: _check_prompt(v) if isinstance(v, str) else v)]
Prompts = Annotated[list[Prompt], BeforeValidator(_as_list, json_schema_input_type=str | list[str])]
Media = Annotated[str, BeforeValidator(lambda v: _check_media(v) if isinstance(v, str) else v)]
MediaList = Annotated[
    list[Media],
    BeforeValidator(_as_list, json_schema_input_type=str | list[str]),
    Field(min_length=1),
]
NodeName = Annotated[str, Field(pattern=NODE_NAME.pattern)]
VarName = Annotated[str, Field(pattern=VAR_NAME.pattern)]
Language = Annotated[str, Field(pattern=LANGUAGE.pattern)]
_NumberText = Annotated[str, Field(pattern=DIALLED_NUMBER.pattern)]
Number = Annotated[
    str,
    Field(pattern=DIALLED_NUMBER.pattern),
    BeforeValidator(_as_text, json_schema_input_type=_NumberText | int),
]
Numbers = Annotated[
    list[Number],
    BeforeValidator(_as_list, json_schema_input_type=_NumberText | int | list[_NumberText | int]),
]
Text = Annotated[str, BeforeValidator(_as_text, json_schema_input_type=str | int | float | bool)]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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


class MenuNode(_Model):
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


class PlayNode(_Model):
    """Play one or more prompts, then go on."""

    type: Literal["play"]
    prompt: Prompts = Field(min_length=1)
    next: NodeName


class CollectNode(_Model):
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


class Route(_Model):
    """Choose the next node by the value of one field of the backend's answer."""

    field: Annotated[str, Field(pattern=FIELD_PATH.pattern)] = Field(
        description="the answer's field, dotted for nested objects: order.status"
    )
    cases: dict[Text, NodeName] = Field(min_length=1, description="field value -> node")
    default: NodeName | None = Field(None, description="any other value; default: `next`")

    @field_validator("cases", mode="before")
    @classmethod
    def _keys_as_text(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {_as_text(key): target for key, target in value.items()}
        return value


class LookupNode(_Model):
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
    vars: dict[VarName, Annotated[str, Field(pattern=FIELD_PATH.pattern)]] = Field(
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


class LanguageNode(_Model):
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


class Case(_Model):
    """One branch of `when`: every test given must hold."""

    schedule: NodeName | None = Field(None, description="a schedule in schedules:")
    is_: Literal["open", "closed", "holiday"] = Field("open", alias="is")
    caller_in: NodeName | None = Field(None, description="a list in callers:")
    caller_withheld: bool | None = Field(None, description="the caller's number is hidden")
    caller_prefix: Numbers | None = None
    var: VarName | None = Field(None, description="a call variable, tested by equals/in/matches")
    equals: Text | None = None
    in_: (
        Annotated[
            list[Text],
            BeforeValidator(_as_list, json_schema_input_type=list[str | int | float | bool]),
        ]
        | None
    ) = Field(None, alias="in")
    matches: str | None = Field(None, description="a regular expression the whole value matches")
    date: (
        Annotated[
            list[dt.date], BeforeValidator(_as_list, json_schema_input_type=dt.date | list[dt.date])
        ]
        | None
    ) = Field(None, description="today is one of these dates (in the plan's time zone)")
    weekday: (
        Annotated[
            list[Weekday], BeforeValidator(_as_list, json_schema_input_type=Weekday | list[Weekday])
        ]
        | None
    ) = None
    then: NodeName

    @model_validator(mode="before")
    @classmethod
    def _schedule_state(cls, value: Any) -> Any:
        if isinstance(value, dict) and "is" in value and "schedule" not in value:
            raise ValueError("'is' tests a schedule: add schedule: NAME")
        return value

    @model_validator(mode="after")
    def _one_test_each(self) -> Case:
        callers = (self.caller_in, self.caller_withheld, self.caller_prefix)
        tests = (self.var, self.equals, self.in_, self.matches)
        if all(t is None for t in (self.schedule, *callers, self.date, self.weekday, *tests)):
            raise ValueError(
                "the case tests nothing: give schedule, caller_in, caller_withheld, "
                "caller_prefix, var (with equals, in or matches), date or weekday"
            )
        given = sum(t is not None for t in tests[1:])
        if self.var is None and given:
            raise ValueError("equals, in and matches test a variable: add var: NAME")
        if self.var is not None and given != 1:
            raise ValueError(f"var '{self.var}' needs exactly one of equals, in or matches")
        return self


class WhenNode(_Model):
    """Branch on conditions in order: the first case that holds wins, else `else`."""

    type: Literal["when"]
    cases: list[Case] = Field(min_length=1)
    else_: NodeName = Field(alias="else", description="where callers go when no case holds")


class TagNode(_Model):
    """Label the call's topic (order_status, returns...) for the journal and reports."""

    type: Literal["tag"]
    tag: NodeName
    next: NodeName


class QueueNode(_Model):
    """Wait in a queue of `queues:` for an agent."""

    type: Literal["queue"]
    queue: NodeName
    priority: int = Field(0, ge=0, le=9, description="higher is served first")
    prompt: Prompts = Field(default_factory=list, description="said before the caller waits")
    callback: NodeName | None = Field(
        None, description="offer a call back instead of waiting: this node takes the caller"
    )
    survey: NodeName | None = Field(
        None, description="where the caller goes when the agent hangs up: a survey node"
    )
    callback_key: Annotated[str, Field(pattern=r"^[0-9*#]$")] = "1"
    callback_offer: Prompts = Field(
        default_factory=lambda: ["sound:vm-tocallback"],
        description="said with each announcement when `callback` is set",
    )


class VoicemailNode(_Model):
    """Record the caller's message after a beep; a callback task is booked with it."""

    type: Literal["voicemail"]
    mailbox: Annotated[str, Field(pattern=MAILBOX.pattern)]
    prompt: Prompts = Field(
        default_factory=lambda: ["sound:vm-intro"],
        description="said before the beep (how to finish: # or hang up)",
    )
    queue: NodeName | None = Field(
        None, description="the queue whose agents call back; none: the message is only kept"
    )
    max_seconds: int = Field(120, ge=5, le=600, description="the longest message")
    max_silence: int = Field(5, ge=1, le=60, description="silence that ends the message")
    thanks: Prompts = Field(
        default_factory=lambda: ["sound:vm-msgsaved"], description="said once it is kept"
    )


class CallbackNode(_Model):
    """Book a call back from a queue's agents: confirm or type the number, then hang up."""

    type: Literal["callback"]
    queue: NodeName
    prompt: Prompts = Field(default_factory=list, description="said first")
    confirm: Prompts = Field(
        default_factory=lambda: ["sound:vm-num-i-have"],
        description="said before the caller's number, read back digit by digit",
    )
    choose: Prompts = Field(
        default_factory=lambda: ["sound:vm-press", "sound:digits/1", "sound:vm-press",
                                 "sound:digits/2", "sound:vm-calldiffnum"],
        description="press 1 to confirm, 2 to give another number",
    )  # fmt: skip
    enter: Prompts = Field(
        default_factory=lambda: ["sound:vm-enter-num-to-call", "sound:vm-then-pound"],
        description="asks for another number, ended by #",
    )
    booked: Prompts = Field(
        default_factory=lambda: ["sound:auth-thankyou"],
        description="said once booked, before how many callbacks are ahead",
    )
    timeout: float = Field(6.0, gt=0, le=60, description="seconds to wait for a key")


class SurveyQuestion(_Model):
    """One score: CSAT (keys 1..5) or NPS (0..10: 10 is 1 then 0, or * alone)."""

    kind: Literal["csat", "nps"]
    prompt: Prompts = Field(min_length=1, description="the question, with the keys to press")


class SurveyNode(_Model):
    """After the agent hangs up: a short survey (scores, then an optional spoken comment)."""

    type: Literal["survey"]
    survey: NodeName = Field(description="the survey's name in the journal")
    prompt: Prompts = Field(default_factory=list, description="said first")
    questions: list[SurveyQuestion] = Field(min_length=1, max_length=5)
    comment: Prompts = Field(
        default_factory=list, description="asks for a spoken comment (recorded); none: no comment"
    )
    comment_seconds: int = Field(30, ge=5, le=120)
    timeout: float = Field(6.0, gt=0, le=30, description="seconds to wait for each answer")
    thanks: Prompts = Field(
        default_factory=lambda: ["sound:auth-thankyou"], description="said at the end"
    )


class TransferNode(_Model):
    """Hand the call to an internal extension, or to an outside number through a trunk."""

    type: Literal["transfer"]
    extension: (
        Annotated[
            str,
            Field(pattern=EXTENSION.pattern),
            BeforeValidator(
                _as_text,
                json_schema_input_type=Annotated[str, Field(pattern=EXTENSION.pattern)] | int,
            ),
        ]
        | None
    ) = None
    number: Number | None = None
    trunk: NodeName = Field("trunk", description="the PJSIP endpoint of the trunk for numbers")
    prompt: Prompts = Field(default_factory=list, description="said before the transfer")
    fallback: NodeName | None = Field(
        None, description="where to go when the transfer fails; default: goodbye"
    )

    @model_validator(mode="after")
    def _one_destination(self) -> TransferNode:
        if (self.extension is None) == (self.number is None):
            raise ValueError("give either extension: 101 or number: '+74951234567'")
        return self

    @property
    def endpoint(self) -> str:
        """The PJSIP dial string: `PJSIP/101` or `PJSIP/+74951234567@trunk`."""
        if self.number is not None:
            # PJSIP's "number@endpoint" form dials the number at the endpoint's contact.
            return f"PJSIP/{self.number}@{self.trunk}"
        return f"PJSIP/{self.extension}"


class HangupNode(_Model):
    """Say a last prompt (optional) and end the call."""

    type: Literal["hangup"]
    prompt: Prompts = Field(default_factory=list)


class GotoNode(_Model):
    """Continue at another node, of this plan or of another (`plan:node`)."""

    type: Literal["goto"]
    target: Annotated[str, Field(pattern=TARGET.pattern)]


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


def _check_zone(value: Any) -> Any:
    if isinstance(value, str):
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError, RecursionError):
            # A long or odd key can fail inside the tz database lookup, not only as "unknown".
            raise ValueError(
                f"'{value[:60]}' is not a known time zone; write an IANA name such as Europe/Moscow"
            ) from None
    return value


class PlanSpec(_Model):
    """One shop's plan: the numbers it answers and a graph of named nodes starting at `start`."""

    name: NodeName
    numbers: Numbers = Field(min_length=1)
    language: Language = Field("en", description="the default language, and the fallback")
    timezone: Annotated[str, BeforeValidator(_check_zone)] = Field(
        "UTC", description="for `when` date and weekday tests"
    )
    goodbye: Prompts = Field(
        default_factory=lambda: ["sound:goodbye"],
        description="said before hanging up when a menu gives up",
    )
    hold_prompt: Prompts = Field(
        default_factory=lambda: ["sound:pls-hold-while-try"],
        description="said when the call is handed to a queue, voicemail, callback or survey",
    )
    prompts: dict[NodeName, Annotated[dict[Language, MediaList], Field(min_length=1)]] = Field(
        default_factory=dict, description="named prompts, one version per language"
    )
    callers: dict[NodeName, Numbers] = Field(
        default_factory=dict, description="named lists of caller numbers (VIPs...)"
    )
    queues: dict[NodeName, dict[str, Any]] = Field(
        default_factory=dict, description="queues by name; their settings belong to routing"
    )
    schedules: dict[NodeName, ScheduleSpec] = Field(default_factory=dict)
    nodes: dict[NodeName, Node] = Field(min_length=1)


Path = tuple[str | int, ...]


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
        case QueueNode() if node.callback or node.survey:
            if node.callback:
                targets.append((("callback",), node.callback))
            if node.survey:
                targets.append((("survey",), node.survey))
        case QueueNode() | VoicemailNode() | CallbackNode() | SurveyNode() | HangupNode():
            pass
    return targets


def other_plan_target(node: Node) -> tuple[str, str] | None:
    """(plan, node) when `node` is a goto into another plan."""
    if isinstance(node, GotoNode) and ":" in node.target:
        plan, _, name = node.target.partition(":")
        return plan, name
    return None


def prompt_lists(spec: PlanSpec) -> list[tuple[Path, list[str]]]:
    """Every prompt list of the plan, with its path, for checks and tools."""
    lists: list[tuple[Path, list[str]]] = [
        (("goodbye",), spec.goodbye),
        (("hold_prompt",), spec.hold_prompt),
    ]
    for name, node in spec.nodes.items():
        for field in (
            "prompt", "invalid", "no_input", "callback_offer", "confirm", "choose", "enter",
            "booked", "thanks", "comment",
        ):  # fmt: skip
            items = getattr(node, field, None)
            if items:
                lists.append((("nodes", name, field), items))
        if isinstance(node, SurveyNode):
            for index, question in enumerate(node.questions):
                lists.append((("nodes", name, "questions", index, "prompt"), question.prompt))
    return lists
