"""Agents as the core sees them: legs rung for a call, their answers, presence and requests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

LegEnd = Literal["no-answer", "busy", "rejected", "unreachable", "hangup"]
AgentAction = Literal["sign-in", "sign-out", "pause", "resume"]


@dataclass(frozen=True, slots=True)
class RingAgent:
    """Ring `endpoint` for the call; the leg is `leg_id`; the phone shows `caller_id`."""

    call_id: str
    leg_id: str
    agent_id: str
    endpoint: str
    caller_id: str
    timeout: float


@dataclass(frozen=True, slots=True)
class DropLeg:
    """Hang up an agent's leg, ringing or talking."""

    call_id: str
    leg_id: str


@dataclass(frozen=True, slots=True)
class Bridge:
    """Connect the caller and the agent's answered leg."""

    call_id: str
    leg_id: str


@dataclass(frozen=True, slots=True)
class BridgeLegs:
    """Connect two legs of one call that has no caller channel of its own (a callback)."""

    call_id: str
    leg_id: str
    other_leg_id: str


@dataclass(frozen=True, slots=True)
class CloseBridge:
    """Take down the call's bridge once its legs are gone."""

    call_id: str


@dataclass(frozen=True, slots=True)
class StartMusic:
    """Music on hold for a waiting caller (or an agent's leg while a callback rings)."""

    call_id: str
    music_class: str = "default"


@dataclass(frozen=True, slots=True)
class StopMusic:
    """Stop the music on hold."""

    call_id: str


@dataclass(frozen=True, slots=True)
class AgentAnswered:
    """The agent's leg for a call was answered."""

    call_id: str
    leg_id: str


@dataclass(frozen=True, slots=True)
class AgentLegEnded:
    """The agent's leg ended: before the answer (a failed ring, with why) or after (`hangup`)."""

    call_id: str
    leg_id: str
    cause: LegEnd


@dataclass(frozen=True, slots=True)
class AgentPresence:
    """A softphone's state changed (from AMI): reachable at all, and busy with another call."""

    endpoint: str
    reachable: bool
    busy: bool


@dataclass(frozen=True, slots=True)
class AgentRequest:
    """An agent (API or feature code) asks to sign in, sign out, pause (with a reason), resume."""

    agent_id: str
    action: AgentAction
    reason: str = ""


@dataclass(frozen=True, slots=True)
class FeatureCode:
    """An agent dialled a feature code (*21 sign in, *22 sign out, *23 pause, *24 resume)."""

    call_id: str
    endpoint: str
    code: str


LegCommand = RingAgent | DropLeg | Bridge | BridgeLegs | CloseBridge | StartMusic | StopMusic
LegEvent = AgentAnswered | AgentLegEnded
