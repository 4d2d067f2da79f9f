"""ARI's JSON events as the core sees them."""

from __future__ import annotations

from ivr.calls.events import CallArrived, Caller, CallHungUp, DigitPressed, PromptFinished
from ivr.pbx.ari.events import in_app, translate


def channel(**extra: object) -> dict[str, object]:
    return {
        "id": "1700.7",
        "caller": {"number": "+7 (900) 123-45-67", "name": "Ann\r\nInjected: yes"},
        "dialplan": {"exten": "100", "app_name": "Stasis", "app_data": "ivr"},
        **extra,
    }


def test_stasis_start_is_a_call_with_safe_caller_id() -> None:
    event = translate({"type": "StasisStart", "channel": channel()})
    assert event == CallArrived("1700.7", "100", Caller("+79001234567", "Ann Injected: yes"))


def test_keys_playback_end_and_stasis_end() -> None:
    assert translate(
        {"type": "ChannelDtmfReceived", "digit": "#", "channel": channel()}
    ) == DigitPressed("1700.7", "#")
    finished = {"type": "PlaybackFinished", "playback": {"id": "p1", "target_uri": "channel:9.1"}}
    assert translate(finished) == PromptFinished("9.1", "p1")
    assert translate({"type": "StasisEnd", "channel": channel()}) == CallHungUp("1700.7")


def test_events_the_core_does_not_need_are_dropped() -> None:
    assert translate({"type": "ChannelVarset", "channel": channel()}) is None
    assert translate({"type": "ChannelDtmfReceived", "digit": "x", "channel": channel()}) is None
    bridge = {"type": "PlaybackFinished", "playback": {"id": "p", "target_uri": "bridge:1"}}
    assert translate(bridge) is None
    assert translate({"type": "StasisStart"}) is None


def test_only_channels_in_our_app_are_adopted_after_a_reconnect() -> None:
    assert in_app(channel(), "ivr")
    assert not in_app(channel(dialplan={"app_name": "Stasis", "app_data": "other,x"}), "ivr")
    assert not in_app(channel(dialplan={"app_name": "Playback", "app_data": "ivr"}), "ivr")
