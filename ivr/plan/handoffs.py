"""Nodes that hand the caller on: to a queue, a mailbox, a call back, a survey or another line.

The plan's part of the call ends at them (the survey comes after the agent hangs up).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, model_validator

from ivr.plan.fields import EXTENSION, MAILBOX, NodeName, Number, PlanModel, as_text
from ivr.plan.prompt_items import Prompts


class QueueNode(PlanModel):
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


class VoicemailNode(PlanModel):
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


class CallbackNode(PlanModel):
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


class SurveyQuestion(PlanModel):
    """One score: CSAT (keys 1..5) or NPS (0..10: 10 is 1 then 0, or * alone)."""

    kind: Literal["csat", "nps"]
    prompt: Prompts = Field(min_length=1, description="the question, with the keys to press")


class SurveyNode(PlanModel):
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


class TransferNode(PlanModel):
    """Hand the call to an internal extension, or to an outside number through a trunk."""

    type: Literal["transfer"]
    extension: (
        Annotated[
            str,
            Field(pattern=EXTENSION.pattern),
            BeforeValidator(
                as_text,
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


HANDOFFS = (QueueNode, TransferNode, VoicemailNode, CallbackNode, SurveyNode)
