"""What happens to a call: the events the core reacts to."""

from __future__ import annotations

from dataclasses import field
from typing import Any, Literal

from ivr.calls.legs import AgentAnswered, AgentLegEnded
from ivr.message import message
from ivr.routing.desk import AgentAction


@message
class Caller:
    """Who is calling, as the network says; `number` and `name` are already made safe."""

    number: str = ""
    name: str = ""


@message
class CallArrived:
    """A new call entered the daemon: `number` is the dialled number (DID)."""

    call_id: str
    number: str
    caller: Caller


@message
class DigitPressed:
    """The caller pressed a key (RFC 4733 DTMF): one of 0-9, *, #, A-D."""

    call_id: str
    digit: str


@message
class PromptFinished:
    """A playback ended, by itself or because it was stopped."""

    call_id: str
    playback_id: str


@message
class TimerFired:
    """A timer the core started has run out."""

    call_id: str
    timer_id: str


@message
class CallResumed:
    """The PBX link came back and the call still exists: repeat the current step."""

    call_id: str


@message
class PbxSynced:
    """The PBX link is up and every call in the app has been reported (CallArrived or
    CallResumed): `present` lists every channel the PBX has now, callers' and agents' legs."""

    present: frozenset[str]
    call_id: str = ""


@message
class CallHungUp:
    """The caller is gone (hang-up, or the channel left the daemon's app). `lost`: it went
    while the daemon was away from the PBX (the PBX restarted, or the link was down), so
    nobody can say the caller gave up."""

    call_id: str
    lost: bool = False


@message
class LookupDone:
    """The backend answered a Lookup (`ok`: a 2xx JSON object in time), or failed to."""

    call_id: str
    request_id: str
    ok: bool
    status: int = 0  # the HTTP status; 0 when no answer came
    data: dict[str, Any] = field(default_factory=dict)


@message
class TransferFailed:
    """The PBX could not connect the caller to a Transfer's endpoint; the call is still ours."""

    call_id: str
    reason: str = ""


@message
class RecordingDone:
    """A RecordMessage ended: `ok` when the file was kept; its length in seconds."""

    call_id: str
    name: str
    ok: bool
    seconds: float = 0.0


@message
class RecordingControl:
    """Pause or resume a call's recording (the API, while card or passport data is read out)."""

    call_id: str
    pause: bool


SupervisionMode = Literal["listen", "whisper", "barge"]


@message
class SuperviseCall:
    """A supervisor (the API) asks to hear a talk from `phone`: `listen` (caller and agent,
    heard by neither), `whisper` (heard by the agent only) or `barge` (all three hear)."""

    call_id: str
    session_id: str
    mode: SupervisionMode
    phone: str
    supervisor: str


@message
class StopSupervising:
    """A supervisor (the API) ends a supervision session; the call goes on."""

    call_id: str
    session_id: str
    by: str


@message
class SupervisionEnded:
    """The PBX says a supervision session is over and its legs are gone (`reason`: stopped,
    the supervisor hung up or never answered, the call or the agent's leg ended)."""

    call_id: str
    session_id: str
    reason: str


@message
class MoveCaller:
    """A supervisor (the API) moves a waiting caller to `queue`, keeping priority and wait."""

    call_id: str
    queue: str
    by: str


@message
class AgentPresence:
    """A softphone's state changed (from AMI): reachable at all, and busy with another call."""

    endpoint: str
    reachable: bool
    busy: bool


@message
class AgentRequest:
    """An agent (API or feature code) asks to sign in, sign out, pause (with a reason), resume."""

    agent_id: str
    action: AgentAction
    reason: str = ""


@message
class FeatureCode:
    """An agent dialled a feature code (*21 sign in, *22 sign out, *23 pause, *24 resume)."""

    call_id: str
    endpoint: str
    code: str


@message
class TransferRequest:
    """An agent on an answered call acts on it (the API): `action` blind or warm (to
    `target_kind` queue, agent or number, `target` its name or dial string), complete,
    cancel, conference, leave, or note (`text` travels with the call)."""

    call_id: str
    agent_id: str
    action: str
    target_kind: str = ""
    target: str = ""
    text: str = ""


CallEvent = (
    CallArrived
    | DigitPressed
    | PromptFinished
    | TimerFired
    | CallResumed
    | CallHungUp
    | LookupDone
    | TransferFailed
    | RecordingDone
    | RecordingControl
    | SuperviseCall
    | StopSupervising
    | SupervisionEnded
    | MoveCaller
    | AgentAnswered
    | AgentLegEnded
    | FeatureCode
    | PbxSynced
    | TransferRequest
)
# Events about agents rather than one call; the routing desk takes them.
DeskEvent = AgentPresence | AgentRequest
