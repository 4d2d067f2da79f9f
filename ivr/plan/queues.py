"""Queue settings as ops staff write them under `queues:` in a dial plan, overflow steps
included; parsed once, here, for the checker and the router alike.

```yaml
queues:
  - name: returns-ru
    skills: {returns: 3, "lang:ru": 1}   # minimum levels
    strategy: longest-idle               # | most-skilled | round-robin | ring-all
    ring_timeout: 15                     # seconds an offer rings
    wrapup: 10                           # seconds after a call before the next offer
    max_wait: 300                        # leave for `exit` after waiting this long
    max_callers: 20                      # or when this many are already held
    exit: voicemail                      # the plan node callers leave for
    sla_seconds: 20
    teams: [shop, callpoint]             # default: every in-house team
    announce_every: 60
    max_misses: 3                        # unanswered offers in a row before a pause
    overflow: [{waited: 60, add_team: callpoint}]   # see OverflowStep below
    callback_after_abandon: 90           # call back callers who hung up after waiting 90 s
    recording: 10%                       # all | none | N% | {mode, percent, announce, ...}
```
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)
from pydantic_core import ErrorDetails, InitErrorDetails, PydanticCustomError

from ivr.plan.recording import RecordingPolicy

SKILL_PATTERN = r"^[a-z][a-z0-9_]*(:[a-z0-9_-]+)?$"
MIN_LEVEL = 1
MAX_LEVEL = 10
TEAM_NAME = r"^[a-z][a-z0-9_-]{0,39}$"

SkillName = Annotated[str, Field(pattern=SKILL_PATTERN, max_length=40)]
Level = Annotated[int, Field(ge=MIN_LEVEL, le=MAX_LEVEL, strict=True)]
TeamName = Annotated[str, Field(pattern=TEAM_NAME)]


# Overflow: a queue's ordered steps that let more people answer a caller who waits too long.
#
# queues:
#   returns:
#     skills: {returns: 5}
#     overflow:
#       - {name: lower, waited: 30, lower_levels: 2}          # any returns agent from level 3
#       - {name: partner, waited: 60, add_team: callpoint}    # the outsourced agents join in
#       - {name: night, outside_hours: true, add_team: nightdesk}  # the partner's trunk
#       - {name: busy, callers_over: 10, offer_callback: true}
#       - {name: vm, estimated_wait: 600, goto: voicemail}
#
# Each step has one trigger and one action and is taken at most once per caller. Steps only
# widen who can answer: a caller keeps their place (priority, join time) whatever happens.
#
STEP_NAME = r"^[a-z][a-z0-9_-]{0,29}$"
TRIGGERS = ("waited", "estimated_wait", "callers_over", "no_agents", "outside_hours")
ACTIONS = ("lower_levels", "skills", "add_team", "offer_callback", "goto")


class OverflowStep(BaseModel):
    """When `trigger` holds for a waiting caller, take `action` once."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(pattern=STEP_NAME)] | None = Field(
        None, description="the step's label in metrics and the journal; default: its action"
    )
    # Triggers: exactly one.
    waited: float | None = Field(None, gt=0, description="the caller has waited this long (s)")
    estimated_wait: float | None = Field(None, gt=0, description="the estimated wait exceeds (s)")
    callers_over: int | None = Field(
        None, ge=0, description="more callers than this wait ahead of the caller"
    )
    no_agents: bool | None = Field(
        None, description="no agent who could answer is signed in, on duty and not paused"
    )
    outside_hours: bool | None = Field(
        None, description="no in-house team of the queue is on shift"
    )
    # Actions: exactly one.
    lower_levels: int | None = Field(None, ge=1, le=9, description="lower every minimum level")
    skills: dict[SkillName, Level] | None = Field(
        None, description="the new minimum levels: may only drop skills or lower levels"
    )
    add_team: TeamName | None = Field(None, description="let this team's agents (or trunk) answer")
    offer_callback: bool | None = Field(
        None, description="offer the queue node's call-back key now"
    )
    goto: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]*$")] | None = Field(
        None, description="leave the queue for this node (voicemail, a transfer...)"
    )

    @model_validator(mode="after")
    def _one_trigger_one_action(self) -> OverflowStep:
        triggers = [t for t in TRIGGERS if getattr(self, t) not in (None, False)]
        actions = [a for a in ACTIONS if getattr(self, a) not in (None, False)]
        if len(triggers) != 1:
            raise ValueError(
                f"an overflow step needs exactly one trigger ({', '.join(TRIGGERS)}); "
                f"this one has {', '.join(triggers) or 'none'}"
            )
        if len(actions) != 1:
            raise ValueError(
                f"an overflow step needs exactly one action ({', '.join(ACTIONS)}); "
                f"this one has {', '.join(actions) or 'none'}"
            )
        return self

    @property
    def trigger(self) -> str:
        """The name of the step's trigger."""
        return next(t for t in TRIGGERS if getattr(self, t) not in (None, False))

    @property
    def action(self) -> str:
        """The name of the step's action."""
        return next(a for a in ACTIONS if getattr(self, a) not in (None, False))

    @property
    def label(self) -> str:
        """What metrics and the journal call the step."""
        return self.name or self.action.replace("_", "-")


