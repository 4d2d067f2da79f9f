"""ARI's JSON events as the core's call events (pure: tested without a PBX)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ivr.calls.caller_id import safe_caller, safe_number
from ivr.calls.events import (
    CallArrived,
    CallEvent,
    CallHungUp,
    DigitPressed,
    FeatureCode,
    PromptFinished,
    RecordingDone,
)
from ivr.calls.legs import AgentAnswered, AgentLegEnded, LegEnd

KEYS = set("0123456789*#ABCD")
# The app argument the daemon gives the agent legs it originates: `agent,<call id>`.
AGENT_LEG = "agent"
TRANSFER_LEG = "transfer"
# A supervisor's phone and the snoop channel on an agent's leg (ivr/pbx/ari/supervision.py).
SUPERVISOR_LEG = "supervisor"
SNOOP_LEG = "snoop"
SUPERVISION_LEGS = (SUPERVISOR_LEG, SNOOP_LEG)
# extensions.conf sends agents' feature codes as Stasis(ivr,feature).
FEATURE = "feature"
# Every event type the adapter reads (translate, and pbx.py: hang-up requests, transfer
# legs): the app's event filter lets Asterisk send these and nothing else.
EVENTS = (
    "StasisStart",
    "StasisEnd",
    "ChannelDtmfReceived",
    "ChannelHangupRequest",
    "ChannelDestroyed",
    "PlaybackFinished",
    "RecordingFinished",
    "RecordingFailed",
)
# Q.850 causes of a leg that ended before it was answered.
_CAUSES: dict[int, LegEnd] = {17: "busy", 18: "no-answer", 19: "no-answer", 21: "rejected"}


def translate(
    message: dict[str, Any], legs: Mapping[str, str] | None = None
) -> CallEvent | FeatureCode | None:
    """The event an ARI event means for the core, or None when it means nothing to it.

    `legs` maps the agent legs the daemon rang to their calls.
    """
    kind = message.get("type")
    channel = message.get("channel") or {}
    channel_id = str(channel.get("id", ""))
    args = message.get("args") or []
    if kind == "StasisStart" and channel_id and args and args[0] == FEATURE:
        # PJSIP/agent1-0000002a: the endpoint is the name without the channel's sequence.
        endpoint = str(channel.get("name", "")).rsplit("-", 1)[0]
        code = str((channel.get("dialplan") or {}).get("exten", ""))
        return FeatureCode(channel_id, endpoint, "".join(c for c in code if c in KEYS))
    if kind == "StasisStart" and args and args[0] in (SUPERVISOR_LEG, SNOOP_LEG):
        return None  # a supervision leg no session claims (a daemon before us made it)
    if kind == "StasisStart" and channel_id and args and args[0] == AGENT_LEG:
        return AgentAnswered(str(args[1]) if len(args) > 1 else "", channel_id)
    if legs and channel_id in legs:
        return _leg_event(kind, message, legs[channel_id], channel_id)
    if kind == "StasisStart" and channel_id:
        caller = channel.get("caller") or {}
        dialplan = channel.get("dialplan") or {}
        number = safe_number(dialplan.get("exten", ""))
        return CallArrived(
            channel_id, number, safe_caller(caller.get("number"), caller.get("name"))
        )
    if kind == "ChannelDtmfReceived" and channel_id:
        digit = str(message.get("digit", ""))
        return DigitPressed(channel_id, digit) if digit in KEYS else None
    if kind == "PlaybackFinished":
        playback = message.get("playback") or {}
        target = str(playback.get("target_uri", ""))
        if target.startswith("channel:"):
            return PromptFinished(target.removeprefix("channel:"), str(playback.get("id", "")))
        return None
    if kind in ("RecordingFinished", "RecordingFailed"):
        recording = message.get("recording") or {}
        target = str(recording.get("target_uri", ""))
        if not target.startswith("channel:"):
            return None
        seconds = float(recording.get("duration") or 0)
        ok = kind == "RecordingFinished"
        return RecordingDone(
            target.removeprefix("channel:"), str(recording.get("name")), ok, seconds
        )
    if kind == "StasisEnd" and channel_id:
        return CallHungUp(channel_id)
    return None


def _leg_event(
    kind: object, message: dict[str, Any], call_id: str, leg_id: str
) -> AgentLegEnded | None:
    if kind != "ChannelDestroyed":
        return None
    state = str((message.get("channel") or {}).get("state", ""))
    if state == "Up":
        return AgentLegEnded(call_id, leg_id, "hangup")
    return AgentLegEnded(
        call_id, leg_id, _CAUSES.get(int(message.get("cause") or 0), "unreachable")
    )


def in_app(channel: dict[str, Any], app: str) -> bool:
    """True when a channel from GET /channels sits in our Stasis app."""
    dialplan = channel.get("dialplan") or {}
    if str(dialplan.get("app_name", "")).lower() != "stasis":
        return False
    return str(dialplan.get("app_data", "")).split(",")[0] == app


def is_leg(channel: dict[str, Any]) -> bool:
    """True for a leg the daemon originated (Stasis args `agent,CALL` or `transfer,CALL`, or a
    supervision leg)."""
    app_data = str((channel.get("dialplan") or {}).get("app_data", "")).split(",")
    return len(app_data) > 1 and app_data[1] in (AGENT_LEG, TRANSFER_LEG, *SUPERVISION_LEGS)


def leg_of(channel: dict[str, Any]) -> str | None:
    """The call an agent's leg in the app belongs to (Stasis args `agent,CALL`), or None."""
    app_data = str((channel.get("dialplan") or {}).get("app_data", "")).split(",")
    if len(app_data) > 2 and app_data[1] == AGENT_LEG and app_data[2]:
        return app_data[2]
    return None
