"""Which calls are recorded: a policy per queue or team, and a sampling decision per call.

In YAML a policy is `all`, `none`, `10%`, or a mapping:
`{mode: sample, percent: 10, announce: [...], retention_days: 30}`.
"""

from __future__ import annotations

import hashlib
import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from ivr.plan.prompt_items import Prompt

# Heard before recording starts; `say:` text is spoken by `ivr prompts build` like a plan's.
DEFAULT_ANNOUNCE = ("say:This call may be recorded for quality purposes.",)
_PERCENT = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*%\s*$")


def _as_tuple(value: Any) -> Any:
    return (value,) if isinstance(value, str) else value


class RecordingPolicy(BaseModel):
    """Record every call, a sample of them, or none; what callers hear; how long files are kept."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    mode: Literal["all", "sample", "none"] = "none"
    sample_percent: float = Field(
        100.0, ge=0, le=100, alias="percent", description="share of calls recorded in sample mode"
    )
    announce: Annotated[
        tuple[Prompt, ...], BeforeValidator(_as_tuple, json_schema_input_type=str | list[str])
    ] = DEFAULT_ANNOUNCE
    retention_days: int = Field(90, gt=0, le=3650, description="days a recording is kept")

    @model_validator(mode="before")
    @classmethod
    def _short_forms(cls, value: Any) -> Any:
        """`all`, `none` and `10%` stand for the mapping they mean."""
        if isinstance(value, str):
            if value in ("all", "none"):
                return {"mode": value}
            found = _PERCENT.match(value)
            if found:
                return {"mode": "sample", "percent": float(found.group(1))}
            raise ValueError(f"recording '{value}' is not understood; write all, none or 10%")
        if isinstance(value, dict):
            has_percent = "percent" in value or "sample_percent" in value
            if value.get("mode") == "sample" and not has_percent:
                raise ValueError("mode: sample needs percent (for example percent: 10)")
            if value.get("mode") in ("all", "none") and has_percent:
                raise ValueError("percent is only for mode: sample")
        return value

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        """The mapping, or one of the short forms an editor should accept as well."""
        short = [{"enum": ["all", "none"]}, {"type": "string", "pattern": _PERCENT.pattern}]
        return {"anyOf": [*short, handler(core_schema)]}


NOT_RECORDED = RecordingPolicy(mode="none")


def should_record(policy: RecordingPolicy, call_id: str) -> bool:
    """Whether this call is recorded; the same call id always gets the same answer."""
    if policy.mode == "all":
        return True
    if policy.mode == "none":
        return False
    # A stable hash, not random(): a resynced or repeated decision never flips.
    digest = hashlib.sha256(call_id.encode("utf-8")).digest()
    point = int.from_bytes(digest[:8], "big") / 2**64 * 100  # in [0, 100)
    return point < policy.sample_percent


def policy_for(queue: RecordingPolicy | None, team: RecordingPolicy | None) -> RecordingPolicy:
    """The answering agent's team's policy when the team has one, else the queue's, else none.

    So an outsourced partner's calls can be recorded where the same queue's in-house calls are
    not (or the other way round), whatever queue they came through.
    """
    if team is not None:
        return team
    if queue is not None:
        return queue
    return NOT_RECORDED
