"""A plan file as a whole: the numbers it answers, its tables (prompts, callers, queues,
schedules) and its nodes."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from ivr.plan.emergency import EmergencySpec
from ivr.plan.fields import Language, NodeName, Numbers, PlanModel
from ivr.plan.nodes import Node
from ivr.plan.prompt_items import MediaList, Prompts
from ivr.plan.queues import QueueTable
from ivr.schedule.parse import known_zone
from ivr.schedule.spec import ScheduleSpec


def _check_zone(value: Any) -> Any:
    if isinstance(value, str) and not known_zone(value):
        raise ValueError(
            f"'{value[:60]}' is not a known time zone; write an IANA name such as Europe/Moscow"
        )
    return value


class PlanSpec(PlanModel):
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
    queues: QueueTable = Field(
        default_factory=dict, description="queues by name, with their routing settings"
    )
    schedules: dict[NodeName, ScheduleSpec] = Field(default_factory=dict)
    emergency: EmergencySpec | None = Field(
        None, description="while ops close the line: messages to choose from, the node after"
    )
    nodes: dict[NodeName, Node] = Field(min_length=1)
