"""Feature codes dialled from an agent's softphone: sign in, sign out, pause, resume.

The call is short: answer, change the agent's state, confirm with a prompt, hang up.
"""

from __future__ import annotations

from ivr.calls.commands import Answer, Command, HangUp, Note, Play
from ivr.calls.events import FeatureCode
from ivr.routing.desk import AgentAction, Desk

CODES: dict[str, tuple[AgentAction, str]] = {
    "*21": ("sign-in", "sound:agent-loginok"),
    "*22": ("sign-out", "sound:agent-loggedoff"),
    "*23": ("pause", "sound:de-activated"),
    "*24": ("resume", "sound:activated"),
}
REFUSED = "sound:pbx-invalid"


def dial(event: FeatureCode, desk: Desk, now: float) -> tuple[list[Command], str]:
    """The commands for a feature-code call, and the id of the confirmation playback."""
    playback = f"{event.call_id}-feature"
    agent = desk.agent_for(event.endpoint)
    known = CODES.get(event.code)
    fields = {"endpoint": event.endpoint, "code": event.code}
    if agent is None or known is None:
        note = Note(event.call_id, "feature_refused", fields)
        return [
            Answer(event.call_id),
            note,
            Play(event.call_id, playback, (REFUSED,), "en"),
        ], playback
    action, confirmation = known
    changed = desk.request(agent, action, "feature-code", now)
    note = Note(event.call_id, "agent_request",
                {**fields, "agent": agent, "action": action, "changed": str(changed)})  # fmt: skip
    return [
        Answer(event.call_id),
        note,
        Play(event.call_id, playback, (confirmation,), "en"),
    ], playback


def finished(call_id: str) -> list[Command]:
    """The confirmation was heard: hang up."""
    return [HangUp(call_id)]
