"""A caller's time in a queue, as the queue node and its overflow steps keep it."""

from __future__ import annotations

from dataclasses import dataclass, field

from ivr.plan.queues import OverflowStep
from ivr.plan.recording import RecordingPolicy


@dataclass
class QueueWait:
    """A caller's time in a queue: the legs ringing for them, and the one that answered."""

    queue: str
    joined_at: float
    music: str
    announce_every: float | None
    sla_seconds: float
    callback: str | None = None  # the node that takes callers who choose a call back
    callback_key: str = "1"
    callback_offer: tuple[str, ...] = ()
    callback_open: bool = True  # the call-back key works (else after an offer_callback step)
    steps: tuple[OverflowStep, ...] = ()
    taken: set[int] = field(default_factory=set)  # overflow steps already taken
    survey: str | None = None  # the node callers go to when the agent hangs up
    legs: dict[str, str] = field(default_factory=dict)  # leg id -> agent id
    agent_leg: str | None = None
    team: str = ""  # the answering agent's team
    agent_gone: bool = False  # the agent hung up first
    answered_at: float | None = None
    connecting: bool = False  # the recording announcement plays before the bridge
    recording: RecordingPolicy | None = None  # the policy, once this call is recorded
    recording_paused: bool = False
    # An agent's transfer: the note that travels, agents so far, a consult under way
    # (ivr.calls.agent_transfer.Handover), once an agent has used one.
    handover: object | None = None

    @property
    def agent(self) -> str | None:
        return self.legs.get(self.agent_leg) if self.agent_leg else None


@dataclass(frozen=True)
class QueueHeld:
    """A caller's place in a queue as a restart finds it: when they joined, the overflow steps
    taken, and the agent and leg when they were talking."""

    queue: str
    joined_at: float
    taken: tuple[int, ...] = ()
    callback_open: bool = True
    agent: str | None = None
    leg: str | None = None
    answered_at: float | None = None
