"""Supervision sessions over ARI: the supervisor's phone, a snoop channel, their own bridge.

- listen: a snoop channel on the agent's leg hears both directions (`spy=both`: the agent,
  and what the agent hears, the caller) and says nothing (`whisper=none`);
- whisper: the same snoop speaks into what the agent hears (`whisper=out`), so the agent
  hears the supervisor and the caller does not;
- barge: the supervisor's phone joins the call's own bridge: all three hear each other.

The phone (channel id: the session id) is originated into the app; once it answers, the
snoop channel is made and both are put in a bridge of the session's own (listen, whisper),
or the phone joins the call's bridge (barge). Whatever ends first (the supervisor hangs up,
the API stops it, the agent's leg or the call ends) takes the session's legs down; the core
hears `SupervisionEnded` once the phone's channel is gone. None of it touches the call.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ivr.calls.commands import EndSupervision, Supervise
from ivr.calls.events import SupervisionEnded
from ivr.logs import event
from ivr.pbx.ari.client import AriClient, AriError, describe, ignore_missing
from ivr.pbx.ari.events import SNOOP_LEG, SUPERVISION_LEGS, SUPERVISOR_LEG

log = logging.getLogger("ivr.ari")

# How long the supervisor's phone rings before the session gives up.
RING_SECONDS = 30
# What the snoop channel hears and says, by mode (ARI's spy and whisper directions).
SNOOP = {"listen": ("both", "none"), "whisper": ("both", "out")}
# Q.850 causes of a phone that never answered.
_UNANSWERED = {17: "busy", 18: "no-answer", 19: "no-answer", 21: "rejected"}


@dataclass(frozen=True, slots=True)
class SupervisionStep:
    """The adapter's own next step of a session, queued behind the call's other commands."""

    call_id: str
    session_id: str
    action: str  # "snoop", "bridge", "barge" or "hang-up"


@dataclass
class _Session:
    call_id: str
    id: str
    mode: str
    agent_leg: str
    answered: bool = False
    ending: str = ""  # why it is being taken down, once it is

    @property
    def snoop(self) -> str:
        return f"{self.id}-snoop"

    @property
    def bridge(self) -> str:
        return f"{self.id}-bridge"


class SupervisionLegs:
    """The supervision sessions the adapter carries, and the ARI events of their channels."""

    def __init__(
        self,
        app: str,
        queue: Callable[[SupervisionStep], None],
        deliver: Callable[[SupervisionEnded], None],
    ) -> None:
        self.app = app
        self._queue = queue
        self._deliver = deliver
        self._sessions: dict[str, _Session] = {}
        self._channels: dict[str, str] = {}  # phone or snoop channel id -> session id

    # Events.

    def claims(self, message: dict[str, Any]) -> bool:
        """Take an ARI event about a session's channel; False when it is about no session."""
        channel = message.get("channel") or {}
        channel_id = str(channel.get("id", ""))
        session = self._sessions.get(self._channels.get(channel_id, ""))
        if session is None:
            return False
        kind = message.get("type")
        phone = channel_id == session.id
        if kind == "StasisStart" and phone and not session.ending:
            session.answered = True
            self._step(session, "barge" if session.mode == "barge" else "snoop")
        elif kind == "StasisStart" and not phone and not session.ending:
            self._step(session, "bridge")
        elif kind == "ChannelDestroyed" and phone:
            del self._channels[channel_id]
            if not session.ending:
                # The supervisor hung up, or never answered: the snoop and bridge go too.
                unanswered = _UNANSWERED.get(int(message.get("cause") or 0), "unreachable")
                session.ending = "supervisor-hung-up" if session.answered else unanswered
                self._step(session, "hang-up")
            self._end(session)
        elif kind == "ChannelDestroyed":
            self._channels.pop(channel_id, None)
            self._take_down(session, "agent-left")  # the snooped leg is gone
        return True

    def call_ended(self, call_id: str) -> None:
        """The caller is gone: so are the sessions on their call."""
        for session in list(self._sessions.values()):
            if session.call_id == call_id:
                self._take_down(session, "call-ended")

    def leg_ended(self, leg_id: str) -> None:
        """An agent's leg is gone: sessions on its talk end."""
        for session in list(self._sessions.values()):
            if session.agent_leg == leg_id:
                self._take_down(session, "agent-left")

    def resync(self, present: dict[str, dict[str, Any]]) -> list[str]:
        """After a reconnect: sessions whose phone is gone end; the supervision channels no
        session claims (a daemon before us made them) are returned, to be hung up."""
        for session in list(self._sessions.values()):
            if session.id not in present:
                self._channels.pop(session.id, None)
                session.ending = session.ending or "lost"
                self._step(session, "hang-up")
                self._end(session)
        return [
            channel_id
            for channel_id, channel in present.items()
            if channel_id not in self._channels and _supervision_leg(channel)
        ]

    # Commands.

    async def run(
        self, client: AriClient, command: Supervise | EndSupervision | SupervisionStep
    ) -> None:
        """Carry out a command or a step of a session; a failure ends the session."""
        try:
            await self._run(client, command)
        except AriError as exc:
            event(log, "ari.supervision_failed", logging.WARNING, call=command.call_id,
                  session=command.session_id, step=_name(command), error=describe(exc))  # fmt: skip
            session = self._sessions.get(command.session_id)
            if session is None:
                return
            if isinstance(command, Supervise):
                # The phone could not be called at all: there is no channel to wait for.
                self._channels.pop(session.id, None)
                session.ending = "unreachable"
                self._end(session)
            elif not session.ending:
                session.ending = "failed"
                with contextlib.suppress(AriError):
                    await _hang_up(client, session.id)

    async def _run(
        self, client: AriClient, command: Supervise | EndSupervision | SupervisionStep
    ) -> None:
        if isinstance(command, Supervise):
            new = _Session(command.call_id, command.session_id, command.mode, command.agent_leg)
            self._sessions[new.id] = new
            self._channels[new.id] = new.id
            await client.originate(new.id, command.phone, self.app,
                                   f"{SUPERVISOR_LEG},{command.call_id}",
                                   command.caller_id or None, RING_SECONDS)  # fmt: skip
            return
        if isinstance(command, SupervisionStep) and command.action == "hang-up":
            await _hang_up(client, command.session_id)
            return
        session = self._sessions.get(command.session_id)
        if session is None:
            return
        if isinstance(command, EndSupervision):
            if not session.ending:
                session.ending = "stopped"
                await _hang_up(client, session.id)
            return
        if session.ending:
            return
        match command.action:
            case "snoop":
                spy, whisper = SNOOP[session.mode]
                # Claimed before asking: its StasisStart may beat the answer to the request.
                self._channels[session.snoop] = session.id
                await client.snoop(session.agent_leg, session.snoop, spy, whisper, self.app,
                                   f"{SNOOP_LEG},{session.call_id}")  # fmt: skip
            case "bridge":
                await client.create_bridge(session.bridge)
                await client.add_to_bridge(session.bridge, [session.id, session.snoop])
            case "barge":
                await client.add_to_bridge(f"{session.call_id}-bridge", [session.id])

    def _step(self, session: _Session, action: str) -> None:
        self._queue(SupervisionStep(session.call_id, session.id, action))

    def _take_down(self, session: _Session, why: str) -> None:
        """Hang up the session's legs (once); it ends when the phone's channel is gone."""
        if session.ending:
            return
        session.ending = why
        self._step(session, "hang-up")
        if session.id not in self._channels:
            self._end(session)  # no phone channel left to wait for

    def _end(self, session: _Session) -> None:
        if self._sessions.pop(session.id, None) is None:
            return
        self._channels.pop(session.snoop, None)
        self._deliver(SupervisionEnded(session.call_id, session.id, session.ending))


async def _hang_up(client: AriClient, session_id: str) -> None:
    """Whatever of a session is still there: its phone, its snoop channel, its bridge."""
    await ignore_missing(client.hang_up(session_id))
    await ignore_missing(client.hang_up(f"{session_id}-snoop"))
    await ignore_missing(client.destroy_bridge(f"{session_id}-bridge"))


def _supervision_leg(channel: dict[str, Any]) -> bool:
    app_data = str((channel.get("dialplan") or {}).get("app_data", "")).split(",")
    return len(app_data) > 1 and app_data[1] in SUPERVISION_LEGS


def _name(command: Supervise | EndSupervision | SupervisionStep) -> str:
    return command.action if isinstance(command, SupervisionStep) else type(command).__name__
