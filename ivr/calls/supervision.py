"""Supervisors on live talks: listen, whisper to the agent, barge in.

A session belongs to one call's talk with an agent. The core decides whether a call may be
supervised and keeps the journal (who, how, how long); the PBX rings the supervisor's phone
and carries the audio (ivr/pbx/ari/supervision.py), and says when the session is over.
"""

from __future__ import annotations

from dataclasses import dataclass

from ivr.calls.call import Call
from ivr.calls.commands import Command, EndSupervision, Note, Supervise
from ivr.calls.events import StopSupervising, SuperviseCall, SupervisionEnded, SupervisionMode
from ivr.calls.queue.wait import QueueWait

MODES: tuple[SupervisionMode, ...] = ("listen", "whisper", "barge")


@dataclass(frozen=True, slots=True)
class Session:
    """One supervisor on one talk, from the request until the PBX says it is over."""

    id: str
    call_id: str
    mode: SupervisionMode
    phone: str
    supervisor: str
    agent: str
    started_at: float


def refusal(call: Call | None) -> str | None:
    """Why `call` cannot be supervised now (None: it can): only a talk with an agent."""
    if call is None:
        return "no call of that id is in progress"
    wait = call.step
    if (
        not isinstance(wait, QueueWait)
        or wait.agent_leg is None
        or wait.agent_gone
        or wait.connecting
        or call.hanging_up
    ):
        return "the call is not talking to an agent"
    return None


class Supervisions:
    """The sessions in progress, by id."""

    def __init__(self) -> None:
        self.sessions: dict[str, Session] = {}
        self._stopped_by: dict[str, str] = {}

    def of_call(self, call_id: str) -> list[Session]:
        """The sessions on one call, oldest first."""
        return [s for s in self.sessions.values() if s.call_id == call_id]

    def start(self, call: Call | None, request: SuperviseCall, now: float) -> list[Command]:
        """Ring the supervisor's phone for a talk; nothing when the call cannot be supervised
        (the API has said why already) or the session id is taken."""
        if call is None or refusal(call) is not None or request.session_id in self.sessions:
            return []
        wait = call.step
        assert isinstance(wait, QueueWait) and wait.agent_leg is not None
        agent = wait.agent or ""
        session = Session(request.session_id, call.id, request.mode, request.phone,
                          request.supervisor, agent, now)  # fmt: skip
        self.sessions[session.id] = session
        fields = {"session": session.id, "mode": session.mode, "supervisor": session.supervisor,
                  "phone": session.phone, "agent": agent, "queue": wait.queue}  # fmt: skip
        # The supervisor's phone shows what it is about to hear.
        caller_id = _display(f"{session.mode}: {agent}")
        return [
            Note(call.id, "supervision", fields),
            Supervise(call.id, session.id, session.mode, session.phone, wait.agent_leg, caller_id),
        ]

    def stop(self, request: StopSupervising) -> list[Command]:
        """End a session at a supervisor's request; its note comes once the PBX says it ended."""
        session = self.sessions.get(request.session_id)
        if session is None or session.call_id != request.call_id:
            return []
        self._stopped_by[session.id] = request.by
        return [EndSupervision(session.call_id, session.id)]

    def end_all(self) -> list[Command]:
        """Shutdown: every session's legs are hung up (the calls themselves go on)."""
        return [EndSupervision(s.call_id, s.id) for s in self.sessions.values()]

    def ended(self, event: SupervisionEnded, now: float) -> list[Command]:
        """The PBX took the session's legs down: journal how it ended."""
        session = self.sessions.pop(event.session_id, None)
        if session is None:
            return []
        fields = {"session": session.id, "mode": session.mode, "supervisor": session.supervisor,
                  "reason": event.reason, "seconds": f"{now - session.started_at:.1f}"}  # fmt: skip
        by = self._stopped_by.pop(session.id, None)
        if by is not None:
            fields["by"] = by
        return [Note(session.call_id, "supervision_ended", fields)]


def _display(text: str) -> str:
    """A caller id display name: no quotes or angle brackets, short."""
    return '"' + "".join(ch for ch in text if ch not in '"<>\\')[:60] + '"'
