"""ARI's JSON events as the core's call events (pure: tested without a PBX)."""

from __future__ import annotations

from typing import Any

from ivr.calls.caller_id import safe_caller, safe_number
from ivr.calls.events import CallArrived, CallEvent, CallHungUp, DigitPressed, PromptFinished

KEYS = set("0123456789*#ABCD")


def translate(message: dict[str, Any]) -> CallEvent | None:
    """The call event an ARI event means for the core, or None when it means nothing to it."""
    kind = message.get("type")
    channel = message.get("channel") or {}
    channel_id = str(channel.get("id", ""))
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
    if kind == "StasisEnd" and channel_id:
        return CallHungUp(channel_id)
    return None


def in_app(channel: dict[str, Any], app: str) -> bool:
    """True when a channel from GET /channels sits in our Stasis app."""
    dialplan = channel.get("dialplan") or {}
    if str(dialplan.get("app_name", "")).lower() != "stasis":
        return False
    return str(dialplan.get("app_data", "")).split(",")[0] == app
