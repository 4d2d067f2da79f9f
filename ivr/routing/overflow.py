"""Overflow: a queue's ordered steps that let more people answer a caller who waits too long.

```yaml
queues:
  returns:
    skills: {returns: 5}
    overflow:
      - {name: lower, waited: 30, lower_levels: 2}          # any returns agent from level 3
      - {name: partner, waited: 60, add_team: callpoint}    # the outsourced agents join in
      - {name: night, outside_hours: true, add_team: nightdesk}  # the partner's trunk
      - {name: busy, callers_over: 10, offer_callback: true}
      - {name: vm, estimated_wait: 600, goto: voicemail}
```

Each step has one trigger and one action and is taken at most once per caller. Steps only
widen who can answer: a caller keeps their place (priority, join time) whatever happens.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ivr.routing.roster import TeamName
from ivr.routing.skills import Level, SkillName

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
