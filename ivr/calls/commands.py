"""What the core asks for: commands for the PBX, the timers and the journal."""

from __future__ import annotations

from dataclasses import field
from typing import Any, Literal

from ivr.calls.legs import LegCommand
from ivr.message import message


@message
class Answer:
    """Answer the call (200 OK to the caller)."""

    call_id: str


@message
class Play:
    """Play media in order as one playback: `media` items are PBX URIs such as `sound:hello`."""

    call_id: str
    playback_id: str
    media: tuple[str, ...]
    language: str


@message
class StopPlayback:
    """Stop a playback early (barge-in)."""

    call_id: str
    playback_id: str


@message
class HangUp:
    """End the call from our side."""

    call_id: str


@message
class ContinueInDialplan:
    """Hand the call back to the PBX dialplan: at the step after the Stasis app (which holds
    the caller and tries the app again, so the next daemon serves them), or at `label`
    (`unavailable`: the caller is told the service is unavailable)."""

    call_id: str
    label: str = ""


@message
class StartTimer:
    """Deliver `TimerFired(call_id, timer_id)` after `seconds`."""

    call_id: str
    timer_id: str
    seconds: float


@message
class CancelTimer:
    """Forget a timer that is no longer wanted."""

    call_id: str
    timer_id: str


@message
class Release:
    """The core is done with the call: drop its timers and any state kept for it."""

    call_id: str


@message
class Note:
    """A journal entry: something worth keeping about the call (also feeds logs and metrics)."""

    call_id: str
    kind: str
    fields: dict[str, str] = field(default_factory=dict)


@message
class Transfer:
    """Connect the caller to `endpoint`: a PJSIP endpoint (`PJSIP/101`) or `PJSIP/<number>@trunk`.

    The PBX answers with CallHungUp when the call has left us, or TransferFailed.
    """

    call_id: str
    endpoint: str
    caller_id: str = ""


@message
class JoinBridge:
    """Put one channel of the call (the caller's own, or an agent's leg) into its bridge."""

    call_id: str
    channel_id: str


@message
class LeaveBridge:
    """Take one channel out of the call's bridge (the caller on hold during a consult)."""

    call_id: str
    channel_id: str


@message
class Lookup:
    """Ask the shop's backend; the answer comes back as `LookupDone(call_id, request_id, ...)`.

    `url` is fixed by the plan; call variables travel only in `params` (query or JSON body).
    """

    call_id: str
    request_id: str
    method: Literal["GET", "POST"]
    url: str
    # Out of repr: the values may be secrets (a PIN to verify), and reprs end up in logs.
    params: dict[str, str] = field(repr=False)
    timeout: float


@message
class RecordMessage:
    """Record what the caller says into `name` (wav) after a beep; it ends on `finish_key`,
    `max_silence` seconds of silence or `max_seconds`. RecordingDone follows."""

    call_id: str
    name: str
    max_seconds: int
    max_silence: int
    finish_key: str = "#"
    beep: bool = True


@message
class StartRecording:
    """Record the call's bridge (both sides) into `name` (wav); it ends with the bridge."""

    call_id: str
    name: str


@message
class MuteRecording:
    """Silence (`mute`) or restore the audio of a running recording: paused time is silence."""

    call_id: str
    name: str
    mute: bool


@message
class Supervise:
    """Ring a supervisor's `phone`; once answered it hears the talk on `agent_leg` as `mode`
    says (listen, whisper, barge). SupervisionEnded follows when the session is over."""

    call_id: str
    session_id: str
    mode: str
    phone: str
    agent_leg: str
    caller_id: str = ""


@message
class EndSupervision:
    """Hang up a supervision session's legs; the call goes on. SupervisionEnded follows."""

    call_id: str
    session_id: str


@message
class SaveState:
    """Keep what a restart must not lose of a call or an agent (`kind` "call" or "agent"),
    replacing the record kept before; `record` None forgets it. Handed to the store before
    the commands after it are carried out; it lands in order, moments later."""

    kind: str
    key: str
    record: dict[str, Any] | None


@message
class SaveCallback:
    """Keep a callback task (as JSON) in the store, so a restart loses nothing."""

    task: dict[str, Any]


PbxCommand = (
    Answer
    | Play
    | StopPlayback
    | HangUp
    | ContinueInDialplan
    | Transfer
    | JoinBridge
    | LeaveBridge
    | RecordMessage
    | StartRecording
    | MuteRecording
    | Supervise
    | EndSupervision
    | LegCommand
)
TimerCommand = StartTimer | CancelTimer | Release
Command = PbxCommand | TimerCommand | Note | Lookup | SaveCallback | SaveState
