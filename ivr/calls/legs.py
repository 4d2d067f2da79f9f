"""Agents' legs as the core sees them: rung for a call, answered, bridged, ended."""

from __future__ import annotations

from typing import Literal

from ivr.message import message

LegEnd = Literal["no-answer", "busy", "rejected", "unreachable", "hangup"]


@message
class RingAgent:
    """Ring `endpoint` for the call; the leg is `leg_id`; the phone shows `caller_id`."""

    call_id: str
    leg_id: str
    agent_id: str
    endpoint: str
    caller_id: str
    timeout: float


@message
class DropLeg:
    """Hang up an agent's leg, ringing or talking."""

    call_id: str
    leg_id: str


@message
class Bridge:
    """Connect the caller and the agent's answered leg."""

    call_id: str
    leg_id: str


@message
class BridgeLegs:
    """Connect two legs of one call that has no caller channel of its own (a callback)."""

    call_id: str
    leg_id: str
    other_leg_id: str


@message
class CloseBridge:
    """Take down the call's bridge once its legs are gone."""

    call_id: str


@message
class StartMusic:
    """Music on hold for a waiting caller (or an agent's leg while a callback rings)."""

    call_id: str
    music_class: str = "default"


@message
class StopMusic:
    """Stop the music on hold."""

    call_id: str


@message
class AgentAnswered:
    """The agent's leg for a call was answered."""

    call_id: str
    leg_id: str


@message
class AgentLegEnded:
    """The agent's leg ended: before the answer (a failed ring, with why) or after (`hangup`)."""

    call_id: str
    leg_id: str
    cause: LegEnd


LegCommand = RingAgent | DropLeg | Bridge | BridgeLegs | CloseBridge | StartMusic | StopMusic
LegEvent = AgentAnswered | AgentLegEnded