QUEUE_NAME = r"^[a-z][a-z0-9_-]*$"

Strategy = Literal["longest-idle", "most-skilled", "round-robin", "ring-all"]


def _named_by_key(schema: dict[str, Any]) -> None:
    # In a plan the name is the key the settings stand under: editors must not ask for it.
    required = [field for field in schema.pop("required", []) if field != "name"]
    if required:
        schema["required"] = required


class QueueSpec(BaseModel):
    """One skill-based queue."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra=_named_by_key)

    name: Annotated[str, Field(pattern=QUEUE_NAME, max_length=40)] = Field(
        description="in a plan, the key under queues:"
    )
    skills: dict[SkillName, Level] = Field(default_factory=dict)
    strategy: Strategy = "longest-idle"
    ring_timeout: float = Field(15.0, gt=0, le=300)
    wrapup: float = Field(10.0, ge=0, le=3600)
    max_wait: float | None = Field(None, gt=0)
    max_callers: int | None = Field(None, ge=1)
    exit: Annotated[str, Field(pattern=QUEUE_NAME)] | None = None
    sla_seconds: float = Field(20.0, gt=0)
    teams: list[TeamName] | None = Field(None, min_length=1)
    announce_every: float | None = Field(None, gt=0)
    max_misses: int = Field(3, ge=1, le=100)
    overflow: list[OverflowStep] = Field(default_factory=list, max_length=20)
    callback_after_abandon: float | None = Field(
        None, gt=0, description="a caller who hangs up after waiting this long is called back"
    )
    recording: RecordingPolicy | None = Field(
        None, description="all, none, N% or a mapping; a team's own policy wins"
    )

    @model_validator(mode="after")
    def _exit_with_limits(self) -> QueueSpec:
        limited = self.max_wait is not None or self.max_callers is not None
        if limited and self.exit is None:
            raise ValueError(
                f"queue '{self.name}' has max_wait or max_callers but no exit; "
                "name the node callers go to when they leave the queue (exit: NODE)"
            )
        labels = [step.label for step in self.overflow]
        twice = sorted({label for label in labels if labels.count(label) > 1})
        if twice:
            raise ValueError(
                f"queue '{self.name}': overflow step '{twice[0]}' is named twice; "
                "give each step its own name:"
            )
        if self.exit is not None and not limited:
            raise ValueError(
                f"queue '{self.name}' has an exit but neither max_wait nor max_callers; "
                "set one of them, or remove exit"
            )
        return self


QueueName = Annotated[str, Field(pattern=QUEUE_NAME)]
# The shape of `queues:` before each entry is read as settings: names -> mappings.
_TABLE = TypeAdapter(dict[QueueName, dict[str, Any]])
# What `ivr check` suggests for any mistake in a queue's settings.
SETTINGS_FIX = (
    "see the queue settings in ivr/plan/queues.py (skills, strategy, ring_timeout, wrapup, "
    "max_wait, max_callers, exit, sla_seconds, teams, announce_every, max_misses, overflow, "
    "callback_after_abandon)"
)


def _queue_specs(value: Any) -> Any:
    """A plan's `queues:` as QueueSpecs named by their keys; their mistakes as `queue_settings`."""
    specs: dict[str, QueueSpec] = {}
    errors: list[InitErrorDetails] = []
    for name, settings in _TABLE.validate_python(value).items():
        try:
            specs[name] = QueueSpec.model_validate({"name": name, **settings})
        except ValidationError as exc:
            errors += [_settings_error(name, error) for error in exc.errors()]
    if errors:
        raise ValidationError.from_exception_data("queues", errors)
    return specs


def _settings_error(queue: str, error: ErrorDetails) -> InitErrorDetails:
    """`error` worded for ops staff, located under the queue's key."""
    problem = str(error["msg"]).removeprefix("Value error, ")
    if error["loc"]:
        problem = f"queue '{queue}': {'.'.join(str(p) for p in error['loc'])}: {problem}"
    return InitErrorDetails(
        type=PydanticCustomError("queue_settings", "{problem}", {"problem": problem}),
        loc=(queue, *error["loc"]),
        input=error["input"],
    )


# The `queues:` table of a plan: each queue's settings read once, while the plan loads.
QueueTable = Annotated[dict[QueueName, QueueSpec], BeforeValidator(_queue_specs)]
